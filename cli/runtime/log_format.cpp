#include "cli/runtime/log_format.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace layerfs::runtime {

namespace {
constexpr size_t kMaxRecord = 1 << 20;
}  // namespace

std::string encode_log_record(Stream s, std::string_view bytes, int64_t sec, long nsec) {
    time_t t = sec;
    tm u;
    ::gmtime_r(&t, &u);
    char head[96];
    int n = std::snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %zu\n",
                          u.tm_year + 1900, u.tm_mon + 1, u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec,
                          nsec, s == Stream::out ? "stdout" : "stderr", bytes.size());
    std::string out(head, n);
    out += bytes;
    out += '\n';
    return out;
}

std::vector<LogRecord> decode_log(std::string_view buf, size_t& used, bool& bad) {
    std::vector<LogRecord> out;
    used = 0;
    bad = false;
    while (used < buf.size()) {
        std::string_view rest = buf.substr(used);
        size_t nl = rest.find('\n');
        if (nl == std::string_view::npos) {
            bad = rest.size() > 128;  // no header is that long
            break;
        }
        std::string_view head = rest.substr(0, nl);
        size_t sp1 = head.find(' ');
        size_t sp2 = sp1 == std::string_view::npos ? sp1 : head.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos) {
            bad = true;
            break;
        }
        LogRecord r;
        r.time = head.substr(0, sp1);
        std::string_view stream = head.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string_view len = head.substr(sp2 + 1);
        size_t n = 0;
        auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
        if ((stream != "stdout" && stream != "stderr") || ec != std::errc() ||
            p != len.data() + len.size()) {
            bad = true;
            break;
        }
        // The relay writes records of at most 64 KiB: a bigger length is damage.
        if (n > kMaxRecord) {
            bad = true;
            break;
        }
        r.stream = stream == "stdout" ? Stream::out : Stream::err;
        if (rest.size() - nl - 1 < n + 1) break;  // not all written yet
        if (rest[nl + 1 + n] != '\n') {
            bad = true;
            break;
        }
        r.bytes = rest.substr(nl + 1, n);
        out.push_back(std::move(r));
        used += nl + 1 + n + 1;
    }
    return out;
}

}  // namespace layerfs::runtime
