#include "snapshotter/layer_tar.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>

#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::store {
namespace {

std::string parent_of(const std::string& rel) {
    auto slash = rel.rfind('/');
    return slash == std::string::npos ? std::string() : rel.substr(0, slash + 1);
}

std::string base_of(const std::string& rel) {
    auto slash = rel.rfind('/');
    return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

void set_time(archive_entry* e, const Meta& m, const LayerTarOptions& o) {
    if (o.clamp_mtime && m.mtime_sec >= *o.clamp_mtime)
        archive_entry_set_mtime(e, *o.clamp_mtime, 0);
    else
        archive_entry_set_mtime(e, m.mtime_sec, m.mtime_nsec);
}

}  // namespace

std::vector<TarMember> layer_members(const std::vector<ChangeItem>& items) {
    std::vector<TarMember> out;
    for (const auto& it : items) {
        if (!it.in_layer) continue;
        std::string rel = it.path.substr(1);
        if (it.state == State::Deleted) {
            out.push_back({parent_of(rel) + std::string(whiteout::kPrefix) + base_of(rel), &it,
                           TarMember::Whiteout});
            continue;
        }
        if (S_ISSOCK(it.meta.mode)) continue;  // a tar cannot hold one (docker drops them too)
        out.push_back({rel, &it, TarMember::Entry});
        if (it.opaque)
            out.push_back(
                {rel + "/" + std::string(whiteout::kOpaqueMarker), &it, TarMember::OpaqueMarker});
    }
    std::sort(out.begin(), out.end(),
              [](const TarMember& a, const TarMember& b) { return a.path < b.path; });
    return out;
}

void write_layer_tar(int upper, const std::vector<int>& lowers,
                     const std::vector<ChangeItem>& items, TarWriter& w,
                     const LayerTarOptions& opts) {
    std::map<std::pair<dev_t, ino_t>, std::string> first_name;  // hard links in this layer
    for (const auto& m : layer_members(items)) {
        const ChangeItem& it = *m.item;
        if (m.kind != TarMember::Entry) {
            // Markers are empty files owned by root, as docker and containerd write them.
            EntryPtr e = make_entry(m.path, S_IFREG, 0);
            set_time(e.get(), it.meta, opts);
            w.add(e.get());
            continue;
        }
        const Meta& meta = it.meta;
        bool dir = S_ISDIR(meta.mode);
        EntryPtr e = make_entry(dir ? m.path + "/" : m.path, meta.mode, 0,
                                S_ISREG(meta.mode) ? int64_t(meta.size) : 0);
        set_time(e.get(), meta, opts);
        uid_t uid = meta.uid;
        gid_t gid = meta.gid;
        if (opts.caller_is_root) {
            if (uid == opts.caller_is_root->first) uid = 0;
            if (gid == opts.caller_is_root->second) gid = 0;
        }
        archive_entry_set_uid(e.get(), uid);
        archive_entry_set_gid(e.get(), gid);
        for (const auto& [name, value] : meta.xattrs)
            archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
        if (S_ISLNK(meta.mode)) archive_entry_copy_symlink(e.get(), meta.link_target.c_str());
        if (S_ISCHR(meta.mode) || S_ISBLK(meta.mode)) {
            archive_entry_set_rdevmajor(e.get(), major(meta.rdev));
            archive_entry_set_rdevminor(e.get(), minor(meta.rdev));
        }
        if (!S_ISREG(meta.mode)) {
            w.add(e.get());
            continue;
        }
        if (it.nlink > 1) {
            auto [pos, fresh] = first_name.try_emplace({it.dev, it.ino}, m.path);
            if (!fresh) {
                archive_entry_copy_hardlink(e.get(), pos->second.c_str());
                archive_entry_set_size(e.get(), 0);
                w.add(e.get());
                continue;
            }
        }
        Fd f;
        if (!it.lower_data.empty()) {
            f = open_lower_file(lowers, it.lower_data, "the data of " + it.path);
        } else {
            std::string from = it.source.empty() ? m.path : it.source.substr(1);
            f = must(sys::open_beneath(upper, from.c_str(), O_RDONLY | O_NOFOLLOW),
                     "reading " + it.path);
        }
        w.add(e.get(), f.get());
    }
}

}  // namespace layerfs::store
