#include "tests/support/oci_builder.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "snapshotter/digest.hpp"

namespace layerfs::test {
namespace {

using json = nlohmann::json;
using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

[[noreturn]] void archive_fail(archive* a, const std::string& doing) {
    const char* why = archive_error_string(a);
    throw std::runtime_error(doing + ": " + (why ? why : "libarchive error"));
}

la_ssize_t append_cb(archive*, void* out, const void* buf, size_t n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
}

// A libarchive writer that appends everything to OUT.
ArchivePtr writer(std::string& out, bool gzip, bool raw) {
    ArchivePtr a(archive_write_new(), archive_write_free);
    if ((raw ? archive_write_set_format_raw(a.get()) : archive_write_set_format_pax(a.get())) !=
        ARCHIVE_OK)
        archive_fail(a.get(), "setting the format");
    if (gzip && archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK)
        archive_fail(a.get(), "adding gzip");
    // No padding of the last block to 10240 bytes: the tar ends with its end marker.
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open(a.get(), &out, nullptr, append_cb, nullptr) != ARCHIVE_OK)
        archive_fail(a.get(), "opening the writer");
    return a;
}

std::string octal(uint64_t v, size_t width) {
    // WIDTH-1 octal digits and a NUL, as ustar wants.
    std::string s(width - 1, '0');
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        s[i] = char('0' + (v & 7));
    if (v) throw std::logic_error("value does not fit in the octal field");
    return s + '\0';
}

// The size field: octal when it fits, else GNU/star base-256.
std::string size_field(uint64_t size) {
    if (size < (uint64_t{1} << 33)) return octal(size, 12);
    std::string s(12, '\0');
    s[0] = char(0x80);
    for (size_t i = 11; i > 0; --i, size >>= 8)
        s[i] = char(size & 0xff);
    return s;
}

uint64_t parse_size(const std::string& block) {
    auto first = static_cast<unsigned char>(block[124]);
    uint64_t v = 0;
    if (first & 0x80) {
        for (size_t i = 125; i < 136; i++)
            v = (v << 8) | static_cast<unsigned char>(block[i]);
        return v;
    }
    for (size_t i = 124; i < 136 && block[i] >= '0' && block[i] <= '7'; i++)
        v = v * 8 + uint64_t(block[i] - '0');
    return v;
}

unsigned checksum_of(const std::string& block) {
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? unsigned(' ') : static_cast<unsigned char>(block[i]);
    return sum;
}

void put(std::string& block, size_t at, const std::string& field, size_t width) {
    if (field.size() > width) throw std::logic_error("ustar field too long: " + field);
    block.replace(at, field.size(), field);
}

// "sha256:HEX" -> "HEX"
std::string after_colon(const json& digest) {
    std::string d = digest.get<std::string>();
    return d.substr(d.find(':') + 1);
}

// One pax record: "LEN key=value\n", LEN counting itself.
std::string pax_record(const std::string& key, const std::string& value) {
    std::string rest = " " + key + "=" + value + "\n";
    size_t len = rest.size() + 1;
    while (std::to_string(len).size() + rest.size() != len)
        len = std::to_string(len).size() + rest.size();
    return std::to_string(len) + rest;
}

}  // namespace

// ---- TarBuilder ----------------------------------------------------------

TarBuilder& TarBuilder::add(Member m) {
    members_.push_back(std::move(m));
    return *this;
}

TarBuilder::Member& TarBuilder::last() {
    if (members_.empty()) throw std::logic_error("TarBuilder: no member yet");
    return members_.back();
}

TarBuilder& TarBuilder::file(std::string name, std::string content, mode_t mode) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFREG;
    m.mode = mode;
    m.content = std::move(content);
    return add(std::move(m));
}

TarBuilder& TarBuilder::dir(std::string name, mode_t mode) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFDIR;
    m.mode = mode;
    return add(std::move(m));
}

TarBuilder& TarBuilder::symlink(std::string name, std::string target) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFLNK;
    m.mode = 0777;
    m.link = std::move(target);
    return add(std::move(m));
}

TarBuilder& TarBuilder::hardlink(std::string name, std::string target) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFREG;
    m.hardlink = std::move(target);
    return add(std::move(m));
}

TarBuilder& TarBuilder::char_device(std::string name, unsigned major, unsigned minor, mode_t mode) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFCHR;
    m.mode = mode;
    m.major = major;
    m.minor = minor;
    return add(std::move(m));
}

TarBuilder& TarBuilder::block_device(std::string name, unsigned major, unsigned minor,
                                     mode_t mode) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFBLK;
    m.mode = mode;
    m.major = major;
    m.minor = minor;
    return add(std::move(m));
}

TarBuilder& TarBuilder::fifo(std::string name, mode_t mode) {
    Member m;
    m.name = std::move(name);
    m.type = AE_IFIFO;
    m.mode = mode;
    return add(std::move(m));
}

TarBuilder& TarBuilder::xattr(std::string name, std::string value) {
    last().xattrs.emplace_back(std::move(name), std::move(value));
    return *this;
}

TarBuilder& TarBuilder::owner(uid_t uid, gid_t gid) {
    last().uid = uid;
    last().gid = gid;
    return *this;
}

TarBuilder& TarBuilder::mtime(time_t t) {
    last().mtime = t;
    return *this;
}

std::string TarBuilder::bytes() const {
    std::string out;
    ArchivePtr a = writer(out, false, false);
    for (const Member& m : members_) {
        EntryPtr e(archive_entry_new(), archive_entry_free);
        archive_entry_copy_pathname(e.get(), m.name.c_str());
        archive_entry_set_filetype(e.get(), m.type);
        archive_entry_set_perm(e.get(), m.mode);
        archive_entry_set_uid(e.get(), m.uid);
        archive_entry_set_gid(e.get(), m.gid);
        archive_entry_set_mtime(e.get(), m.mtime, 0);
        if (!m.hardlink.empty()) {
            archive_entry_copy_hardlink(e.get(), m.hardlink.c_str());
            archive_entry_set_size(e.get(), 0);
        } else if (m.type == AE_IFREG) {
            archive_entry_set_size(e.get(), static_cast<la_int64_t>(m.content.size()));
        } else {
            archive_entry_set_size(e.get(), 0);
        }
        if (m.type == AE_IFLNK) archive_entry_copy_symlink(e.get(), m.link.c_str());
        if (m.type == AE_IFCHR || m.type == AE_IFBLK) {
            archive_entry_set_rdevmajor(e.get(), m.major);
            archive_entry_set_rdevminor(e.get(), m.minor);
        }
        for (const auto& [k, v] : m.xattrs)
            archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
        if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN)
            archive_fail(a.get(), "writing the header of " + m.name);
        if (m.type == AE_IFREG && m.hardlink.empty() && !m.content.empty() &&
            archive_write_data(a.get(), m.content.data(), m.content.size()) !=
                la_ssize_t(m.content.size()))
            archive_fail(a.get(), "writing the data of " + m.name);
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) archive_fail(a.get(), "closing the tar");
    return out;
}

void TarBuilder::write(const std::string& path, bool gz) const {
    std::string tar = bytes();
    write_bytes(path, gz ? gzip(tar) : tar);
}

// ---- raw tar bytes -------------------------------------------------------

namespace rawtar {

std::string header(const std::string& name, char typeflag, uint64_t size, mode_t mode,
                   const std::string& linkname) {
    std::string b(512, '\0');
    put(b, 0, name, 100);
    put(b, 100, octal(mode & 07777, 8), 8);
    put(b, 108, octal(0, 8), 8);
    put(b, 116, octal(0, 8), 8);
    put(b, 124, size_field(size), 12);
    put(b, 136, octal(1700000000, 12), 12);
    b[156] = typeflag;
    put(b, 157, linkname, 100);
    put(b, 257, std::string("ustar\0", 6), 6);
    put(b, 263, "00", 2);
    put(b, 265, "root", 32);
    put(b, 297, "root", 32);
    put(b, 329, octal(0, 8), 8);
    put(b, 337, octal(0, 8), 8);
    put(b, 148, octal(checksum_of(b), 7) + " ", 8);
    return b;
}

std::string padded(const std::string& content) {
    std::string out = content;
    out.resize((content.size() + 511) / 512 * 512, '\0');
    return out;
}

std::string end_marker() {
    return std::string(1024, '\0');
}

std::vector<size_t> header_offsets(const std::string& tar) {
    std::vector<size_t> out;
    size_t off = 0;
    while (off + 512 <= tar.size()) {
        std::string block = tar.substr(off, 512);
        if (block == std::string(512, '\0')) break;
        out.push_back(off);
        uint64_t size = parse_size(block);
        off += 512 + (size + 511) / 512 * 512;
    }
    return out;
}

std::string truncated_in_header(const std::string& tar, size_t nth) {
    auto offs = header_offsets(tar);
    if (nth >= offs.size()) throw std::logic_error("truncated_in_header: no such header");
    return tar.substr(0, offs[nth] + 100);
}

std::string corrupt_checksum(const std::string& tar, size_t nth) {
    auto offs = header_offsets(tar);
    if (nth >= offs.size()) throw std::logic_error("corrupt_checksum: no such header");
    std::string out = tar;
    std::string block = out.substr(offs[nth], 512);
    out.replace(offs[nth] + 148, 8, octal(checksum_of(block) + 1, 7) + " ");
    return out;
}

std::string huge_pax_header(uint64_t size) {
    std::string body = pax_record("path", "f");
    return header("PaxHeaders/f", 'x', size) + padded(body) + header("f", '0', 5) +
           padded("hello") + end_marker();
}

std::string pax_size_claim(uint64_t size) {
    std::string body = pax_record("size", std::to_string(size));
    return header("PaxHeaders/big", 'x', body.size()) + padded(body) + header("big", '0', 5) +
           padded("hello") + end_marker();
}

}  // namespace rawtar

std::string gzip(const std::string& bytes) {
    std::string out;
    ArchivePtr a = writer(out, true, true);
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(e.get(), "data");
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size()));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) archive_fail(a.get(), "gzip");
    if (!bytes.empty() &&
        archive_write_data(a.get(), bytes.data(), bytes.size()) != la_ssize_t(bytes.size()))
        archive_fail(a.get(), "gzip");
    if (archive_write_close(a.get()) != ARCHIVE_OK) archive_fail(a.get(), "gzip");
    return out;
}

std::string sha256_of(const std::string& bytes) {
    return store::sha256_hex(bytes);
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("writing " + path);
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("reading " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---- OciLayoutBuilder ----------------------------------------------------

OciLayoutBuilder& OciLayoutBuilder::layer(const std::string& tar, bool gz) {
    layers_.push_back({gz ? gzip(tar) : tar, sha256_of(tar), gz});
    return *this;
}

OciLayoutBuilder& OciLayoutBuilder::layer_file(const std::string& tar_path, bool gz) {
    return layer(read_bytes(tar_path), gz);
}

OciLayoutBuilder::Written OciLayoutBuilder::write(const std::string& dir) const {
    if (wrong_digest == Part::Index || wrong_size == Part::Index || missing_blob == Part::Index ||
        (raw_digest && raw_digest->first == Part::Index))
        throw std::logic_error("index.json has no descriptor of its own");
    if ((wrong_digest == Part::Layer || wrong_size == Part::Layer || missing_blob == Part::Layer ||
         malformed_json == Part::Layer || wrong_diff_id) &&
        damaged_layer >= layers_.size())
        throw std::logic_error("no layer to damage");
    if (malformed_json == Part::Layer) throw std::logic_error("a layer is not JSON");

    Written w;
    // name in blobs/sha256 -> content; a missing blob is simply left out.
    std::vector<std::pair<std::string, std::string>> blobs;

    // The descriptor of CONTENT, damaged as asked, its blob queued.
    auto describe = [&](Part part, const std::string& media_type, const std::string& content,
                        bool damaged_one) {
        std::string hex = sha256_of(content);
        uint64_t size = content.size();
        std::string name = hex;
        if (damaged_one && wrong_digest == part) {
            hex = sha256_of(content + "\nnot this content\n");
            name = hex;
        }
        if (damaged_one && wrong_size == part) size += static_cast<uint64_t>(size_delta);
        std::string digest = "sha256:" + hex;
        if (damaged_one && raw_digest && raw_digest->first == part) digest = raw_digest->second;
        if (!(damaged_one && missing_blob == part)) blobs.emplace_back(name, content);
        return json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
    };

    json diff_ids = json::array();
    json history = json::array();
    for (size_t i = 0; i < layers_.size(); i++) {
        std::string d = layers_[i].diff_id;
        if (wrong_diff_id && i == damaged_layer)
            d = claimed_diff_id.empty() ? sha256_of("not the layer's tar") : claimed_diff_id;
        diff_ids.push_back("sha256:" + d);
        w.diff_ids.push_back(d);
        history.push_back(
            {{"created", "2024-01-01T00:00:00Z"}, {"created_by", "layer " + std::to_string(i)}});
    }
    json config = {{"created", "2024-01-01T00:00:00Z"},
                   {"architecture", architecture},
                   {"os", os},
                   {"config", {{"Cmd", {"/bin/sh"}}}},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                   {"history", history}};
    if (null_fields)
        for (const char* k : {"created", "author", "config"})
            config[k] = nullptr;
    std::string config_text = malformed_json == Part::Config
                                  ? R"({"architecture": "amd64", "rootfs": {"diff_ids": [)"
                                  : config.dump();

    json layer_descs = json::array();
    for (size_t i = 0; i < layers_.size(); i++) {
        const Layer& l = layers_[i];
        json d = describe(Part::Layer,
                          l.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                 : "application/vnd.oci.image.layer.v1.tar",
                          l.blob, i == damaged_layer);
        w.layer_hexes.push_back(after_colon(d["digest"]));
        layer_descs.push_back(std::move(d));
    }
    json config_desc =
        describe(Part::Config, "application/vnd.oci.image.config.v1+json", config_text, true);
    w.config_hex = after_colon(config_desc["digest"]);
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", config_desc},
                     {"layers", layer_descs}};
    std::string manifest_text = malformed_json == Part::Manifest
                                    ? R"({"schemaVersion": 2, "config": {"mediaType": )"
                                    : manifest.dump();
    json manifest_desc =
        describe(Part::Manifest, "application/vnd.oci.image.manifest.v1+json", manifest_text, true);
    w.manifest_hex = after_colon(manifest_desc["digest"]);
    manifest_desc["annotations"] = {{"org.opencontainers.image.ref.name", ref_name}};
    json index = {{"schemaVersion", 2},
                  {"mediaType", "application/vnd.oci.image.index.v1+json"},
                  {"manifests", {manifest_desc}}};
    std::string index_text = malformed_json == Part::Index
                                 ? R"({"schemaVersion": 2, "manifests": [{"digest": )"
                                 : index.dump(2);

    std::filesystem::create_directories(dir + "/blobs/sha256");
    write_bytes(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    write_bytes(dir + "/index.json", index_text);
    for (const auto& [name, content] : blobs)
        write_bytes(dir + "/blobs/sha256/" + name, content);
    return w;
}

std::string tar_of_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<fs::path> paths;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    TarBuilder t;
    for (const auto& p : paths) {
        std::string rel = p.lexically_relative(dir).string();
        auto st = fs::symlink_status(p);
        if (fs::is_directory(st))
            t.dir(rel);
        else if (fs::is_symlink(st))
            t.symlink(rel, fs::read_symlink(p).string());
        else if (fs::is_regular_file(st))
            t.file(rel, read_bytes(p.string()));
        else
            throw std::logic_error("tar_of_dir: unsupported file " + p.string());
    }
    return t.bytes();
}

}  // namespace layerfs::test
