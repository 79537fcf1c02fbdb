#include "snapshotter/changes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
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
// into it, top first. Empty when the path was no directory there.
using View = std::vector<Fd>;

std::vector<int> raw(const View& v) {
    std::vector<int> out;
    for (const auto& f : v)
        out.push_back(f.get());
    return out;
}

struct LowerHit {
    bool found = false;
    struct stat st {};
    Fd fd;      // the visible entry
    View dirs;  // for a directory: the layers that merge into it
};

LowerHit lookup_lower(const std::vector<int>& dirs, const std::string& name,
                      const std::string& path) {
    Resolver r;
    std::vector<Found> found;
    for (size_t i = 0; i < dirs.size(); i++) {
        found.push_back(
            must(probe_name(dirs[i], name, true), "reading the lower layers at " + path));
        if (!r.feed(int(i), found.back().probe)) break;
    }
    const Resolution& res = r.result();
    LowerHit hit;
    if (!res.found()) return hit;
    hit.found = true;
    hit.st = found[size_t(res.top)].st;
    if (S_ISDIR(hit.st.st_mode)) {
        for (int l : res.dir_layers)
            hit.dirs.push_back(std::move(found[size_t(l)].fd));
    } else {
        hit.fd = std::move(found[size_t(res.top)].fd);
    }
    return hit;
}

// The names the old tree showed in a directory.
std::vector<std::string> lower_names(const View& view, const std::string& path) {
    std::vector<std::vector<RawEntry>> listings;
    for (const auto& d : view) {
        std::vector<RawEntry> l;
        for (auto& e : must(sys::read_dir(d.get()), "listing the lower layers at " + path)) {
            RawEntry r{e.name, e.type, e.ino, false};
            if (e.type == DT_CHR) {
                auto st = sys::stat_at(d.get(), e.name.c_str());
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

class Walker {
  public:
    Walker(const DiffOptions& opts) : opts_(opts) {}
    std::vector<ChangeItem> items;

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
        const std::vector<int> old_dirs = raw(old);
        bool changed = false;
        for (auto& p : present)
            changed |= entry(dir, path, old_dirs, p, hidden, carried);
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
                if (!lookup_lower(old_dirs, n, path + "/" + n).found) continue;
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

    bool entry(int dir, const std::string& parent, const std::vector<int>& old, UpperEntry& e,
               bool hidden, bool carried) {
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
        it.state = classify(fd.get(), it.meta, hit, path);
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
        int lower = S_ISDIR(hit.st.st_mode) ? hit.dirs.front().get() : hit.fd.get();
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
};

// A file that shares its inode with a changed one changed too: the layer must
// carry both names for the link to survive.
void promote_links(std::vector<ChangeItem>& items) {
    std::map<std::pair<dev_t, ino_t>, std::vector<size_t>> groups;
    for (size_t i = 0; i < items.size(); i++)
        if (items[i].state != State::Deleted && S_ISREG(items[i].meta.mode) && items[i].nlink > 1)
            groups[{items[i].dev, items[i].ino}].push_back(i);
    std::map<std::string, size_t> by_path;
    for (size_t i = 0; i < items.size(); i++)
        by_path[items[i].path] = i;
    for (auto& [key, members] : groups) {
        if (members.size() < 2) continue;
        if (std::none_of(members.begin(), members.end(),
                         [&](size_t i) { return items[i].state != State::Same; }))
            continue;
        for (size_t i : members) {
            if (items[i].state != State::Same) continue;
            items[i].state = State::Changed;
            items[i].in_layer = true;
            for (auto p = items[i].path.rfind('/'); p != 0 && p != std::string::npos;
                 p = items[i].path.rfind('/', p - 1)) {
                ChangeItem& a = items[by_path.at(items[i].path.substr(0, p))];
                if (a.state != State::Same) break;
                a.state = State::Changed;
                a.in_layer = true;
            }
        }
    }
}

}  // namespace

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
        // Kernel overlayfs with redirect_dir or metacopy (both off by default)
        // keeps a renamed directory's or a file's data elsewhere in the lowers.
        if (n == "trusted.overlay.redirect" || n == "user.overlay.redirect" ||
            n == "trusted.overlay.metacopy" || n == "user.overlay.metacopy")
            fail(path + " carries " + n +
                 ": uppers written with redirect_dir or metacopy are not supported");
        if (whiteout::is_private_xattr(n, true)) continue;
        m.xattrs.emplace_back(n, std::move(*v));
    }
    std::sort(m.xattrs.begin(), m.xattrs.end());
    return m;
}

std::vector<ChangeItem> collect_changes(int upper, const std::vector<int>& lowers,
                                        const DiffOptions& opts) {
    View root;
    for (int l : lowers) {
        root.push_back(must(open_dir(l, "."), "opening a lower layer"));
        if (is_opaque_dir(root.back().get())) break;
    }
    Walker w(opts);
    w.walk(upper, "", root, false, false);
    promote_links(w.items);
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
