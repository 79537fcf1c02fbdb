// Name resolution, attributes and directory listings: the read side of the mount.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

#include <mutex>

#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/overlay_fs_internal.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

namespace {

// A directory's lower layers as follow_metacopy takes them.
LayerDirs layer_dirs(const Node* dir) {
    LayerDirs out;
    for (auto& l : dir->lower_dirs)
        out.emplace_back(l.layer, l.fd.get());
    return out;
}

// The layers a directory node reads from, top first.
std::vector<std::pair<int, int>> layers_of(const Node* dir) {
    std::vector<std::pair<int, int>> out;
    int up = dir->upper.load(std::memory_order_acquire);
    if (up >= 0) out.emplace_back(0, up);
    for (auto& l : dir->lower_dirs)
        out.emplace_back(l.layer, l.fd.get());
    return out;
}

}  // namespace

Result<OverlayFs::Child> OverlayFs::resolve(Node* parent, const std::string& name) {
    if (name.size() > NAME_MAX) return err(ENAMETOOLONG, "lookup");
    Child c;
    if (whiteout::is_reserved_name(name)) return c;  // overlay metadata is never visible
    if (auto index = parent->lower_index.load()) {
        auto fast = LFS_TRY(resolve_indexed(parent, name, *index));
        if (fast) return std::move(*fast);
    }
    auto layers = layers_of(parent);
    std::vector<Found> found(layers.size());
    Resolver r;
    size_t i = 0;
    size_t stop = layers.size();  // the layer that ended the search, if one did
    while (i < layers.size()) {
        bool last = i + 1 == layers.size();
        found[i] = LFS_TRY(probe_name(layers[i].second, name, !last));
        if (layers[i].first == 0 && found[i].probe == Probe::Whiteout) {
            c.upper_whiteout = true;
            c.upper_whiteout_dev = found[i].st.st_mode != 0;
        }
        bool more = r.feed(layers[i].first, found[i].probe);
        ++i;
        if (!more) {
            stop = i - 1;
            break;
        }
    }
    const Resolution& res = r.result();
    if (!res.found()) return c;
    auto pos = [&](int layer) {
        size_t j = 0;
        while (layers[j].first != layer)
            ++j;
        return j;
    };
    size_t ti = pos(res.top);
    c.exists = true;
    c.top = res.top;
    c.st = found[ti].st;
    for (int dl : res.dir_layers) {
        if (dl == 0) continue;
        size_t j = pos(dl);
        if (c.lower_dirs.empty() && res.top == 0) c.origin = found[j].st;
        c.lower_dirs.push_back({dl, std::move(found[j].fd)});
    }
    c.fd = std::move(found[ti].fd);
    if (res.top != 0) {
        c.lower_exists = true;
    } else if (c.lower_dirs.empty()) {
        // An upper non-directory or opaque directory: does a lower layer still
        // hold the name? Then removing it needs a whiteout, and its inode number
        // comes from there, so copy-up does not change it. A lower non-directory
        // that ended an upper directory's merge counts too.
        if (stop > 0 && stop < layers.size()) {
            c.lower_exists = found[stop].probe == Probe::NonDir;
            i = layers.size();
        }
        for (; i < layers.size(); ++i) {
            auto f = LFS_TRY(probe_name(layers[i].second, name, false, false));
            if (f.probe == Probe::Absent) continue;
            if (f.probe == Probe::Whiteout) break;
            c.lower_exists = true;
            if ((f.st.st_mode & S_IFMT) == (c.st.st_mode & S_IFMT)) c.origin = f.st;
            break;
        }
    } else {
        c.lower_exists = true;
    }
    return c;
}

// resolve() in a directory whose lower names are indexed: the upper layer is
// probed as ever, the lowers only where the index says the name is. A directory
// that would merge with lower ones (the layers below it and their opaque markers
// decide) is left to the full search: nullopt.
Result<std::optional<OverlayFs::Child>> OverlayFs::resolve_indexed(Node* parent,
                                                                   const std::string& name,
                                                                   const LowerIndex& index) {
    using Fast = std::optional<Child>;
    Child c;
    const LowerEntry* low = index.find(name);
    auto lower_fd = [&]() {
        for (auto& l : parent->lower_dirs)
            if (l.layer == low->layer) return l.fd.get();
        return -1;
    };
    if (int up = parent->upper.load(std::memory_order_acquire); up >= 0) {
        Found f = LFS_TRY(probe_name(up, name, true));
        switch (f.probe) {
            case Probe::Absent:
                break;
            case Probe::Whiteout:
                c.upper_whiteout = true;
                c.upper_whiteout_dev = f.st.st_mode != 0;
                return Fast(std::move(c));
            case Probe::Dir:
                return Fast{};
            case Probe::NonDir:
            case Probe::OpaqueDir:
                c.exists = true;
                c.top = 0;
                c.st = f.st;
                c.fd = std::move(f.fd);
                if (low) {
                    // Its inode number comes from the lower entry it covers.
                    c.lower_exists = true;
                    struct stat st;
                    int fd = lower_fd();
                    if (fd < 0) return Fast{};
                    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        (st.st_mode & S_IFMT) == (c.st.st_mode & S_IFMT))
                        c.origin = st;
                }
                return Fast(std::move(c));
        }
    }
    if (!low) return Fast(std::move(c));
    if (low->type == DT_DIR || low->type == DT_UNKNOWN) return Fast{};
    int fd = lower_fd();
    if (fd < 0) return Fast{};
    Found f = LFS_TRY(probe_name(fd, name, false));
    if (f.probe != Probe::NonDir) return Fast{};
    c.exists = true;
    c.top = low->layer;
    c.st = f.st;
    c.fd = std::move(f.fd);
    c.lower_exists = true;
    return Fast(std::move(c));
}

Result<Entry> OverlayFs::enter(Node* parent, const std::string& name, Child&& c) {
    std::shared_ptr<Node> p = parent->shared_from_this();
    bool created = false;
    auto node = table_.acquire({c.st.st_dev, c.st.st_ino}, [&] {
        created = true;
        auto n = std::make_shared<Node>();
        n->type = c.st.st_mode & S_IFMT;
        const struct stat& id = c.origin ? *c.origin : c.st;
        n->st_ino = inos_->map(id.st_dev, id.st_ino);
        if (c.top == 0) {
            if (c.data.valid()) {
                n->lower = std::move(c.data);
                n->metacopy = true;
            }
            n->set_upper(std::move(c.fd));
        } else if (!S_ISDIR(c.st.st_mode)) {
            n->lower = std::move(c.fd);
            n->lower_layer = c.top;
        }
        n->merged = c.lower_dirs.size() + (c.top == 0 ? 1 : 0) > 1;
        n->lower_dirs = std::move(c.lower_dirs);
        n->parent = std::move(p);
        n->name = name;
        return n;
    });
    if (!created && !node->is_dir()) node->add_alias(parent, name);
    struct stat st;
    if (created) {
        st = present(node.get(), c.st);
    } else {
        auto r = getattr(node.get());
        if (!r) {
            table_.forget(node.get(), 1);
            return r.error();
        }
        st = *r;
    }
    return Entry{node.get(), st};
}

Result<Entry> OverlayFs::lookup(Node* parent, const char* name) {
    bool lower_link = false;
    auto e = [&]() -> Result<Entry> {
        std::shared_lock lk(ns_);
        auto c = LFS_TRY(resolve(parent, name));
        if (!c.exists) return err(ENOENT, "lookup");
        if (c.top == 0 && S_ISREG(c.st.st_mode) && c.st.st_size > 0)
            LFS_CHECK(find_metacopy_data(parent, name, c));
        lower_link = c.top != 0 && !S_ISDIR(c.st.st_mode) && c.st.st_nlink > 1;
        return enter(parent, name, std::move(c));
    }();
    if (!e || !lower_link || read_only() || !index_.valid()) return e;
    // A hard link of a lower file whose other name was copied up: this name
    // must show, and hold in the upper layer, the same copy.
    Node* n = e->node;
    adopt_index(n);
    if (!n->has_upper()) return e;
    auto linked = link_alias(n, parent, name);
    auto st = linked ? getattr(n) : Result<struct stat>(linked.error());
    if (!st) {
        forget(n, 1);
        return st.error();
    }
    e->attr = *st;
    return e;
}

void OverlayFs::forget(Node* n, uint64_t count) {
    if (n != root_.get()) table_.forget(n, count);
}

std::vector<std::pair<std::shared_ptr<Node>, std::string>> OverlayFs::held_entries(size_t max) {
    std::vector<std::pair<std::shared_ptr<Node>, std::string>> out;
    for (auto& n : table_.live(max)) {
        auto [parent, name] = n->location();
        if (parent && !name.empty()) out.emplace_back(std::move(parent), std::move(name));
    }
    return out;
}

struct stat OverlayFs::present(Node* n, struct stat st) {
    st.st_ino = n->st_ino;
    if (S_ISDIR(st.st_mode) && (cfg_.static_nlink || n->merged)) st.st_nlink = 1;
    if (n->unlinked && !S_ISDIR(st.st_mode)) st.st_nlink = 0;
    // An upper copy of a lower hard link carries its own count: the index link
    // is no name, and names still only in a lower layer are.
    if (S_ISREG(st.st_mode) && st.st_nlink > 1 && n->has_upper()) {
        if (auto v = stored_nlink(n->upper.load())) st.st_nlink = *v;
    }
    if (cfg_.xattr_permissions) {
        if (auto v = sys::getxattr_fd(n->top_fd(), whiteout::kOverrideStat)) {
            if (auto o = parse_override_stat(*v)) {
                st.st_uid = o->uid;
                st.st_gid = o->gid;
                mode_t type = o->has_type ? (o->mode & S_IFMT) : (st.st_mode & S_IFMT);
                st.st_mode = type | (o->mode & 07777);
                if (o->has_type && (S_ISCHR(type) || S_ISBLK(type))) st.st_rdev = o->rdev;
            }
        }
    }
    st.st_uid = cfg_.uid_map.to_container(st.st_uid);
    st.st_gid = cfg_.gid_map.to_container(st.st_gid);
    if (cfg_.squash_to_root) st.st_uid = st.st_gid = 0;
    if (cfg_.squash_uid) st.st_uid = *cfg_.squash_uid;
    if (cfg_.squash_gid) st.st_gid = *cfg_.squash_gid;
    return st;
}

Result<struct stat> OverlayFs::getattr(Node* n) {
    int fd = n->top_fd();
    if (fd < 0) return err(ESTALE, "getattr");
    auto st = LFS_TRY(sys::stat_fd(fd));
    // A metadata-only copy's blocks are still the lower file's.
    if (n->metacopy.load(std::memory_order_acquire))
        if (auto data = sys::stat_fd(n->lower.get())) st.st_blocks = data->st_blocks;
    return present(n, st);
}

// An upper file that holds metadata only: follow_metacopy finds its data in
// the layers below (a lower one's is found later, by lower_data_fd).
Status OverlayFs::find_metacopy_data(Node* parent, const std::string& name, Child& c) {
    auto m = LFS_TRY(read_metacopy(c.fd.get()));
    if (!m.is) return {};
    // A node for it means this daemon knows the file (and may be copying it);
    // without one, metadata saved by a data copy-up was left by a killed daemon.
    if (!read_only() && !table_.find({c.st.st_dev, c.st.st_ino}) &&
        finish_killed_data_copy(c.fd.get()))
        c.st = LFS_TRY(sys::stat_fd(c.fd.get()));
    auto f = follow_metacopy(std::move(m), name, 0, layer_dirs(parent), layer_dirs(root_.get()));
    if (!f) return err(f.err(), "metacopy data");
    c.data = std::move(f->fd);
    c.origin = f->st;
    return {};
}

// A lower file that holds metadata only is one an upper layer made before it
// became a lower one. It has not moved since (a rename copies it up first), so
// its path from the root is where it was found.
Result<int> OverlayFs::lower_data_fd(Node* n) {
    std::call_once(n->lower_data_once, [&] {
        auto m = read_metacopy(n->lower.get());
        if (!m || !m->is) {
            n->lower_data_err = m ? 0 : m.err();
            return;
        }
        // The root's lower layers never change: no namespace lock needed (and
        // callers may hold it).
        const std::string path = "/" + path_of(n);
        if (path.size() == 1) {
            n->lower_data_err = EIO;
            return;
        }
        auto root = layer_dirs(root_.get());
        auto f = follow_metacopy(std::move(*m), path, n->lower_layer, root, root);
        if (f)
            n->lower_data = std::move(f->fd);
        else
            n->lower_data_err = f.err();
    });
    if (n->lower_data_err) return err(n->lower_data_err, "metacopy data");
    return n->lower_data.valid() ? n->lower_data.get() : n->lower.get();
}

Result<int> OverlayFs::data_fd(Node* n) {
    int u = n->upper.load(std::memory_order_acquire);
    if (u >= 0 && !n->metacopy.load(std::memory_order_acquire)) return u;
    if (!S_ISREG(n->type)) return n->lower.get();
    return lower_data_fd(n);
}

Result<std::string> OverlayFs::readlink(Node* n) {
    if (!S_ISLNK(n->type)) return err(EINVAL, "readlink");
    return sys::readlink_at(n->top_fd(), "");
}

namespace {

Result<std::vector<RawEntry>> read_layer(int fd) {
    auto entries = LFS_TRY(sys::read_dir(fd));
    std::vector<RawEntry> out;
    out.reserve(entries.size());
    for (auto& e : entries) {
        RawEntry r{std::move(e.name), e.type, e.ino, false};
        if (r.type == DT_CHR || r.type == DT_UNKNOWN) {
            struct stat st;
            if (::fstatat(fd, r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
                r.whiteout_dev = whiteout::is_whiteout_device(st.st_mode, st.st_rdev);
                r.type = IFTODT(st.st_mode);
            }
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<MergedEntry> merge(std::vector<std::vector<RawEntry>> raw,
                               const std::vector<std::pair<int, int>>& layers) {
    auto merged = merge_listings(std::move(raw));
    for (auto& m : merged)
        m.layer = layers[size_t(m.layer)].first;
    return merged;
}

struct Listing {
    std::vector<MergedEntry> merged;
    std::shared_ptr<const LowerIndex> lower_index;  // when asked for and there are lowers
};

Result<Listing> list_layers(const std::vector<std::pair<int, int>>& layers, bool index) {
    std::vector<std::vector<RawEntry>> raw;
    raw.reserve(layers.size());
    for (auto& l : layers)
        raw.push_back(LFS_TRY(read_layer(l.second)));
    Listing out;
    const bool upper = !layers.empty() && layers[0].first == 0;
    if (index && layers.size() > (upper ? 1u : 0u)) {
        if (upper) {
            std::vector<std::pair<int, int>> lowers(layers.begin() + 1, layers.end());
            std::vector<std::vector<RawEntry>> lower_raw(raw.begin() + 1, raw.end());
            out.lower_index = std::make_shared<LowerIndex>(merge(std::move(lower_raw), lowers));
        } else {
            out.merged = merge(std::move(raw), layers);
            out.lower_index = std::make_shared<LowerIndex>(out.merged);
            return out;
        }
    }
    out.merged = merge(std::move(raw), layers);
    return out;
}

}  // namespace

Result<DirListing> OverlayFs::opendir(Node* n) {
    if (!n->is_dir()) return err(ENOTDIR, "opendir");
    DirListing d;
    std::vector<MergedEntry> entries;
    {
        std::shared_lock lk(ns_);
        auto listing = LFS_TRY(list_layers(layers_of(n), !n->lower_index.load()));
        entries = std::move(listing.merged);
        if (listing.lower_index) n->lower_index.store(std::move(listing.lower_index));
    }
    auto [parent, name] = n->location();
    uint64_t pino = parent ? parent->st_ino : n->st_ino;
    d.entries.reserve(entries.size() + 2);
    d.entries.push_back({".", DT_DIR, n->st_ino, 0});
    d.entries.push_back({"..", DT_DIR, pino, 0});
    for (auto& e : entries) {
        e.ino = inos_->map(devs_[size_t(e.layer)], e.ino);
        d.entries.push_back(std::move(e));
    }
    return d;
}

Result<bool> OverlayFs::dir_is_empty(const Child& c) {
    std::vector<std::pair<int, int>> layers;
    if (c.top == 0) layers.emplace_back(0, c.fd.get());
    for (auto& l : c.lower_dirs)
        layers.emplace_back(l.layer, l.fd.get());
    auto listing = LFS_TRY(list_layers(layers, false));
    return listing.merged.empty();
}

}  // namespace layerfs
