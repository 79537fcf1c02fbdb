#pragma once
// Sizes and ages the way docker prints them. Pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace layerfs::store {

// Decimal units, 3 significant digits: "4.26MB", "123kB", "512B".
std::string human_size(uint64_t bytes);
// "Less than a second", "5 minutes", "About an hour", "3 days", "2 years".
std::string human_duration(int64_t seconds);
// Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05.123Z",
// "+01:00" offsets); nullopt when malformed.
std::optional<int64_t> parse_rfc3339(std::string_view s);
std::string format_rfc3339(int64_t epoch_seconds);

}  // namespace layerfs::store
