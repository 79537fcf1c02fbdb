#include "cli/runtime/subids.hpp"

#include <charconv>

namespace layerfs::runtime {

namespace {

std::optional<uint32_t> number(std::string_view s) {
    uint32_t v;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<IdRange> find_subid_range(std::string_view text, std::string_view user, uint32_t id) {
    const std::string id_text = std::to_string(id);
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        size_t a = line.find(':');
        size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
        if (b == std::string_view::npos || line.empty() || line[0] == '#') continue;
        std::string_view who = line.substr(0, a);
        if (who != user && who != id_text) continue;
        auto start = number(line.substr(a + 1, b - a - 1));
        auto count = number(line.substr(b + 1));
        if (start && count && *count > 0) return IdRange{*start, *count};
    }
    return std::nullopt;
}

std::vector<std::string> idmap_args(uint32_t outer, const std::optional<IdRange>& range) {
    std::vector<std::string> args = {"0", std::to_string(outer), "1"};
    if (range) {
        args.push_back("1");
        args.push_back(std::to_string(range->start));
        args.push_back(std::to_string(range->count));
    }
    return args;
}

}  // namespace layerfs::runtime
