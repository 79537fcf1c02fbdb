#pragma once
// The container log (containers/<id>/container.log): what the command wrote,
// as records "<RFC 3339 time> <stdout|stderr> <length>\n<bytes>\n". Byte-exact
// (a binary or non-UTF-8 output comes back as it was written, which docker's
// JSON lines cannot promise) and appendable by one writer. Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::runtime {

enum class Stream { out, err };

struct LogRecord {
    std::string time;
    Stream stream = Stream::out;
    std::string bytes;
};

std::string encode_log_record(Stream s, std::string_view bytes, int64_t sec, long nsec);

// Decodes whole records from the front of `buf`; `used` is how many bytes they
// took (a record still being written stays for the next call). A malformed
// record ends the decoding with `bad` set.
std::vector<LogRecord> decode_log(std::string_view buf, size_t& used, bool& bad);

}  // namespace layerfs::runtime
