#include "cli/store_commands.hpp"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/exit_status.hpp"
#include "cli/runtime_commands.hpp"
#include "cli/table.hpp"
#include "snapshotter/builtin_image.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/export.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/fsck.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/images.hpp"
#include "snapshotter/import.hpp"
#include "snapshotter/reference.hpp"

namespace layerfs::cli {
namespace {

using json = nlohmann::json;
using store::Store;

// Builds the built-in image first when `what` names it and the store lacks it.
void make_available(Store& s, const std::string& what) {
    if (!store::names_builtin(what)) return;
    {
        // Readers must not queue behind an import when the image is there.
        auto shared = s.lock(false);
        for (const auto& e : s.read_index())
            if (e.ref == store::kBuiltinRef) return;
    }
    auto lock = s.lock(true);
    store::ensure_builtin(s);
}

std::string created_ago(const std::string& created) {
    auto t = store::parse_rfc3339(created);
    if (!t) return "N/A";
    return store::human_duration(::time(nullptr) - *t) + " ago";
}

uint64_t image_size(const Store& s, const store::Image& img) {
    uint64_t size = 0;
    for (const auto& l : img.layers)
        size += s.layer_info(l.diff_id).content_size;
    return size;
}

std::pair<std::string, std::string> split_ref(const std::string& ref) {
    auto r = store::parse_reference(ref);
    if (!r) return {"<none>", "<none>"};
    return {r->name, r->tag};
}

void cmd_images(const GlobalOptions& g, bool quiet, bool no_trunc) {
    Store s = open_store(g);
    auto lock = s.lock(false);
    auto images = store::list_images(s);
    std::stable_sort(images.begin(), images.end(), [](auto& a, auto& b) {
        return store::parse_rfc3339(a.config.created).value_or(0) >
               store::parse_rfc3339(b.config.created).value_or(0);
    });
    std::vector<std::vector<std::string>> rows;
    if (!quiet) rows.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
    for (const auto& img : images) {
        std::string id = no_trunc ? store::digest_of_hex(img.id) : img.id.substr(0, 12);
        if (quiet) {
            rows.push_back({id});
            continue;
        }
        std::string created = created_ago(img.config.created);
        std::string size = store::human_size(image_size(s, img));
        auto refs = img.refs.empty() ? std::vector<std::string>{""} : img.refs;
        for (const auto& r : refs) {
            auto [repo, tag] = split_ref(r);
            rows.push_back({repo, tag, id, created, size});
        }
    }
    print_table(rows);
}

void cmd_import(const GlobalOptions& g, const std::string& source, const std::string& name) {
    Store s = open_store(g);
    auto lock = s.lock(true);
    store::Progress progress;
    for (const auto& img : store::import_source(s, source, name, progress))
        std::printf("%s\n", store::digest_of_hex(img.id).c_str());
}

void cmd_tag(const GlobalOptions& g, const std::string& source, const std::string& target) {
    auto ref = store::parse_reference(target);
    if (!ref) store::fail("invalid image name '" + target + "'");
    Store s = open_store(g);
    make_available(s, source);
    auto lock = s.lock(true);
    store::Image img = store::find_image(s, source);
    auto index = s.read_index();
    store::set_ref(index, img.manifest, ref->str());
    s.write_index(index);
}

void cmd_rmi(const GlobalOptions& g, const std::vector<std::string>& images, bool force) {
    Store s = open_store(g);
    auto lock = s.lock(true);
    for (const auto& what : images) {
        auto r = store::remove_image(s, what, force);
        for (const auto& u : r.untagged)
            std::printf("Untagged: %s\n", u.c_str());
        for (const auto& d : r.deleted)
            std::printf("Deleted: sha256:%s\n", d.c_str());
    }
}

void cmd_prune(const GlobalOptions& g) {
    Store s = open_store(g);
    auto lock = s.lock(true);
    auto c = store::collect_garbage(s, true);
    for (const auto& i : c.images)
        std::printf("Deleted image: sha256:%s\n", i.c_str());
    for (const auto& l : c.layers)
        std::printf("Deleted layer: sha256:%s\n", l.c_str());
    for (const auto& b : c.blobs)
        std::printf("Deleted blob: sha256:%s\n", b.c_str());
    std::printf("Total reclaimed space: %s\n", store::human_size(c.bytes).c_str());
}

void cmd_fsck(const GlobalOptions& g, bool repair) {
    Store s = open_store(g);
    // Not tidied when taken: fsck reports what killed commands left, then removes it.
    auto lock = s.lock(repair, false);
    auto r = store::check_store(s, repair);
    for (const auto& p : r.problems)
        std::printf("%s%s\n", p.what.c_str(),
                    p.repair.empty() ? "" : (" (repaired: " + p.repair + ")").c_str());
    std::printf("checked %zu blobs, %zu layers, %zu images, %zu containers: ", r.blobs, r.layers,
                r.images, r.containers);
    size_t damaged = r.count(false, false), litter = r.count(true, false);
    size_t repaired = r.count(false, true) + r.count(true, true);
    if (r.problems.empty())
        std::printf("no problems\n");
    else if (!damaged && !litter)
        std::printf("%zu repaired\n", repaired);
    else
        std::printf("%zu damaged, %zu left over or orphaned%s%s\n", damaged, litter,
                    repaired ? (", " + std::to_string(repaired) + " repaired").c_str() : "",
                    repair ? "" : " (--repair fixes what can be fixed)");
    // Litter is not damage: nothing reads it, and the next change to the store
    // or a prune takes it away.
    if (damaged) throw ExitStatus{1};
}

void cmd_inspect(const GlobalOptions& g, const std::vector<std::string>& images) {
    Store s = open_store(g);
    for (const auto& what : images)
        make_available(s, what);
    auto lock = s.lock(false);
    json out = json::array();
    for (const auto& what : images) {
        // Containers first, as docker inspect looks them up.
        try {
            out.push_back(inspect_container(s, store::find_container(s, what)));
            continue;
        } catch (const store::Failure&) {
        }
        store::Image img = store::find_image(s, what);
        json config = json::parse(img.config_json);
        json layers = json::array(), lower;
        std::string lowerdirs;
        for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it)
            lowerdirs += (lowerdirs.empty() ? "" : ":") + s.layer_dir(it->diff_id);
        for (const auto& l : img.layers)
            layers.push_back(store::digest_of_hex(l.diff_id));
        out.push_back(
            {{"Id", store::digest_of_hex(img.id)},
             {"RepoTags", img.refs},
             // Parsed, not read from the JSON: a config may give these as null.
             {"Created", img.config.created},
             {"Author", img.config.author},
             {"Architecture", img.config.architecture},
             {"Os", img.config.os},
             {"Config", config.contains("config") && config["config"].is_object() ? config["config"]
                                                                                  : json::object()},
             {"RootFS", {{"Type", "layers"}, {"Layers", layers}}},
             {"Size", image_size(s, img)},
             {"Manifest",
              {{"mediaType", img.manifest.media_type},
               {"digest", store::digest_of_hex(img.manifest.hex)},
               {"size", img.manifest.size}}},
             {"GraphDriver", {{"Name", "layerfs"}, {"Data", {{"LowerDir", lowerdirs}}}}}});
    }
    std::printf("%s\n", out.dump(4).c_str());
}

void cmd_history(const GlobalOptions& g, const std::string& what, bool no_trunc) {
    Store s = open_store(g);
    make_available(s, what);
    auto lock = s.lock(false);
    store::Image img = store::find_image(s, what);
    std::vector<std::vector<std::string>> rows{
        {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}};
    size_t layer = 0;
    std::vector<std::vector<std::string>> entries;
    for (const auto& h : img.config.history) {
        uint64_t size = 0;
        if (!h.empty_layer && layer < img.layers.size())
            size = s.layer_info(img.layers[layer++].diff_id).content_size;
        std::string by = h.created_by;
        if (!no_trunc && by.size() > 45) by = by.substr(0, 42) + "...";
        entries.push_back(
            {"<missing>", created_ago(h.created), by, store::human_size(size), h.comment});
    }
    std::reverse(entries.begin(), entries.end());
    if (!entries.empty())
        entries.front()[0] = no_trunc ? store::digest_of_hex(img.id) : img.id.substr(0, 12);
    rows.insert(rows.end(), entries.begin(), entries.end());
    print_table(rows);
}

void cmd_export(const GlobalOptions& g, const std::string& what, const std::string& dest) {
    Store s = open_store(g);
    make_available(s, what);
    auto lock = s.lock(false);
    store::Image img = store::find_image(s, what);
    std::string ref;
    if (auto r = store::parse_reference(what);
        r && std::count(img.refs.begin(), img.refs.end(), r->str()))
        ref = r->str();
    else if (!img.refs.empty())
        ref = img.refs.front();
    store::Progress progress;
    store::export_image(s, img, ref, dest, progress);
}

}  // namespace

void add_store_commands(CLI::App& app, const GlobalOptions& g) {
    // A command's parsed arguments, kept alive by its callback (run inside parse()).
    struct Args {
        std::string a, b;
        std::vector<std::string> list;
        bool flag = false, flag2 = false;
    };
    auto args = [] { return std::make_shared<Args>(); };

    auto a = args();
    auto* c = app.add_subcommand(
        "import",
        "import an OCI layout (DIR[:TAG]), oci-archive, docker save tar, rootfs tar or directory");
    c->add_option("SOURCE", a->a, "what to import")->required();
    c->add_option("NAME", a->b, "name:tag for the image");
    c->callback([&g, a] { cmd_import(g, a->a, a->b); });

    a = args();
    c = app.add_subcommand("images", "list images");
    c->add_flag("-q,--quiet", a->flag, "only image ids");
    c->add_flag("--no-trunc", a->flag2, "full image ids");
    c->callback([&g, a] { cmd_images(g, a->flag, a->flag2); });

    a = args();
    c = app.add_subcommand("tag", "give an image another name");
    c->add_option("SOURCE", a->a, "image name or id")->required();
    c->add_option("TARGET", a->b, "new name:tag")->required();
    c->callback([&g, a] { cmd_tag(g, a->a, a->b); });

    a = args();
    c = app.add_subcommand(
        "rmi", "remove images (a name removes that name; the image goes with its last name)");
    c->add_option("IMAGE", a->list, "image names or ids")->required();
    c->add_flag("-f,--force", a->flag,
                "also images that containers use or that have several names");
    c->callback([&g, a] { cmd_rmi(g, a->list, a->flag); });

    c = app.add_subcommand("prune", "remove untagged images and unreferenced blobs and layers");
    c->callback([&g] { cmd_prune(g); });

    a = args();
    c = app.add_subcommand("fsck", "verify the store: blobs, layers, images, containers");
    c->add_flag("--repair", a->flag,
                "remove leftovers and orphans, unpack damaged layers again from their blobs");
    c->callback([&g, a] { cmd_fsck(g, a->flag); });

    a = args();
    c = app.add_subcommand("inspect", "show containers and images as JSON");
    c->add_option("NAME", a->list, "container or image names or ids")->required();
    c->callback([&g, a] { cmd_inspect(g, a->list); });

    a = args();
    c = app.add_subcommand("history", "show the history of an image");
    c->add_option("IMAGE", a->a, "image name or id")->required();
    c->add_flag("--no-trunc", a->flag, "do not truncate");
    c->callback([&g, a] { cmd_history(g, a->a, a->flag); });

    a = args();
    c = app.add_subcommand(
        "export", "write an image as an OCI image layout (an oci-archive when DEST ends in .tar)");
    c->add_option("IMAGE", a->a, "image name or id")->required();
    c->add_option("DEST", a->b, "directory or .tar to create")->required();
    c->callback([&g, a] { cmd_export(g, a->a, a->b); });
}

}  // namespace layerfs::cli
