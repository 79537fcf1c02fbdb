#pragma once
// Image references ("busybox", "docker.io/library/debian:12", "localhost:5000/x:y")
// and image id prefixes. Pure functions.
#include <optional>
#include <string>
#include <string_view>

namespace layerfs::store {

struct Reference {
    std::string name;  // repository, as given
    std::string tag;   // "latest" when none was given
    std::string str() const { return name + ":" + tag; }
};

// nullopt when `s` is not a valid reference (digest references are not supported).
std::optional<Reference> parse_reference(std::string_view s);

// "sha256:abc" or "abc": the hex prefix of an image id, or nullopt when `s` is
// not hex.
std::optional<std::string> id_prefix(std::string_view s);

}  // namespace layerfs::store
