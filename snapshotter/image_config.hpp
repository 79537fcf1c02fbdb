#pragma once
// A committed image's config: the parent's, plus the new layer's diff_id, a
// history entry and the `-c` changes (Dockerfile instructions, as `docker
// commit --change` takes them). Pure: unit-tested on JSON text.
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::store {

struct CommitSpec {
    std::string diff_id;  // hex
    std::string created;  // RFC 3339
    std::string author, message, created_by;
    std::vector<std::string> changes;  // "CMD ...", "ENV k=v", ...
};

// Throws Failure naming the instruction when one is unknown or malformed.
void check_changes(const std::vector<std::string>& changes);

// The child's config JSON. Fields this code does not know are kept as they were.
std::string derive_config(std::string_view parent_json, const CommitSpec& spec);

// Shell-like words: whitespace separates, "..." (with \ escapes) and '...' quote,
// \ escapes outside quotes. Throws Failure on an unterminated quote.
std::vector<std::string> split_words(std::string_view s);

}  // namespace layerfs::store
