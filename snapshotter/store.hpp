#pragma once
// The store on disk: an OCI image layout (oci-layout, index.json, blobs/sha256)
// plus unpacked layers (layers/<diff_id>/diff) and containers/. Changes are
// staged in tmp/ and renamed into place after fsync, under an exclusive flock.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fs/sys/fd.hpp"
#include "snapshotter/layer_files.hpp"
#include "snapshotter/unpack.hpp"

namespace layerfs::store {

struct IndexEntry {
    std::string manifest_hex;
    uint64_t size = 0;
    std::string media_type;
    std::string ref;  // "name:tag"; empty for an untagged image
};

struct LayerInfo {
    uint64_t content_size = 0;  // sum of regular file sizes, for SIZE columns
};

class Transaction;
class Store;

// A change that may leave blobs or layers nothing names if it is killed midway
// (moving staged files in before the index names them; removing names before
// the files): until close(), a journal in tmp/ tells the next exclusive lock to
// collect garbage. Dropped without close(), it stays for that lock.
class Journal {
  public:
    explicit Journal(Store& s);
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;
    void close();

  private:
    Store& s_;
    std::string name_;
    bool open_ = true;
};

class Store {
  public:
    // $LAYERFS_ROOT, else /var/lib/layerfs for root, $XDG_DATA_HOME/layerfs otherwise.
    static std::string default_root();
    // Opens the store, creating its directories on first use.
    explicit Store(std::string root);

    const std::string& root() const { return root_; }
    int fd() const { return root_fd_.get(); }
    // Decides the layer format: probed once (mknod 0/0 and trusted.* in tmp/).
    const Identity& identity();

    // Held for a command's whole run: exclusive by commands that change the store,
    // shared by readers. Taking it exclusively clears tmp/, where only what killed
    // commands left can be then, unless `tidy` is false (fsck reports it first).
    class Lock {
      public:
        explicit Lock(Fd fd) : fd_(std::move(fd)) {}

      private:
        Fd fd_;
    };
    Lock lock(bool exclusive, bool tidy = true);

    bool has_blob(const std::string& hex) const;
    Fd open_blob(const std::string& hex) const;
    // The whole blob, checked against its digest (config and manifest JSON).
    std::string read_blob(const std::string& hex, size_t limit = 16 << 20) const;
    uint64_t blob_size(const std::string& hex) const;

    bool has_layer(const std::string& diff_id) const;
    std::string layer_dir(const std::string& diff_id) const;  // absolute path of diff/
    LayerInfo layer_info(const std::string& diff_id) const;
    // The file index recorded when the layer was unpacked; throws Failure when
    // it is missing or not one.
    std::vector<FileRecord> layer_files(const std::string& diff_id) const;

    std::vector<IndexEntry> read_index() const;
    // Atomically replaces index.json (the caller holds the exclusive lock).
    void write_index(const std::vector<IndexEntry>& entries);

    std::vector<std::string> blob_names() const;
    std::vector<std::string> layer_names() const;
    void remove_blob(const std::string& hex);
    void remove_layer(const std::string& diff_id);

  private:
    friend class Transaction;
    std::vector<std::string> list(const char* dir) const;
    std::string root_;
    Fd root_fd_;
    Fd lock_fd_;
    std::optional<Identity> who_;
};

// One change to the store: blobs and layers are built under tmp/ and become
// visible only at commit(), by rename after fsync. Dropped without commit(),
// everything staged is removed.
class Transaction {
  public:
    explicit Transaction(Store& s);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    Store& store() { return s_; }
    int staging_fd() const { return dir_.get(); }

    // A blob already in the store or staged here.
    bool has_blob(const std::string& hex) const;
    Fd open_blob(const std::string& hex) const;
    bool has_layer(const std::string& diff_id) const;
    uint64_t blob_size(const std::string& hex) const;

    std::string put_blob(std::string_view bytes);
    // Copies `in`, refusing it unless its sha256 and size are the expected ones.
    void copy_blob(int in, const std::string& hex, uint64_t size, const std::string& what,
                   const ProgressFn& progress = {});
    // Stages the file at `name` (a path under the staging dir) as a blob; returns
    // its digest hex.
    std::string adopt_blob_file(const std::string& name);
    // Unpacks a staged or stored blob into a new layer unless the store has it,
    // checking the blob's digest and, when one is expected, its diff_id.
    void add_layer(const std::string& blob_hex, const std::optional<std::string>& diff_id,
                   const ProgressFn& progress = {});
    // Unpacks a tar read from `in` (any compression) and stages the uncompressed
    // tar as the layer's blob. Returns the diff_id (= that blob's digest).
    std::string add_layer_from_tar(int in, const ProgressFn& progress = {});
    // Makes everything staged visible. The index is written after, by the
    // caller, who then calls seal(): a command killed in between leaves a
    // journal, and the next exclusive lock collects what the index never named.
    void commit();
    void seal();

  private:
    std::string temp_name();
    LayerStats unpack(int in, int tee, const ProgressFn& progress, std::string& staged);
    Store& s_;
    std::string name_;
    Fd dir_;
    unsigned counter_ = 0;
    std::vector<std::string> blobs_;   // staged under blob-<hex>
    std::vector<std::string> layers_;  // staged under layer-<hex>
    std::optional<Journal> journal_;
};

// Removes a tree that may hold directories without write permission.
void remove_tree(int dirfd, const std::string& name);
// Writes a file in `dirfd` atomically (temp, fsync, rename, fsync dir).
void write_file_atomic(int dirfd, const std::string& name, std::string_view bytes);
// Whether `name` is a temp of write_file_atomic (one left by a killed writer,
// unless that writer still runs).
bool is_atomic_write_temp(std::string_view name);

}  // namespace layerfs::store
