#include "snapshotter/changes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "fs/overlay/dirmerge.hpp"
#include "fs/overlay/idmap.hpp"
#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::store {
namespace {

// A directory of the old (lower-only) tree: the layer directories that merge
// into it, top first, with the index of their layer. Empty when the path was
// no directory there.
struct LayerDir {
    int layer;
    Fd fd;
};
using View = std::vector<LayerDir>;

struct LowerHit {
    bool found = false;
    int layer = -1;  // of the visible entry
    struct stat st {};
    Fd fd;      // the visible entry
    View dirs;  // for a directory: the layers that merge into it
};

LowerHit lookup_lower(const View& dirs, const std::string& name, const std::string& path) {
    Resolver r;
    std::vector<Found> found;
    for (size_t i = 0; i < dirs.size(); i++) {
        found.push_back(
            must(probe_name(dirs[i].fd.get(), name, true), "reading the lower layers at " + path));
        if (!r.feed(int(i), found.back().probe)) break;
    }
    const Resolution& res = r.result();
    LowerHit hit;
    if (!res.found()) return hit;
    hit.found = true;
    hit.layer = dirs[size_t(res.top)].layer;
    hit.st = found[size_t(res.top)].st;
    if (S_ISDIR(hit.st.st_mode)) {
        for (int l : res.dir_layers)
            hit.dirs.push_back({dirs[size_t(l)].layer, std::move(found[size_t(l)].fd)});
    } else {
        hit.fd = std::move(found[size_t(res.top)].fd);
    }
    return hit;
}

// Whether the old tree showed `name`: the first layer that says anything
// decides, and a directory need not be opened (or readable) for that.
bool in_lower(const View& dirs, const std::string& name, const std::string& path) {
    for (const auto& d : dirs) {
        auto f =
            must(probe_name(d.fd.get(), name, false, false), "reading the lower layers at " + path);
        if (f.probe == Probe::Whiteout) return false;
        if (f.probe != Probe::Absent) return true;
    }
    return false;
}

// The names the old tree showed in a directory.
std::vector<std::string> lower_names(const View& view, const std::string& path) {
    std::vector<std::vector<RawEntry>> listings;
    for (const auto& d : view) {
        std::vector<RawEntry> l;
        for (auto& e : must(sys::read_dir(d.fd.get()), "listing the lower layers at " + path)) {
            RawEntry r{e.name, e.type, e.ino, false};
            if (e.type == DT_CHR) {
                auto st = sys::stat_at(d.fd.get(), e.name.c_str());
                r.whiteout_dev = st && whiteout::is_whiteout_device(st->st_mode, st->st_rdev);
            }
            l.push_back(std::move(r));
        }
        listings.push_back(std::move(l));
    }
    std::vector<std::string> out;
    for (auto& m : merge_listings(std::move(listings)))
        out.push_back(std::move(m.name));
    return out;
}

bool content_equal(int upper_fd, int lower_fd, const std::string& path) {
    Fd a = must(sys::reopen(upper_fd, O_RDONLY), "reading " + path);
    Fd b = must(sys::reopen(lower_fd, O_RDONLY), "reading the lower copy of " + path);
    std::vector<char> ba(1 << 20), bb(1 << 20);
    XXH3_state_t* sa = XXH3_createState();
    XXH3_state_t* sb = XXH3_createState();
    XXH3_128bits_reset(sa);
    XXH3_128bits_reset(sb);
    bool equal = true;
    for (;;) {
        size_t na = must(sys::read_some(a.get(), ba.data(), ba.size()), "reading " + path);
        size_t nb = 0;
        while (nb < na) {  // read as much of the lower file as was read of the upper one
            size_t n = must(sys::read_some(b.get(), bb.data() + nb, na - nb),
                            "reading the lower copy of " + path);
            if (n == 0) break;
            nb += n;
        }
        if (na != nb) {
            equal = false;
            break;
        }
        if (na == 0) break;
        XXH3_128bits_update(sa, ba.data(), na);
        XXH3_128bits_update(sb, bb.data(), nb);
    }
    if (equal) equal = XXH128_isEqual(XXH3_128bits_digest(sa), XXH3_128bits_digest(sb));
    XXH3_freeState(sa);
    XXH3_freeState(sb);
    return equal;
}

struct UpperEntry {
    std::string name;
    struct stat st;
};

// layerfs keeps the names of a lower hard link linked when it copies one up:
// the copy carries the link count in an xattr, and the other names join it in
// the upper layer only when they are looked up.
bool is_linked_copy(int fd) {
    for (const char* x : {"trusted.overlay.layerfs.nlink", "user.overlay.layerfs.nlink"})
        if (sys::getxattr_fd(fd, x)) return true;
    return false;
}

struct LinkedCopy {
    size_t item;
    int layer;  // where the lower file is
    dev_t dev;
    ino_t ino;
};

class Walker {
  public:
    Walker(const DiffOptions& opts, const std::vector<int>& lowers)
        : opts_(opts), lowers_(lowers) {}
    std::vector<ChangeItem> items;
    std::vector<LinkedCopy> linked_copies;

    // Walks the upper directory `dir` at `path` ("" for the root). `old` is the
    // directory in the old tree; `hidden` says lower entries no longer show
    // through (an opaque directory here or above); `carried` that the layer
    // must carry every entry (an opaque marker above). Returns whether anything
    // below changed.
    bool walk(int dir, const std::string& path, const View& old, bool hidden, bool carried) {
        std::vector<UpperEntry> present;
        std::vector<std::pair<std::string, struct stat>> whiteouts;
        for (auto& e : must(sys::read_dir(dir), "reading the upper layer at " + shown(path))) {
            auto c = whiteout::classify_name(e.name);
            if (c.kind == whiteout::NameKind::OpaqueMarker) continue;
            struct stat st = must(sys::stat_at(dir, e.name.c_str()),
                                  "reading the upper layer at " + path + "/" + e.name);
            if (c.kind == whiteout::NameKind::Whiteout)
                whiteouts.emplace_back(std::string(c.target), st);
            else if (whiteout::is_whiteout_device(st.st_mode, st.st_rdev))
                whiteouts.emplace_back(e.name, st);
            else
                present.push_back({e.name, st});
        }
        std::set<std::string> names;
        for (const auto& p : present)
            names.insert(p.name);
        bool changed = false;
        for (auto& p : present)
            changed |= entry(dir, path, old, p, hidden, carried);
        if (hidden) {
            // Whatever the old tree had here and the upper layer did not bring back.
            if (!old.empty())
                for (auto& n : lower_names(old, path))
                    if (!names.count(n)) {
                        deleted(path + "/" + n, {}, carried);
                        changed = true;
                    }
        } else {
            for (auto& [n, st] : whiteouts) {
                if (names.count(n) || old.empty()) continue;  // the entry wins; nothing hidden
                if (!in_lower(old, n, path + "/" + n)) continue;
                deleted(path + "/" + n, &st, carried);
                changed = true;
            }
        }
        return changed;
    }

  private:
    static std::string shown(const std::string& path) { return path.empty() ? "/" : path; }

    void deleted(const std::string& path, const struct stat* whiteout, bool carried) {
        ChangeItem it;
        it.path = path;
        it.state = State::Deleted;
        it.in_layer = !carried;
        if (whiteout) {
            it.meta.mtime_sec = whiteout->st_mtim.tv_sec;
            it.meta.mtime_nsec = whiteout->st_mtim.tv_nsec;
        }
        items.push_back(std::move(it));
    }

    bool entry(int dir, const std::string& parent, const View& old, UpperEntry& e, bool hidden,
               bool carried) {
        std::string path = parent + "/" + e.name;
        const bool is_dir = S_ISDIR(e.st.st_mode);
        Fd fd = must(is_dir ? open_dir(dir, e.name.c_str())
                            : sys::open_at(dir, e.name.c_str(), O_PATH | O_NOFOLLOW),
                     "reading the upper layer at " + path);
        LowerHit hit = old.empty() ? LowerHit{} : lookup_lower(old, e.name, path);
        size_t index = items.size();
        ChangeItem it;
        it.path = path;
        it.meta = read_meta(fd.get(), e.st, path);
        it.dev = e.st.st_dev;
        it.ino = e.st.st_ino;
        it.nlink = e.st.st_nlink;
        Fd data;  // a metadata-only copy's data, in the old tree
        if (S_ISREG(e.st.st_mode) && e.st.st_size > 0) {
            auto m = must(read_metacopy(fd.get()), "reading the upper layer at " + path);
            if (m.is) {
                it.lower_data = m.redirect.empty()     ? path
                                : m.redirect[0] == '/' ? m.redirect
                                                       : parent + "/" + m.redirect;
                data = open_lower_file(lowers_, it.lower_data, "the data of " + path);
            }
        }
        it.state = classify(data.valid() ? data.get() : fd.get(), it.meta, hit, path);
        if (S_ISREG(e.st.st_mode) && e.st.st_nlink > 1 && hit.found && S_ISREG(hit.st.st_mode) &&
            hit.st.st_nlink > 1 && is_linked_copy(fd.get()))
            linked_copies.push_back({index, hit.layer, hit.st.st_dev, hit.st.st_ino});
        items.push_back(std::move(it));
        if (!is_dir) {
            bool changed = items[index].state != State::Same;
            items[index].in_layer = changed || carried;
            return changed;
        }
        // A directory: a lower directory here either shows through or is hidden
        // by an opaque marker (deleted and made again), here or above.
        const bool was_dir = hit.found && S_ISDIR(hit.st.st_mode);
        const bool marked = was_dir && !hidden && is_opaque_dir(fd.get());
        const bool hides = hidden || marked || !was_dir;
        bool below = walk(fd.get(), path, hit.dirs, hides, carried || marked);
        ChangeItem& self = items[index];
        if (marked) {
            self.opaque = true;
            if (self.state == State::Same) self.state = State::Changed;
        }
        if (below && self.state == State::Same) self.state = State::Changed;
        self.in_layer = self.state != State::Same || carried;
        return self.state != State::Same;
    }

    State classify(int fd, const Meta& m, LowerHit& hit, const std::string& path) {
        if (!hit.found) return State::Added;
        if (opts_.docker) return State::Changed;
        int lower = S_ISDIR(hit.st.st_mode) ? hit.dirs.front().fd.get() : hit.fd.get();
        switch (compare_meta(m, read_meta(lower, hit.st, "the lower copy of " + path))) {
            case Verdict::Same:
                return State::Same;
            case Verdict::Changed:
                return State::Changed;
            case Verdict::SameIfContentEqual:
                break;
        }
        return content_equal(fd, lower, path) ? State::Same : State::Changed;
    }

    const DiffOptions& opts_;
    const std::vector<int>& lowers_;
};

std::map<std::string, size_t> index_paths(const std::vector<ChangeItem>& items) {
    std::map<std::string, size_t> by_path;
    for (size_t i = 0; i < items.size(); i++)
        by_path[items[i].path] = i;
    return by_path;
}

// "/a/b/c" -> "/a", "/a/b".
std::vector<std::string> ancestors(const std::string& path) {
    std::vector<std::string> out;
    for (size_t p = path.find('/', 1); p != std::string::npos; p = path.find('/', p + 1))
        out.push_back(path.substr(0, p));
    return out;
}

// The parents of a change are changed too.
void mark_ancestors(std::vector<ChangeItem>& items, const std::map<std::string, size_t>& by_path,
                    const std::string& path) {
    for (const auto& a : ancestors(path)) {
        ChangeItem& it = items[by_path.at(a)];
        if (it.state != State::Same) continue;
        it.state = State::Changed;
        it.in_layer = true;
    }
}

// A file that shares its inode with a changed one changed too: the layer must
// carry both names for the link to survive.
void promote_links(std::vector<ChangeItem>& items) {
    std::map<std::pair<dev_t, ino_t>, std::vector<size_t>> groups;
    for (size_t i = 0; i < items.size(); i++)
        if (items[i].state != State::Deleted && S_ISREG(items[i].meta.mode) && items[i].nlink > 1)
            groups[{items[i].dev, items[i].ino}].push_back(i);
    auto by_path = index_paths(items);
    for (auto& [key, members] : groups) {
        if (std::none_of(members.begin(), members.end(),
                         [&](size_t i) { return items[i].state != State::Same; }))
            continue;
        for (size_t i : members) {
            if (items[i].state != State::Same) continue;
            items[i].state = State::Changed;
            items[i].in_layer = true;
            mark_ancestors(items, by_path, items[i].path);
        }
    }
}

// What the old tree shows at `path` ("/a/b").
LowerHit resolve_lower(const View& root, const std::string& path) {
    View holder;
    const View* cur = &root;
    LowerHit hit;
    for (size_t b = 1; b <= path.size();) {
        size_t e = std::min(path.find('/', b), path.size());
        hit = lookup_lower(*cur, path.substr(b, e - b), path);
        if (!hit.found || e == path.size()) return hit;
        if (!S_ISDIR(hit.st.st_mode)) return {};
        holder = std::move(hit.dirs);
        cur = &holder;
        b = e + 1;
    }
    return hit;
}

// Every name of inode (dev, ino) in one layer directory, as "/a/b".
void names_of_inode(int dir, const std::string& path, dev_t dev, ino_t ino,
                    std::vector<std::string>& out) {
    for (auto& e : must(sys::read_dir(dir), "reading the lower layers at " + path)) {
        std::string p = path + "/" + e.name;
        if (e.type == DT_DIR) {
            Fd sub = must(open_dir(dir, e.name.c_str()), "reading the lower layers at " + p);
            names_of_inode(sub.get(), p, dev, ino, out);
        } else if (e.ino == ino) {
            auto st = sys::stat_at(dir, e.name.c_str());
            if (st && st->st_dev == dev && st->st_ino == ino) out.push_back(p);
        }
    }
}

// Whether the new tree no longer shows a lower-only `path`: an ancestor was
// deleted, replaced by a non-directory or made opaque in the upper layer.
bool hidden_by_upper(const std::vector<ChangeItem>& items,
                     const std::map<std::string, size_t>& by_path, const std::string& path) {
    for (const auto& a : ancestors(path)) {
        auto it = by_path.find(a);
        if (it == by_path.end()) return false;  // lower-only from here down
        const ChangeItem& up = items[it->second];
        if (up.state == State::Deleted || !S_ISDIR(up.meta.mode) || up.opaque) return true;
    }
    return false;
}

// The other names of a changed copy of a lower hard link show the change in
// the mount, even those not yet linked into the upper layer: they are changed
// entries too, carried by the layer as links to the copy, with their parents.
void add_link_aliases(std::vector<ChangeItem>& items, const std::vector<LinkedCopy>& copies,
                      const std::vector<int>& lowers, const View& root) {
    auto by_path = index_paths(items);
    for (const auto& c : copies) {
        if (items[c.item].state == State::Same) continue;
        std::vector<std::string> names;
        names_of_inode(lowers[size_t(c.layer)], "", c.dev, c.ino, names);
        for (const auto& p : names) {
            if (by_path.count(p) || hidden_by_upper(items, by_path, p)) continue;
            LowerHit old = resolve_lower(root, p);
            if (!old.found || old.st.st_dev != c.dev || old.st.st_ino != c.ino) continue;
            for (const auto& a : ancestors(p)) {
                if (by_path.count(a)) continue;
                LowerHit dir = resolve_lower(root, a);
                ChangeItem parent;
                parent.path = a;
                parent.meta = read_meta(dir.dirs.front().fd.get(), dir.st, a);
                by_path[a] = items.size();
                items.push_back(std::move(parent));
            }
            ChangeItem alias = items[c.item];
            alias.path = p;
            alias.source = items[c.item].path;
            by_path[p] = items.size();
            items.push_back(std::move(alias));
            mark_ancestors(items, by_path, p);
        }
    }
}

}  // namespace

Fd open_lower_file(const std::vector<int>& lowers, const std::string& path,
                   const std::string& what) {
    // The upper is layer 0; the lowers follow, as in a mount. A path from the
    // root, with no redirect of its own: follow_metacopy looks it up below the
    // upper, and on down through lower files that hold metadata only.
    LayerDirs dirs;
    for (size_t i = 0; i < lowers.size(); ++i)
        dirs.emplace_back(int(i) + 1, lowers[i]);
    auto f = follow_metacopy(Metacopy{true, {}}, "/" + path, 0, dirs, dirs);
    if (!f) fail(what + " is missing from the lower layers at " + path);
    return must(sys::reopen(f->fd.get(), O_RDONLY), "reading " + what);
}

Meta read_meta(int fd, const struct stat& st, const std::string& path) {
    Meta m;
    m.mode = st.st_mode;
    m.uid = st.st_uid;
    m.gid = st.st_gid;
    m.size = S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0;
    m.mtime_sec = st.st_mtim.tv_sec;
    m.mtime_nsec = st.st_mtim.tv_nsec;
    m.rdev = st.st_rdev;
    if (S_ISLNK(st.st_mode)) m.link_target = must(sys::readlink_at(fd, ""), "reading " + path);
    auto names = sys::listxattr_fd(fd);
    // Symlinks, fifos and sockets may not support xattrs at all.
    if (!names && names.err() != EOPNOTSUPP && names.err() != EPERM)
        must(std::move(names), "listing the xattrs of " + path);
    if (!names) return m;
    for (const auto& n : *names) {
        auto v = sys::getxattr_fd(fd, n.c_str());
        if (!v) continue;  // removed meanwhile, or not ours to read
        if (n == whiteout::kOverrideStat) {
            if (auto o = parse_override_stat(*v)) {
                m.uid = o->uid;
                m.gid = o->gid;
                mode_t type = o->has_type ? (o->mode & S_IFMT) : (m.mode & S_IFMT);
                m.mode = type | (o->mode & 07777);
                if (o->has_type) m.rdev = o->rdev;
            }
            continue;
        }
        // A file's redirect points at its metacopy data (collect_changes
        // follows it); a directory's (kernel overlayfs' redirect_dir, off by
        // default) would merge it with another path of the lowers.
        if (S_ISDIR(st.st_mode) &&
            (n == "trusted.overlay.redirect" || n == "user.overlay.redirect"))
            fail(path + " carries " + n + ": uppers written with redirect_dir are not supported");
        if (whiteout::is_private_xattr(n, true)) continue;
        m.xattrs.emplace_back(n, std::move(*v));
    }
    std::sort(m.xattrs.begin(), m.xattrs.end());
    return m;
}

std::vector<ChangeItem> collect_changes(int upper, const std::vector<int>& lowers,
                                        const DiffOptions& opts) {
    View root;
    for (size_t i = 0; i < lowers.size(); i++) {
        root.push_back({int(i), must(open_dir(lowers[i], "."), "opening a lower layer")});
        if (is_opaque_dir(root.back().fd.get())) break;
    }
    Walker w(opts, lowers);
    w.walk(upper, "", root, false, false);
    promote_links(w.items);
    add_link_aliases(w.items, w.linked_copies, lowers, root);
    std::sort(w.items.begin(), w.items.end(),
              [](const ChangeItem& a, const ChangeItem& b) { return a.path < b.path; });
    return std::move(w.items);
}

std::vector<Change> reported_changes(const std::vector<ChangeItem>& items) {
    std::vector<Change> out;
    for (const auto& it : items) {
        switch (it.state) {
            case State::Same:
                break;
            case State::Added:
                out.push_back({it.path, ChangeKind::Added});
                break;
            case State::Changed:
                out.push_back({it.path, ChangeKind::Changed});
                break;
            case State::Deleted:
                out.push_back({it.path, ChangeKind::Deleted});
                break;
        }
    }
    return out;
}

}  // namespace layerfs::store
