#include "cli/runtime/channel.hpp"

#include <sys/socket.h>

#include <cstring>

namespace layerfs::runtime {

Result<std::pair<Fd, Fd>> channel_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return errno_error("socketpair");
    return std::pair<Fd, Fd>{Fd(sv[0]), Fd(sv[1])};
}

Status send_message(int sock, char kind, std::string_view text, int fd) {
    std::string body(1, kind);
    body += text;
    iovec iov{body.data(), body.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    while (::sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) return errno_error("sendmsg");
    return {};
}

Result<Message> receive_message(int sock) {
    char buf[4096];
    iovec iov{buf, sizeof buf};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n;
    while ((n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0)
        if (errno != EINTR) return errno_error("recvmsg");
    Message out;
    if (n == 0) return out;
    out.kind = buf[0];
    out.text.assign(buf + 1, size_t(n) - 1);
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
            out.fd.reset(fd);
        }
    return out;
}

}  // namespace layerfs::runtime
