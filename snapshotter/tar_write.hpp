#pragma once
// Writes an uncompressed POSIX (pax) tar to an fd through libarchive: PAX headers
// only where ustar cannot hold a field (sub-second mtimes included), xattrs as SCHILY.xattr.*, as
// OCI layers are written.
#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>

struct archive;
struct archive_entry;
struct archive_entry_linkresolver;

namespace layerfs::store {

class TarWriter {
  public:
    explicit TarWriter(int fd);
    ~TarWriter();
    TarWriter(const TarWriter&) = delete;
    TarWriter& operator=(const TarWriter&) = delete;

    // Writes the header, then `size` bytes of data from `data_fd` (when >= 0).
    void add(archive_entry* e, int data_fd = -1);
    void add_bytes(archive_entry* e, std::string_view data);
    // Writes the header, then whatever `produce` passes to the writer it is given
    // (archive_entry_size(e) bytes in all).
    using Sink = std::function<void(const char*, size_t)>;
    void add_streamed(archive_entry* e, const std::function<void(const Sink&)>& produce);
    // The members of the directory tree `dir` (trusted: the caller's own),
    // sorted by name, as "prefix/relative path". Hard links stay hard links.
    void add_tree(const std::string& dir);
    void finish();

  private:
    void header(archive_entry* e);
    void add_tree_at(const std::string& abs, const std::string& rel);
    archive* a_;
    archive* disk_;
    archive_entry_linkresolver* links_;
    int fd_;
};

struct EntryFree {
    void operator()(archive_entry* e) const;
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

// A fresh entry with the usual fields set.
EntryPtr make_entry(const std::string& path, mode_t mode, int64_t mtime, int64_t size = 0);

}  // namespace layerfs::store
