#pragma once
// Test inputs for the importer, hostile ones included: tars whose members carry
// any raw name, link target or type; raw tar bytes that no well-behaved writer
// makes; and OCI image layouts with knobs that damage one part of them.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace layerfs::test {

// A tar written by libarchive in pax format. Names and link targets are written
// exactly as given: "../x", "/etc/x" and "a/../../b" all reach the archive.
class TarBuilder {
  public:
    TarBuilder& file(std::string name, std::string content, mode_t mode = 0644);
    TarBuilder& dir(std::string name, mode_t mode = 0755);
    TarBuilder& symlink(std::string name, std::string target);
    TarBuilder& hardlink(std::string name, std::string target);
    TarBuilder& char_device(std::string name, unsigned major, unsigned minor, mode_t mode = 0644);
    TarBuilder& block_device(std::string name, unsigned major, unsigned minor, mode_t mode = 0644);
    TarBuilder& fifo(std::string name, mode_t mode = 0644);
    // These change the member added last.
    TarBuilder& xattr(std::string name, std::string value);
    TarBuilder& owner(uid_t uid, gid_t gid);
    TarBuilder& mtime(time_t t);

    // The uncompressed tar, end-of-archive marker included.
    std::string bytes() const;
    // Writes the tar to PATH, gzip-compressed when asked.
    void write(const std::string& path, bool gzip = false) const;

  private:
    struct Member {
        std::string name;
        mode_t type = 0;  // AE_IFREG, AE_IFDIR, ...
        mode_t mode = 0644;
        std::string content;   // regular files
        std::string link;      // symlink target
        std::string hardlink;  // hard link target; empty when not a hard link
        unsigned major = 0, minor = 0;
        uid_t uid = 0;
        gid_t gid = 0;
        time_t mtime = 1700000000;
        std::vector<std::pair<std::string, std::string>> xattrs;
    };
    TarBuilder& add(Member m);
    Member& last();
    std::vector<Member> members_;
};

// Raw tar bytes, for malformed archives no library would write.
namespace rawtar {

// One 512-byte ustar header with a correct checksum (unless corrupted later).
std::string header(const std::string& name, char typeflag, uint64_t size, mode_t mode = 0644,
                   const std::string& linkname = "");
// CONTENT padded with NULs to a whole number of 512-byte blocks.
std::string padded(const std::string& content);
// The two zero blocks that end an archive.
std::string end_marker();
// Where each header block of an uncompressed tar starts (pax extended headers
// count as headers), up to the end-of-archive marker.
std::vector<size_t> header_offsets(const std::string& tar);
// TAR cut off in the middle of its Nth header block (byte 100 of it).
std::string truncated_in_header(const std::string& tar, size_t nth);
// TAR with a wrong checksum in its Nth header block.
std::string corrupt_checksum(const std::string& tar, size_t nth);
// A pax extended header whose own size field claims SIZE bytes, followed by a
// small regular file and the end marker; the claimed body is not there.
std::string huge_pax_header(uint64_t size);
// A regular file "big" whose pax "size" record claims SIZE bytes, followed by a
// few bytes of data and the end marker.
std::string pax_size_claim(uint64_t size);

}  // namespace rawtar

// BYTES compressed with gzip (libarchive's gzip filter).
std::string gzip(const std::string& bytes);
std::string sha256_of(const std::string& bytes);  // 64 lowercase hex
void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

// An OCI image layout of one image: DIR/oci-layout, DIR/index.json naming one
// manifest (with an org.opencontainers.image.ref.name annotation), the manifest,
// the config (rootfs.diff_ids, architecture, os) and the layers in
// DIR/blobs/sha256. Knobs damage exactly one thing each.
class OciLayoutBuilder {
  public:
    enum class Part { Index, Manifest, Config, Layer };

    // A layer from an uncompressed tar: stored gzip-compressed when asked; its
    // diff_id is the sha256 of TAR either way.
    OciLayoutBuilder& layer(const std::string& tar, bool gzip = false);
    OciLayoutBuilder& layer_file(const std::string& tar_path, bool gzip = false);

    std::string ref_name = "v1";
    std::string architecture = "amd64";
    std::string os = "linux";
    // "created", "author" and "config" are null, which parsers must take as absent.
    bool null_fields = false;

    // Knobs. A Layer knob means the layer numbered damaged_layer (from 0).
    size_t damaged_layer = 0;
    // The descriptor of this part names a digest its content does not have; the
    // content is stored under that named digest, so the blob is there.
    std::optional<Part> wrong_digest;
    // The descriptor of this part says a size size_delta bytes off the blob's.
    std::optional<Part> wrong_size;
    int64_t size_delta = 1;
    // The descriptor of this part names this digest string verbatim (e.g.
    // "sha256:../../etc/passwd"); the blob is stored under its real digest.
    std::optional<std::pair<Part, std::string>> raw_digest;
    // The descriptor of this part is right, but its blob is not in blobs/sha256.
    std::optional<Part> missing_blob;
    // This part is not valid JSON (Index, Manifest or Config); descriptors of it
    // match the malformed bytes.
    std::optional<Part> malformed_json;
    // The config's diff_id for damaged_layer is the sha256 of something else:
    // claimed_diff_id (hex) when set, else of a made-up string.
    bool wrong_diff_id = false;
    std::string claimed_diff_id;

    struct Written {
        std::string manifest_hex, config_hex;
        std::vector<std::string> layer_hexes, diff_ids;  // hex, no "sha256:"
    };
    // Writes the layout into DIR (created when missing).
    Written write(const std::string& dir) const;

  private:
    struct Layer {
        std::string blob;
        std::string diff_id;  // hex
        bool gzip;
    };
    std::vector<Layer> layers_;
};

// DIR as a tar (an oci-archive when DIR is a layout), members named relative to DIR.
std::string tar_of_dir(const std::string& dir);

}  // namespace layerfs::test
