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
    int64_t h = (s + 1800) / 3600;  // rounded, as docker does
    if (h == 1) return "About an hour";
    if (h < 48) return plural(h, "hour");
    if (h < 24 * 7 * 2) return plural(h / 24, "day");
    if (h < 24 * 30 * 2) return plural(h / 24 / 7, "week");
    if (h < 24 * 365 * 2) return plural(h / 24 / 30, "month");
    return plural(h / 24 / 365, "year");
}

namespace {

// Digits at s[pos, pos+n), or -1.
int digits(std::string_view s, size_t pos, size_t n) {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (size_t i = pos; i < pos + n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int days_in_month(int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), every field zero-padded.
    int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
    int hour = digits(s, 11, 2), min = digits(s, 14, 2), sec = digits(s, 17, 2);
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || year < 0 || month < 1 || month > 12 || day < 1 ||
        hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 ||
        day > days_in_month(year, month))
        return std::nullopt;
    size_t pos = 19;
    if (s[pos] == '.') {
        size_t start = ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
            pos++;
        if (pos == start) return std::nullopt;
    }
    int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        pos++;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59 || pos + 3 >= s.size() || s[pos + 3] != ':')
            return std::nullopt;
        offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    struct tm tm {};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
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
