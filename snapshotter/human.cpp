#include "snapshotter/human.hpp"

#include <cstdio>
#include <ctime>

namespace layerfs::store {

std::string human_size(uint64_t bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000 && u < 6) {
        v /= 1000;
        u++;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g%s", v, units[u]);
    return buf;
}

std::string human_duration(int64_t s) {
    auto plural = [](int64_t n, const char* unit) {
        return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
    };
    if (s < 1) return "Less than a second";
    if (s == 1) return "1 second";
    if (s < 60) return plural(s, "second");
    int64_t m = s / 60;
    if (m == 1) return "About a minute";
    if (m < 60) return plural(m, "minute");
    int64_t h = s / 3600;
    if (h == 1) return "About an hour";
    if (h < 48) return plural(h, "hour");
    if (h < 24 * 7 * 2) return plural(h / 24, "day");
    if (h < 24 * 30 * 2) return plural(h / 24 / 7, "week");
    if (h < 24 * 365 * 2) return plural(h / 24 / 30, "month");
    return plural(h / 24 / 365, "year");
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
    std::string str(s);
    struct tm tm {};
    const char* rest = ::strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return std::nullopt;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
        }
    int64_t offset = 0;
    if (*rest == '+' || *rest == '-') {
        int hh = 0, mm = 0;
        if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
        offset = (hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1);
        rest += 6;
    } else if (*rest == 'Z' || *rest == 'z') {
        rest++;
    } else {
        return std::nullopt;
    }
    if (*rest) return std::nullopt;
    return static_cast<int64_t>(::timegm(&tm)) - offset;
}

std::string format_rfc3339(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace layerfs::store
