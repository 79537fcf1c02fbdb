#include "snapshotter/tar_write.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <algorithm>
#include <vector>

#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::store {
namespace {

la_ssize_t write_cb(archive* a, void* self, const void* buf, size_t n) {
    if (!sys::write_all(*static_cast<int*>(self), buf, n)) {
        archive_set_error(a, errno, "writing the tar");
        return -1;
    }
    return static_cast<la_ssize_t>(n);
}

}  // namespace

void EntryFree::operator()(archive_entry* e) const {
    archive_entry_free(e);
}

EntryPtr make_entry(const std::string& path, mode_t mode, int64_t mtime, int64_t size) {
    EntryPtr owned(archive_entry_new());
    archive_entry* e = owned.get();
    archive_entry_copy_pathname(e, path.c_str());
    archive_entry_set_mode(e, mode);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_size(e, size);
    return owned;
}

TarWriter::TarWriter(int fd) : a_(archive_write_new()), disk_(archive_read_disk_new()), fd_(fd) {
    links_ = archive_entry_linkresolver_new();
    // Full pax rather than "restricted": the latter drops sub-second mtimes
    // unless an entry needs a pax header anyway. Entries carry no atime, ctime
    // or device/inode numbers, so a pax header appears only where it says
    // something (long names, sub-second times, xattrs, non-UTF-8 names).
    archive_write_set_format_pax(a_);
    // OCI layers carry xattrs as SCHILY.xattr.* only (libarchive adds its own
    // LIBARCHIVE.xattr.* copies otherwise).
    if (archive_write_set_options(a_, "xattrheader=SCHILY") != ARCHIVE_OK)
        fail(std::string("tar: ") + archive_error_string(a_));
    archive_entry_linkresolver_set_strategy(links_, archive_format(a_));
    // No padding of the last block to 10240 bytes: the tar ends after its end marker.
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_read_disk_set_standard_lookup(disk_);
    if (archive_write_open(a_, &fd_, nullptr, write_cb, nullptr) != ARCHIVE_OK)
        fail(std::string("tar: ") + archive_error_string(a_));
}

TarWriter::~TarWriter() {
    archive_entry_linkresolver_free(links_);
    archive_read_free(disk_);
    archive_write_free(a_);
}

void TarWriter::header(archive_entry* e) {
    // ARCHIVE_WARN: a name that is not UTF-8, kept as bytes (hdrcharset=BINARY).
    if (archive_write_header(a_, e) < ARCHIVE_WARN)
        fail(std::string("tar: ") + archive_error_string(a_));
}

void TarWriter::add(archive_entry* e, int data_fd) {
    header(e);
    if (data_fd < 0 || archive_entry_size(e) <= 0) return;
    std::vector<char> buf(1 << 20);
    auto left = static_cast<uint64_t>(archive_entry_size(e));
    while (left) {
        size_t n = must(sys::read_some(data_fd, buf.data(), std::min<uint64_t>(left, buf.size())),
                        std::string("reading ") + archive_entry_pathname(e));
        if (n == 0)
            fail(std::string(archive_entry_pathname(e)) + " shrank while it was being read");
        if (archive_write_data(a_, buf.data(), n) < 0)
            fail(std::string("tar: ") + archive_error_string(a_));
        left -= n;
    }
}

void TarWriter::add_bytes(archive_entry* e, std::string_view data) {
    header(e);
    if (!data.empty() && archive_write_data(a_, data.data(), data.size()) < 0)
        fail(std::string("tar: ") + archive_error_string(a_));
}

void TarWriter::add_streamed(archive_entry* e, const std::function<void(const Sink&)>& produce) {
    header(e);
    produce([&](const char* p, size_t n) {
        if (archive_write_data(a_, p, n) < 0) fail(std::string("tar: ") + archive_error_string(a_));
    });
}

void TarWriter::add_tree(const std::string& dir) {
    add_tree_at(dir, "");
}

void TarWriter::add_tree_at(const std::string& abs, const std::string& rel) {
    Fd d = must(sys::open_at(AT_FDCWD, abs.c_str(), O_RDONLY | O_DIRECTORY), "reading " + abs);
    auto entries = must(sys::read_dir(d.get()), "reading " + abs);
    std::sort(entries.begin(), entries.end(), [](auto& x, auto& y) { return x.name < y.name; });
    for (const auto& de : entries) {
        std::string path = abs + "/" + de.name;
        std::string name = rel.empty() ? de.name : rel + "/" + de.name;
        struct stat st = must(sys::stat_at(d.get(), de.name.c_str()), "reading " + path);
        EntryPtr e(archive_entry_new());
        archive_entry_copy_sourcepath(e.get(), path.c_str());
        archive_entry_copy_pathname(e.get(), path.c_str());
        if (archive_read_disk_entry_from_file(disk_, e.get(), -1, &st) != ARCHIVE_OK)
            fail("reading " + path + ": " + archive_error_string(disk_));
        // Access, change and birth times differ between copies of the same tree.
        archive_entry_unset_atime(e.get());
        archive_entry_unset_ctime(e.get());
        archive_entry_unset_birthtime(e.get());
        archive_entry_copy_pathname(e.get(),
                                    S_ISDIR(st.st_mode) ? (name + "/").c_str() : name.c_str());
        archive_entry* spare = nullptr;
        archive_entry* cur = e.release();
        archive_entry_linkify(links_, &cur, &spare);
        EntryPtr owned(cur);
        if (spare) archive_entry_free(spare);
        if (archive_entry_hardlink(owned.get())) {
            add(owned.get());
        } else if (S_ISREG(st.st_mode)) {
            Fd f = must(sys::open_at(d.get(), de.name.c_str(), O_RDONLY | O_NOFOLLOW),
                        "reading " + path);
            add(owned.get(), f.get());
        } else {
            add(owned.get());
        }
        if (S_ISDIR(st.st_mode)) add_tree_at(path, name);
    }
}

void TarWriter::finish() {
    if (archive_write_close(a_) != ARCHIVE_OK)
        fail(std::string("tar: ") + archive_error_string(a_));
}

}  // namespace layerfs::store
