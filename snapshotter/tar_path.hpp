#pragma once
// How a member name of an image tar maps onto a layer directory. Pure functions:
// tars are untrusted, so every name is checked here before anything touches disk.
#include <string>
#include <string_view>

namespace layerfs::store {

// A member name made relative and clean ("./a//b/" -> "a/b", "./" -> "" for the
// layer root), or `error` saying why it is refused: absolute, "..", too long.
struct CleanPath {
    std::string path;
    std::string error;  // empty when accepted
};
CleanPath clean_tar_path(std::string_view raw);

enum class MemberKind {
    Plain,     // an entry of the layer
    Whiteout,  // ".wh.NAME": `path` is the hidden entry
    Opaque,    // ".wh..wh..opq": `path` is the opaque directory
    AufsMeta,  // ".wh..wh.*": aufs bookkeeping, skipped as docker does
};
struct Member {
    MemberKind kind;
    std::string path;
    std::string error;  // a whiteout of "", "." or ".."
};
// `clean` is a clean_tar_path result.
Member classify_member(const std::string& clean);

// "a/b/c" -> {"a/b", "c"}; "c" -> {"", "c"}.
std::pair<std::string_view, std::string_view> split_parent(std::string_view path);

}  // namespace layerfs::store
