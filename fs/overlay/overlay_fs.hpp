#pragma once
// The layer stack as a file system: every operation of the mount, in terms of
// nodes and errnos. No FUSE types here; fs/daemon translates requests into calls.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs/overlay/dirmerge.hpp"
#include "fs/overlay/inode_number.hpp"
#include "fs/overlay/node.hpp"
#include "fs/overlay/options.hpp"
#include "fs/sys/result.hpp"

namespace layerfs {

struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t umask = 022;
    std::vector<gid_t> groups;  // supplementary groups, when known
};

// What the daemon may do in the upper layer, probed once at mount.
struct Caps {
    bool kernel_whiteouts = false;  // mknod 0/0 and trusted.* xattrs
    bool can_chown = false;
};

struct SetAttr {
    std::optional<mode_t> mode;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::optional<off_t> size;
    std::optional<struct timespec> atime, mtime;  // UTIME_NOW allowed
    std::optional<struct timespec> ctime;
};

struct Entry {
    Node* node;  // nlookup already counted for the kernel
    struct stat attr;
};

struct OpenedFile {
    Fd fd;
    bool upper;  // fd is the upper copy, not the lower file
    // Opened for writing, but fd still reads the lower file: the data is copied
    // up by prepare_write() at the first write (metacopy=on).
    bool deferred = false;
};

struct DirListing {
    std::vector<MergedEntry> entries;  // "." and ".." first
};

class OverlayFs {
  public:
    // Opens and checks every layer; err says what is wrong in words.
    static std::unique_ptr<OverlayFs> open(const MountConfig& cfg, std::string& err);
    ~OverlayFs();

    Node* root() const { return root_.get(); }
    const MountConfig& config() const { return cfg_; }
    const Caps& caps() const { return caps_; }
    bool read_only() const { return upper_root_ < 0 || cfg_.read_only; }

    Result<Entry> lookup(Node* parent, const char* name);
    void forget(Node* n, uint64_t count);
    // Where up to `max` of the nodes the kernel holds are named (parent, name),
    // for asking the kernel to drop them when fds run short: every such node
    // keeps an fd per layer open.
    std::vector<std::pair<std::shared_ptr<Node>, std::string>> held_entries(size_t max);
    size_t held_nodes() { return table_.live_count(); }
    // `f` runs each time the kernel has come to hold some more nodes.
    void on_nodes_grew(std::function<void()> f) { table_.on_growth(std::move(f)); }
    Result<struct stat> getattr(Node* n);
    Result<struct stat> setattr(Node* n, const SetAttr& a, int fh, const Caller& c);
    Result<std::string> readlink(Node* n);

    Result<Entry> mknod(Node* parent, const char* name, mode_t mode, dev_t rdev, const Caller& c);
    Result<Entry> mkdir(Node* parent, const char* name, mode_t mode, const Caller& c);
    Result<Entry> symlink(const char* target, Node* parent, const char* name, const Caller& c);
    Result<Entry> link(Node* n, Node* parent, const char* name);
    Result<std::pair<Entry, Fd>> create(Node* parent, const char* name, mode_t mode, int flags,
                                        const Caller& c);
    // O_TMPFILE: an unnamed file in parent's upper dir; link() may name it later.
    Result<std::pair<Entry, Fd>> tmpfile(Node* parent, mode_t mode, int flags, const Caller& c);
    Status unlink(Node* parent, const char* name);
    Status rmdir(Node* parent, const char* name);
    Status rename(Node* p1, const char* n1, Node* p2, const char* n2, unsigned flags);

    // An fd for I/O; write access copies the file up first. With may_defer and
    // metacopy=on, a write open without O_TRUNC copies the metadata only, and
    // the data waits for prepare_write(): `touch` never copies data.
    Result<OpenedFile> open_file(Node* n, int flags, bool may_defer = false);
    // The data of n in its upper copy, for a write through a deferred open.
    Status prepare_write(Node* n) { return copy_up(n, CopyUp::Full); }
    // The kernel keeps n for what it has open, while later lookups of n's
    // names get a new node (for opens the kernel cannot move to n's upper copy).
    void retire(Node* n) { table_.drop_keys(n); }
    Result<DirListing> opendir(Node* n);
    Status fsync(int fd, bool datasync);

    Result<std::string> getxattr(Node* n, const char* name);
    Result<std::vector<std::string>> listxattr(Node* n);
    Status setxattr(Node* n, const char* name, std::string_view value, int flags);
    Status removexattr(Node* n, const char* name);
    Result<struct statvfs> statfs(Node* n);
    Status access(Node* n, int mask, const Caller& c);

    // Whether the workdir had a marker of a volatile mount that did not end cleanly.
    bool was_dirty() const { return was_dirty_; }
    void mark_clean();

  private:
    struct Child;
    OverlayFs() = default;

    Result<Child> resolve(Node* parent, const std::string& name);
    Result<std::optional<Child>> resolve_indexed(Node* parent, const std::string& name,
                                                 const LowerIndex& index);
    Result<Entry> enter(Node* parent, const std::string& name, Child&& c);
    struct stat present(Node* n, struct stat st);
    Result<int> upper_dir_of(Node* dir);  // copies dir up when needed
    // What a copy-up must bring: Full for data writes; Empty when the data is
    // about to be truncated away; Metadata for changes of metadata and names,
    // which copy only that with metacopy=on (else it means Full). A file
    // already up as metadata gets its data for Full and Empty.
    enum class CopyUp { Full, Empty, Metadata };
    Status copy_up(Node* n, CopyUp how = CopyUp::Full);
    Status copy_up_data(Node* n);
    // The metadata a data copy-up saves on the copy until its writes are done,
    // and its putting back when a killed daemon left it there (true if it did).
    const char* data_copy_xattr() const;
    bool finish_killed_data_copy(int upper);
    std::string path_of(Node* n);  // "a/b" from the root; empty if unreachable
    Status find_metacopy_data(Node* parent, const std::string& name, Child& c);
    // Where a non-directory's lower bytes are: `lower`, or, when that holds
    // metadata only, the file down the layers that holds them (found once).
    Result<int> lower_data_fd(Node* n);
    // Where its bytes are now: the upper copy, or the lower data while the copy
    // holds metadata only.
    Result<int> data_fd(Node* n);
    Status copy_up_tree(Node* dir);  // Metadata for everything in it
    bool can_write_copy(Node* n);
    void settle_subtree(Node* dir);
    Status copy_up_dir(Node* n);
    Status copy_up_file(Node* n, CopyUp how);
    Status publish(Node* n, const std::string& tmp, Fd staged);
    Status make_whiteout(int dirfd, const std::string& name);
    Status set_opaque(int dirfd);
    Status apply_owner(int fd, mode_t mode, const Caller& c, dev_t rdev, int parent_fd);
    // The mode a new upper file or directory gets on disk (`mode` has its type).
    mode_t disk_mode(mode_t mode) const;
    template <class Make>
    Result<Entry> create_object(Node* parent, const char* name, mode_t mode, const Caller* c,
                                Make&& make, Fd* io_fd, dev_t rdev);
    Status prepare_rename_source(Node* p, const char* name);
    bool needs_link_count(const Child& c) const;
    Status copy_up_name(Node* parent, const char* name);
    std::string index_key(const struct stat& lower) const;
    void adopt_index(Node* n);
    Status link_alias(Node* n, Node* parent, const std::string& name);
    Status link_known_aliases(Node* n);
    // Link count of an upper copy of a lower hard link, kept in an xattr.
    const char* nlink_xattr() const;
    std::optional<nlink_t> stored_nlink(int upper) const;
    void adjust_nlink(int upper, int delta);
    std::string temp_name();
    Result<bool> dir_is_empty(const Child& c);
    void detach(Node* parent, const std::string& name, const Child& c);

    MountConfig cfg_;
    Caps caps_;
    std::vector<Fd> lowers_;   // lower roots, top first; layer k is lowers_[k-1]
    std::vector<dev_t> devs_;  // devs_[layer]
    Fd upper_owner_, work_owner_, workdir_fd_;
    Fd index_;  // workdir/layerfs-index: one link per copied-up lower hard link
    int upper_root_ = -1;
    int work_ = -1;  // workdir/work: staging for atomic copy-up and creation
    std::unique_ptr<InodeNumbers> inos_;
    std::shared_ptr<Node> root_;
    NodeTable table_;
    std::shared_mutex ns_;  // exclusive for changes to the upper tree's names
    std::atomic<uint64_t> tmp_counter_{0};
    bool was_dirty_ = false;
    uid_t self_uid_ = 0;
    gid_t self_gid_ = 0;
};

}  // namespace layerfs
