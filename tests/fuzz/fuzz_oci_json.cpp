// OCI and Docker JSON documents from untrusted images: every input goes through
// the index, manifest and config parsers (snapshotter/oci.hpp) and, as a parent
// image's config, through `layerfs commit`'s derive_config
// (snapshotter/image_config.hpp). One target for all of them: each parser
// refuses the others' documents early, and a mutation of one kind of document
// is often worth trying as another.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "snapshotter/failure.hpp"
#include "snapshotter/image_config.hpp"
#include "snapshotter/oci.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace store = layerfs::store;
using layerfs::fuzz::shown;

bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

void check_descriptor(const store::Descriptor& d) {
    FUZZ_CHECK(is_hex64(d.hex), shown(d.hex));
}

template <class F>
auto refused_or(F&& f) -> std::optional<decltype(f())> {
    try {
        return f();
    } catch (const store::Failure& e) {
        // A refusal names the document and says why.
        std::string_view msg = e.what();
        FUZZ_CHECK(msg.starts_with("fuzz input: ") || msg.starts_with("the parent image's") ||
                       msg.starts_with("-c '"),
                   std::string(msg));
        return std::nullopt;
    }
}

const std::string kWhat = "fuzz input";
const std::string kDiffId(64, 'c');

// Every instruction kind, so each touches whatever the parent has in its place.
store::CommitSpec commit_spec() {
    store::CommitSpec s;
    s.diff_id = kDiffId;
    s.created = "2025-01-02T03:04:05Z";
    s.author = "fuzz";
    s.message = "fuzzed";
    s.created_by = "layerfs commit";
    s.changes = {"ENV PATH=/fuzz",      "ENV A b",           "LABEL k=v", "EXPOSE 80/tcp 53/udp",
                 "VOLUME /data",        "WORKDIR sub",       "USER 1000", "STOPSIGNAL SIGTERM",
                 "ENTRYPOINT [\"/e\"]", "CMD [\"a\", \"b\"]"};
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto index = refused_or([&] { return store::parse_index(text, kWhat); }))
        for (const auto& m : index->manifests)
            check_descriptor(m);

    if (auto manifest = refused_or([&] { return store::parse_manifest(text, kWhat); })) {
        check_descriptor(manifest->config);
        for (const auto& l : manifest->layers) {
            check_descriptor(l);
            FUZZ_CHECK(store::is_layer_type(l.media_type), l.media_type);
        }
    }

    auto config = refused_or([&] { return store::parse_config(text, kWhat); });
    if (config)
        for (const auto& d : config->diff_ids)
            FUZZ_CHECK(is_hex64(d), shown(d));

    // A parent is a stored image's config, which passed parse_config: the
    // child passes it too, with one more layer and one more history entry and
    // the rest as it was.
    static const store::CommitSpec spec = commit_spec();
    if (!config) return 0;
    auto child = refused_or([&] { return store::derive_config(text, spec); });
    FUZZ_CHECK(child, "derive_config refused a config that parse_config took");
    auto parsed = refused_or([&] { return store::parse_config(*child, kWhat); });
    FUZZ_CHECK(parsed, "the derived config does not parse: " + *child);
    FUZZ_CHECK(parsed->diff_ids.size() == config->diff_ids.size() + 1, *child);
    FUZZ_CHECK(parsed->diff_ids.back() == kDiffId, *child);
    FUZZ_CHECK(parsed->history.size() == config->history.size() + 1, *child);
    FUZZ_CHECK(parsed->history.back().comment == spec.message, *child);
    FUZZ_CHECK(parsed->created == spec.created && parsed->author == spec.author, *child);
    FUZZ_CHECK(parsed->architecture == config->architecture && parsed->os == config->os, *child);
    return 0;
}
