#include "cli/container_commands.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/host_mount.hpp"
#include "cli/runtime_commands.hpp"
#include "fs/daemon/session.hpp"
#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/options.hpp"
#include "snapshotter/builtin_image.hpp"
#include "snapshotter/change_kind.hpp"
#include "snapshotter/changes.hpp"
#include "snapshotter/commit.hpp"
#include "snapshotter/containers.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/reference.hpp"

extern char** environ;

namespace layerfs::cli {
namespace {

using store::fail;
using store::must;
using store::Store;

// Starts the container's FUSE daemon and returns once its mount is live. The
// daemon must not inherit the store's lock (it would hold it for its life), so
// the child drops every descriptor but stdio before it mounts.
void mount(Store& s, const store::ContainerRecord& c) {
    MountConfig cfg = store::container_mount(s, c);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::close_range(3, ~0U, 0);
        ::_exit(run_mount(cfg));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("container " + c.name + ": mounting its root failed");
}

void cmd_create(const GlobalOptions& g, const std::string& image, const std::string& name) {
    Store s = open_store(g);
    auto lock = s.lock(true);
    if (store::names_builtin(image)) store::ensure_builtin(s);
    auto c = store::create_container(s, store::find_image(s, image), name);
    std::printf("%s\n", c.id.c_str());
}

void cmd_umount(const GlobalOptions& g, const std::vector<std::string>& what) {
    Store s = open_store(g);
    auto lock = s.lock(false);
    for_each_named(what, [&](const std::string& w) {
        auto c = store::find_container(s, w);
        std::string merged = store::container_dir(s, c) + "/merged";
        if (is_mounted(merged)) unmount(merged);
        std::printf("%s\n", c.id.c_str());
    });
}

void cmd_rm(const GlobalOptions& g, const std::vector<std::string>& what, bool force) {
    Store s = open_store(g);
    auto lock = s.lock(true);
    for_each_named(what, [&](const std::string& w) {
        auto c = store::find_container(s, w);
        if (force)
            kill_and_wait(s, c);
        else
            require_stopped(s, c);
        std::string merged = store::container_dir(s, c) + "/merged";
        if (is_mounted(merged)) {
            if (!force) fail("container " + c.name + " is mounted: umount it first, or use -f");
            unmount(merged);
        }
        store::remove_container(s, c);
        std::printf("%s\n", w.c_str());
    });
}

struct DiffArgs {
    std::string container, lower, upper, format = "text";
    bool docker = false;
};

void print_changes(const std::vector<store::Change>& changes, const std::string& format) {
    if (format == "json") {
        // Docker's API form (GET /containers/{id}/changes), so tools can share a parser.
        auto out = nlohmann::json::array();
        for (const auto& c : changes)
            out.push_back({{"Path", c.path}, {"Kind", store::change_api_kind(c.kind)}});
        // Names are bytes; JSON wants UTF-8: a byte that is not becomes U+FFFD, as
        // docker's encoder writes it.
        std::printf("%s\n",
                    out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return;
    }
    for (const auto& c : changes)
        std::printf("%c %s\n", store::change_letter(c.kind), c.path.c_str());
}

std::vector<store::ChangeItem> diff_dirs(const std::string& upper_path,
                                         const std::vector<std::string>& lower_paths,
                                         const store::DiffOptions& opts) {
    Fd upper = must(open_dir(AT_FDCWD, upper_path.c_str()), "--upper " + upper_path);
    std::vector<Fd> owned;
    std::vector<int> lowers;
    for (const auto& l : lower_paths) {
        owned.push_back(must(open_dir(AT_FDCWD, l.c_str()), "--lower " + l));
        lowers.push_back(owned.back().get());
    }
    return store::collect_changes(upper.get(), lowers, opts);
}

void cmd_diff(const GlobalOptions& g, const DiffArgs& a) {
    store::DiffOptions opts;
    opts.docker = a.docker;
    const bool dirs = !a.lower.empty() || !a.upper.empty();
    if (dirs && (a.lower.empty() || a.upper.empty())) fail("diff: --lower and --upper go together");
    if (dirs && !a.container.empty())
        fail("diff: give a CONTAINER, or --lower and --upper, not both");
    if (!dirs && a.container.empty()) fail("diff: give a CONTAINER, or --lower and --upper");
    if (dirs)
        return print_changes(
            store::reported_changes(diff_dirs(a.upper, split_lowerdirs(a.lower), opts)), a.format);
    Store s = open_store(g);
    auto lock = s.lock(false);
    auto c = store::find_container(s, a.container);
    MountConfig stack = store::container_mount(s, c);
    print_changes(
        store::reported_changes(diff_dirs(stack.upperdir, store::container_layers(s, c), opts)),
        a.format);
}

struct CommitArgs {
    std::string container, ref;
    store::CommitOptions opts;
    bool reproducible = false;
};

void cmd_commit(const GlobalOptions& g, CommitArgs a) {
    if (!a.ref.empty()) {
        auto r = store::parse_reference(a.ref);
        if (!r) fail("commit: invalid image name '" + a.ref + "'");
        a.opts.refs.push_back(r->str());
    }
    if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) {
        int64_t t;
        if (!store::parse_epoch(e, t))
            fail("SOURCE_DATE_EPOCH='" + std::string(e) + "' is not a number of seconds");
        a.opts.epoch = t;
    } else if (a.reproducible) {
        a.opts.epoch = 0;
    }
    Store s = open_store(g);
    auto lock = s.lock(true);
    auto c = store::find_container(s, a.container);
    auto r = store::commit_container(s, c, a.opts);
    spdlog::debug("diff_id sha256:{}", r.diff_id);
    spdlog::debug("chain id sha256:{}", r.chain_id);
    std::printf("%s\n", store::digest_of_hex(r.image_id).c_str());
}

}  // namespace

bool is_container_mount(const std::vector<std::string>& args) {
    // A mount point alone (a path) is a fuse-overlayfs command line missing its -o.
    return args.size() == 1 &&
           (store::valid_container_name(args[0]) || store::is_sha256_hex(args[0]));
}

int mount_container_main(const GlobalOptions& g, const std::string& what) {
    try {
        Store s = open_store(g);
        std::string merged;
        {
            auto lock = s.lock(false);
            auto c = store::find_container(s, what);
            merged = store::container_dir(s, c) + "/merged";
            // A running container's daemon owns its upper dir; a second one
            // on it would corrupt it.
            require_stopped(s, c);
            if (!is_mounted(merged)) mount(s, c);
        }
        std::printf("%s\n", merged.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "layerfs: %s\n", e.what());
        return 1;
    }
}

void add_container_commands(CLI::App& app, const GlobalOptions& g) {
    auto* c = app.add_subcommand("create", "create a container (its layers, not yet mounted)");
    auto create = std::make_shared<std::pair<std::string, std::string>>();
    c->add_option("--name", create->second, "a name for the container");
    c->add_option("IMAGE", create->first, "image name or id")->required();
    c->callback([&g, create] { cmd_create(g, create->first, create->second); });

    auto names = std::make_shared<std::vector<std::string>>();
    c = app.add_subcommand("umount", "unmount containers' roots");
    c->alias("unmount");
    c->add_option("CONTAINER", *names, "container names or ids")->required();
    c->callback([&g, names] { cmd_umount(g, *names); });

    auto rm = std::make_shared<std::pair<std::vector<std::string>, bool>>();
    c = app.add_subcommand("rm", "remove containers");
    c->add_option("CONTAINER", rm->first, "container names or ids")->required();
    c->add_flag("-f,--force", rm->second, "kill a running container, unmount a mounted one");
    c->callback([&g, rm] { cmd_rm(g, rm->first, rm->second); });

    auto d = std::make_shared<DiffArgs>();
    c = app.add_subcommand("diff", "list a container's changes: A added, C changed, D deleted");
    c->add_option("CONTAINER", d->container, "container name or id");
    c->add_option("--lower", d->lower, "lower dirs TOP:...:BOTTOM (with --upper, no container)");
    c->add_option("--upper", d->upper,
                  "an overlay upper dir (layerfs, kernel overlayfs, fuse-overlayfs)");
    c->add_flag("--docker", d->docker, "docker's rule: every copied-up entry is changed");
    c->add_option("--format", d->format, "text or json (docker's API form)")
        ->check(CLI::IsMember({"text", "json"}));
    c->callback([&g, d] { cmd_diff(g, *d); });

    auto m = std::make_shared<CommitArgs>();
    c = app.add_subcommand("commit", "make a new image from a container's changes");
    c->add_option("CONTAINER", m->container, "container name or id")->required();
    c->add_option("NAME", m->ref, "name:tag for the new image");
    c->add_option("-m,--message", m->opts.message, "commit message");
    c->add_option("-a,--author", m->opts.author, "author");
    c->add_option(
         "-c,--change", m->opts.changes,
         "Dockerfile instruction: CMD ENTRYPOINT ENV EXPOSE LABEL STOPSIGNAL USER VOLUME WORKDIR")
        ->allow_extra_args(false);
    c->add_flag("--reproducible", m->reproducible,
                "times clamped to $SOURCE_DATE_EPOCH (else 0): same change, same digest");
    c->callback([&g, m] { cmd_commit(g, *m); });
}

}  // namespace layerfs::cli
