#pragma once
// What a fuzz target asserts beyond "no crash": a failed check aborts, so
// libFuzzer keeps the input as a crash file like any sanitizer report.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace layerfs::fuzz {

[[noreturn]] inline void check_failed(const char* cond, const char* file, int line,
                                      const std::string& detail) {
    std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, cond);
    if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
    std::abort();
}

// A string shown with its bytes escaped, for check messages.
inline std::string shown(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += char(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out + "\"";
}

}  // namespace layerfs::fuzz

// CHECK(cond) or CHECK(cond, detail-string).
#define FUZZ_CHECK(cond, ...)                                                                   \
    do {                                                                                        \
        if (!(cond))                                                                            \
            ::layerfs::fuzz::check_failed(#cond, __FILE__, __LINE__, std::string(__VA_ARGS__)); \
    } while (0)
