#include "snapshotter/commit.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <exception>
#include <nlohmann/json.hpp>
#include <thread>

#include "fs/overlay/layer_probe.hpp"
#include "snapshotter/changes.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/image_config.hpp"
#include "snapshotter/layer_tar.hpp"

namespace layerfs::store {
namespace {

Image parent_image(const Store& s, const ContainerRecord& c) {
    for (auto& img : list_images(s)) {
        if (img.id != c.image) continue;
        std::vector<std::string> ids;
        for (const auto& l : img.layers)
            ids.push_back(l.diff_id);
        if (ids != c.layers)
            fail("container " + c.name + ": its layers are not those of image sha256:" + c.image);
        return img;
    }
    fail("container " + c.name + ": its image sha256:" + c.image.substr(0, 12) +
         " was removed (rmi -f), and a commit needs the image's manifest to refer to its layers");
}

// Writes the layer tar into `out` on a thread of its own, so that the
// unpacker can read it from the other end of a pipe as it is produced.
class TarProducer {
  public:
    TarProducer(int upper, const std::vector<int>& lowers, const std::vector<ChangeItem>& items,
                const LayerTarOptions& opts, Fd out)
        : thread_([this, upper, &lowers, &items, opts, out = std::move(out)]() mutable {
              // A reader that gave up must show as EPIPE here, not kill the process.
              sigset_t pipe;
              sigemptyset(&pipe);
              sigaddset(&pipe, SIGPIPE);
              pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
              try {
                  TarWriter w(out.get());
                  write_layer_tar(upper, lowers, items, w, opts);
                  w.finish();
              } catch (...) {
                  // Once the reader has failed, a broken pipe here says nothing new.
                  if (!reader_gone_) error_ = std::current_exception();
              }
              out.reset();
          }) {}
    void reader_failed() { reader_gone_ = true; }
    // Waits for the writer; rethrows its failure, which explains a broken tar
    // better than the reader can.
    void join() {
        thread_.join();
        if (error_) std::rethrow_exception(error_);
    }
    ~TarProducer() {
        if (thread_.joinable()) thread_.join();
    }

  private:
    std::atomic<bool> reader_gone_{false};
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace

CommitResult commit_container(Store& s, const ContainerRecord& c, const CommitOptions& o) {
    check_changes(o.changes);
    Image parent = parent_image(s, c);
    // The upper dir against the image's layers (not the init layer).
    MountConfig stack = container_mount(s, c);
    Fd upper = must(open_dir(AT_FDCWD, stack.upperdir.c_str()), "container " + c.name);
    std::vector<Fd> lower_fds;
    std::vector<int> lowers;
    for (const auto& l : container_layers(s, c)) {
        lower_fds.push_back(must(open_dir(AT_FDCWD, l.c_str()), "container " + c.name));
        lowers.push_back(lower_fds.back().get());
    }
    auto items = collect_changes(upper.get(), lowers);

    LayerTarOptions tar_opts;
    tar_opts.clamp_mtime = o.epoch;
    const Identity& who = s.identity();
    if (!who.privileged) tar_opts.caller_is_root = {who.uid, who.gid};

    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) < 0) fail("commit: pipe: " + std::string(std::strerror(errno)));
    Fd in(ends[0]), out(ends[1]);
    (void)::fcntl(ends[1], F_SETPIPE_SZ, 1 << 20);  // fewer wakeups; the default is fine too

    Transaction txn(s);
    std::string diff_id;
    {
        TarProducer producer(upper.get(), lowers, items, tar_opts, std::move(out));
        try {
            diff_id = txn.add_layer_from_tar(in.get());
        } catch (...) {
            producer.reader_failed();
            in.reset();  // unblocks the writer
            producer.join();
            throw;
        }
        in.reset();
        producer.join();
    }

    CommitSpec spec;
    spec.diff_id = diff_id;
    spec.created = format_rfc3339(o.epoch ? *o.epoch : int64_t(std::time(nullptr)));
    spec.author = o.author;
    spec.message = o.message;
    // Docker's: the container's command, when it has one.
    spec.created_by = "layerfs commit";
    if (auto config = nlohmann::json::parse(c.config, nullptr, false);
        config.is_object() && config.contains("Args") && config["Args"].is_array()) {
        std::string cmd;
        for (const auto& a : config["Args"])
            if (a.is_string()) cmd += (cmd.empty() ? "" : " ") + a.get<std::string>();
        if (!cmd.empty()) spec.created_by = cmd;
    }
    spec.changes = o.changes;
    std::string config = derive_config(parent.config_json, spec);

    std::vector<LayerRef> layers = parent.layers;
    layers.push_back({diff_id, kOciLayer, txn.blob_size(diff_id), diff_id});
    commit_image(txn, config, layers, o.refs);

    CommitResult r;
    r.image_id = sha256_hex(config);
    r.diff_id = diff_id;
    std::vector<std::string> ids = c.layers;
    ids.push_back(diff_id);
    r.chain_id = chain_id_hex(ids);
    return r;
}

}  // namespace layerfs::store
