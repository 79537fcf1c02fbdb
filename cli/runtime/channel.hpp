#pragma once
// Messages between the monitor and the processes it starts, on a
// SOCK_SEQPACKET socketpair: a kind byte, text, and at most one fd.
#include <string>
#include <string_view>

#include "fs/sys/fd.hpp"
#include "fs/sys/result.hpp"

namespace layerfs::runtime {

// The kinds, in the order a start sends them.
namespace msg {
constexpr char kUserns = 'U';   // sandbox -> monitor: map my ids (text: "pid")
constexpr char kMapped = 'M';   // monitor -> sandbox: done (text: "self" = map yourself)
constexpr char kInitPid = 'P';  // sandbox -> monitor: init's pid on the host
constexpr char kPty = 'T';      // init -> monitor: the pty's master (fd)
constexpr char kRunning = 'R';  // init -> monitor: the command was exec'd
constexpr char kError = 'E';    // anyone -> monitor: could not start (text: "code message")
}  // namespace msg

struct Message {
    char kind = 0;  // 0: the other end closed
    std::string text;
    Fd fd;
};

Result<std::pair<Fd, Fd>> channel_pair();
Status send_message(int sock, char kind, std::string_view text = {}, int fd = -1);
Result<Message> receive_message(int sock);

}  // namespace layerfs::runtime
