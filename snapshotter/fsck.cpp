#include "snapshotter/fsck.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "fs/sys/sys.hpp"
#include "snapshotter/containers.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/images.hpp"
#include "snapshotter/layer_files.hpp"

namespace layerfs::store {
namespace {

// Damaged files listed per layer; the rest are counted.
constexpr size_t kShownDifferences = 10;

class Checker {
  public:
    Checker(Store& s, bool repair) : s_(s), repair_(repair) {}

    FsckReport run() {
        leftovers();
        images();
        containers();
        layers();
        blobs();
        return std::move(report_);
    }

  private:
    using Fix = std::function<std::string()>;

    // Records a problem; with repair, `fix` runs and says what it did.
    void problem(std::string what, const Fix& fix = {}) {
        record({std::move(what), "", false}, fix);
    }
    void litter(std::string what, const Fix& fix) { record({std::move(what), "", true}, fix); }

    void record(FsckProblem p, const Fix& fix) {
        if (repair_ && fix) {
            try {
                p.repair = fix();
            } catch (const Failure& e) {
                p.what += " (repair failed: " + std::string(e.what()) + ")";
            }
        }
        report_.problems.push_back(std::move(p));
    }

    Fd dir(const char* path) {
        return must(sys::open_at(s_.fd(), path, O_RDONLY | O_DIRECTORY),
                    std::string("opening ") + path);
    }

    std::vector<std::string> names(const char* path) {
        std::vector<std::string> out;
        Fd d = dir(path);
        for (auto& e : must(sys::read_dir(d.get()), std::string("listing ") + path))
            out.push_back(e.name);
        std::sort(out.begin(), out.end());
        return out;
    }

    Fix remove_at(const char* parent, const std::string& name) {
        return [this, parent, name] {
            Fd d = dir(parent);
            remove_tree(d.get(), name);
            return std::string("removed");
        };
    }

    // What a killed command left: staging in tmp/, and index.json or oci-layout
    // temps in the root. (Another reader's identity probe in tmp/ is not one.)
    void leftovers() {
        for (const auto& n : names("tmp"))
            if (!n.starts_with("probe-"))
                litter("tmp/" + n + " was left by an interrupted command", remove_at("tmp", n));
        for (const auto& n : names("."))
            if (is_atomic_write_temp(n))
                litter(n + " was left by an interrupted command", remove_at(".", n));
    }

    void images() {
        std::vector<IndexEntry> index;
        try {
            index = s_.read_index();
        } catch (const Failure& e) {
            problem(std::string("index.json: ") + e.what());
            refs_complete_ = false;
            return;
        }
        std::map<std::string, std::vector<std::string>> refs;  // manifest -> names
        for (const auto& e : index)
            refs[e.manifest_hex].push_back(e.ref.empty() ? "<none>" : e.ref);
        std::set<std::string> done;
        bool broken = false;
        for (const auto& e : index) {
            if (!done.insert(e.manifest_hex).second) continue;
            report_.images++;
            std::string what = "image " + join(refs[e.manifest_hex]) +
                               " (manifest sha256:" + e.manifest_hex.substr(0, 12) + ")";
            Image img;
            try {
                img = load_image(s_, e);
            } catch (const Failure& err) {
                broken = true;
                problem(what + ": " + err.what(), [&] {
                    auto kept = s_.read_index();
                    std::erase_if(kept, [&](const IndexEntry& k) {
                        return k.manifest_hex == e.manifest_hex;
                    });
                    s_.write_index(kept);
                    return std::string("removed from the index: import it again");
                });
                continue;
            }
            blob_refs_.insert(e.manifest_hex);
            blob_refs_.insert(img.id);
            for (const auto& l : img.layers) {
                blob_refs_.insert(l.blob_hex);
                layer_refs_.insert(l.diff_id);
                if (!s_.has_blob(l.blob_hex))
                    problem(what + ": layer blob sha256:" + l.blob_hex +
                            " is missing (it still runs; "
                            "export needs it: import the image again)");
                else
                    layer_blob_.try_emplace(l.diff_id, l.blob_hex);
            }
        }
        // An image left in the index unread hides which blobs and layers it needs.
        if (broken && !repair_) refs_complete_ = false;
    }

    void containers() {
        Fd cdir = dir("containers");
        for (const auto& n : names("containers")) {
            if (!is_sha256_hex(n) || !sys::stat_at(cdir.get(), (n + "/state.json").c_str())) {
                // It may hold someone's files: report, never remove.
                problem("containers/" + n +
                        " is not a container (no state.json): remove it by "
                        "hand if nothing in it is needed");
            }
        }
        std::vector<ContainerRecord> all;
        try {
            all = list_containers(s_);
        } catch (const Failure& e) {
            problem(e.what());
            refs_complete_ = false;
            return;
        }
        for (const auto& c : all) {
            report_.containers++;
            std::string what = "container " + c.name;
            blob_refs_.insert(c.image);
            layer_refs_.insert(c.layers.begin(), c.layers.end());
            if (!c.image.empty() && !s_.has_blob(c.image))
                problem(what + ": its image config sha256:" + c.image.substr(0, 12) +
                        " is missing");
            for (const char* d : {"upper", "work"})
                if (!sys::stat_at(cdir.get(), (c.id + "/" + d).c_str()))
                    problem(what + ": its " + d + " dir is missing");
        }
    }

    // Unpacks `diff_id` again from the blob an image names for it.
    Fix restore(const std::string& diff_id) {
        return [this, diff_id] {
            auto b = layer_blob_.find(diff_id);
            if (b == layer_blob_.end()) fail("no blob in the store holds this layer");
            if (s_.has_layer(diff_id)) s_.remove_layer(diff_id);
            Transaction txn(s_);
            txn.add_layer(b->second, diff_id);
            txn.commit();
            txn.seal();
            return "unpacked again from blob sha256:" + b->second.substr(0, 12);
        };
    }

    void layers() {
        std::set<std::string> on_disk;
        Fd ldir = dir("layers");
        for (const auto& n : names("layers")) {
            report_.layers++;
            if (!is_sha256_hex(n)) {
                litter("layers/" + n + " is not a layer", remove_at("layers", n));
                continue;
            }
            on_disk.insert(n);
            std::string what = "layer sha256:" + n.substr(0, 12);
            if (!layer_refs_.count(n)) {
                if (refs_complete_)
                    litter(what + " is an orphan: no image or container uses it (" +
                               human_size(s_.layer_info(n).content_size) + ")",
                           remove_at("layers", n));
                continue;
            }
            auto diff = sys::open_at(ldir.get(), (n + "/diff").c_str(), O_RDONLY | O_DIRECTORY);
            if (!diff) {
                problem(what + ": diff/ is missing", restore(n));
                continue;
            }
            std::vector<FileRecord> want;
            try {
                want = s_.layer_files(n);
            } catch (const Failure& e) {
                problem(what + ": its file index: " + e.what(), restore(n));
                continue;
            }
            auto diffs = compare_layer_files(want, scan_layer_files(diff->get()));
            if (diffs.empty()) continue;
            std::string line =
                what + ": " + std::to_string(diffs.size()) + " differences from its file index: ";
            for (size_t i = 0; i < std::min(diffs.size(), kShownDifferences); i++)
                line += (i ? "; " : "") + diffs[i];
            if (diffs.size() > kShownDifferences)
                line += "; and " + std::to_string(diffs.size() - kShownDifferences) + " more";
            problem(line, restore(n));
        }
        for (const auto& id : layer_refs_)
            if (!on_disk.count(id))
                problem("layer sha256:" + id.substr(0, 12) + " is missing", restore(id));
    }

    void blobs() {
        for (const auto& n : names("blobs/sha256")) {
            report_.blobs++;
            if (!is_sha256_hex(n)) {
                litter("blobs/sha256/" + n + " is not a blob", remove_at("blobs/sha256", n));
                continue;
            }
            std::string what = "blob sha256:" + n.substr(0, 12);
            if (!blob_refs_.count(n)) {
                if (refs_complete_)
                    litter(what + " is an orphan: nothing uses it (" + human_size(s_.blob_size(n)) +
                               ")",
                           remove_at("blobs/sha256", n));
                continue;
            }
            Fd f = s_.open_blob(n);
            Sha256 sha;
            std::vector<char> buf(1 << 20);
            for (size_t k;
                 (k = must(sys::read_some(f.get(), buf.data(), buf.size()), "reading " + what));)
                sha.update(buf.data(), k);
            if (std::string got = sha.hex(); got != n)
                problem(what + " is corrupt: its content has digest sha256:" + got.substr(0, 12) +
                        " (import the images that use it again)");
        }
    }

    static std::string join(const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v)
            out += (out.empty() ? "" : ", ") + x;
        return out;
    }

    Store& s_;
    bool repair_;
    FsckReport report_;
    bool refs_complete_ = true;  // whether every reference was read: orphans are only judged then
    std::set<std::string> blob_refs_, layer_refs_;
    std::map<std::string, std::string> layer_blob_;  // diff_id -> a blob that holds it
};

}  // namespace

size_t FsckReport::count(bool litter, bool repaired) const {
    return static_cast<size_t>(std::count_if(
        problems.begin(), problems.end(),
        [&](const FsckProblem& p) { return p.litter == litter && p.repair.empty() != repaired; }));
}

FsckReport check_store(Store& s, bool repair) {
    return Checker(s, repair).run();
}

}  // namespace layerfs::store
