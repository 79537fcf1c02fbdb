#include "snapshotter/reference.hpp"

#include "snapshotter/digest.hpp"

namespace layerfs::store {
namespace {

bool lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A path component: lowercase alphanumerics joined by '.', '_', "__" or '-'s.
bool valid_component(std::string_view c) {
    if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
    for (size_t i = 0; i < c.size(); i++) {
        if (lower_alnum(c[i])) continue;
        if (c[i] == '.' && lower_alnum(c[i - 1])) continue;
        if (c[i] == '_' && (lower_alnum(c[i - 1]) || c[i - 1] == '_')) continue;
        if (c[i] == '-' && (lower_alnum(c[i - 1]) || c[i - 1] == '-')) continue;
        return false;
    }
    return c.find("___") == std::string_view::npos;
}

// The registry host may have capitals and a port.
bool valid_host(std::string_view h) {
    if (h.empty()) return false;
    for (char c : h)
        if (!(lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':'))
            return false;
    return true;
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
    for (char c : t)
        if (!(lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-'))
            return false;
    return true;
}

}  // namespace

std::optional<Reference> parse_reference(std::string_view s) {
    if (s.empty() || s.size() > 255 || s.find('@') != std::string_view::npos) return std::nullopt;
    Reference ref;
    size_t slash = s.rfind('/');
    size_t colon = s.rfind(':');
    std::string_view name = s;
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        ref.tag = std::string(s.substr(colon + 1));
        if (!valid_tag(ref.tag)) return std::nullopt;
        name = s.substr(0, colon);
    } else {
        ref.tag = "latest";
    }
    std::string_view rest = name;
    size_t first = name.find('/');
    if (first != std::string_view::npos) {
        std::string_view host = name.substr(0, first);
        // The first component is a registry when it looks like a host.
        if (host.find_first_of(".:") != std::string_view::npos || host == "localhost") {
            if (!valid_host(host)) return std::nullopt;
            rest = name.substr(first + 1);
        }
    }
    while (true) {
        size_t p = rest.find('/');
        if (!valid_component(rest.substr(0, p))) return std::nullopt;
        if (p == std::string_view::npos) break;
        rest = rest.substr(p + 1);
    }
    ref.name = std::string(name);
    return ref;
}

std::optional<std::string> id_prefix(std::string_view s) {
    if (s.starts_with(kSha256Prefix)) s.remove_prefix(kSha256Prefix.size());
    if (s.empty() || s.size() > 64) return std::nullopt;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    return std::string(s);
}

}  // namespace layerfs::store
