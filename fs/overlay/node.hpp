#pragma once
// One file as the mount shows it, and the table that hands nodes to the kernel.
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/overlay/lower_index.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs {

// Layer numbers: 0 is the upper layer, 1..N the lower layers, top first.
struct LayerFd {
    int layer;
    Fd fd;
};

struct Node : std::enable_shared_from_this<Node> {
    uint64_t st_ino = 0;  // what stat shows; survives copy-up
    mode_t type = 0;      // S_IFMT bits

    // Set once by copy-up or creation, closed only with the node, so readers need no lock.
    std::atomic<int> upper{-1};
    Fd upper_owner;
    Fd lower;             // non-directories: the topmost lower entry (O_PATH); never changes
    int lower_layer = 0;  // the layer `lower` is in
    // When `lower` is itself a metadata-only copy (an upper that became a lower
    // layer): the file deeper down that holds its data, or the errno of its
    // absence. OverlayFs::lower_data_fd finds it at the first open or copy-up:
    // at lookup it would cost every stat a syscall, for files that are rare in
    // lower layers.
    std::once_flag lower_data_once;
    Fd lower_data;
    int lower_data_err = 0;
    // The upper copy holds metadata only and the data is still `lower`'s, until
    // the first data write copies it in. Set before `upper`, cleared after the data.
    std::atomic<bool> metacopy{false};

    // Guarded by OverlayFs's namespace lock.
    std::vector<LayerFd> lower_dirs;  // directories: the lower dirs that merge, top first
    // What lower_dirs show, once the directory was listed; changes with them.
    std::atomic<std::shared_ptr<const LowerIndex>> lower_index;
    std::atomic<bool> unlinked{false};
    std::atomic<bool> merged{false};  // a directory shown from more than one layer

    // Where the node lives, for copy-up and whiteouts. Guarded by loc_mutex.
    std::mutex loc_mutex;
    std::shared_ptr<Node> parent;
    std::string name;
    std::vector<std::pair<std::weak_ptr<Node>, std::string>> aliases;  // other names seen

    std::mutex copy_mutex;  // one copy-up at a time per node
    uint64_t nlookup = 0;   // guarded by the table's mutex
    std::vector<std::pair<dev_t, ino_t>> keys;

    bool is_dir() const { return S_ISDIR(type); }
    int top_fd() const {
        int u = upper.load(std::memory_order_acquire);
        if (u >= 0) return u;
        if (is_dir()) return lower_dirs.empty() ? -1 : lower_dirs.front().fd.get();
        return lower.get();
    }
    bool has_upper() const { return upper.load(std::memory_order_acquire) >= 0; }
    bool has_upper_data() const { return has_upper() && !metacopy.load(std::memory_order_acquire); }
    // The directory no longer merges with lower layers (it moved, or was replaced).
    void drop_lower_dirs() {
        lower_dirs.clear();
        lower_index.store(nullptr);
        merged = false;
    }
    void set_upper(Fd fd) {
        upper.store(fd.get(), std::memory_order_release);
        upper_owner = std::move(fd);
    }
    std::pair<std::shared_ptr<Node>, std::string> location() {
        std::lock_guard g(loc_mutex);
        return {parent, name};
    }
    void add_alias(Node* p, const std::string& n) {
        std::lock_guard g(loc_mutex);
        if (parent.get() == p && name == n) return;
        for (auto& [ap, an] : aliases)
            if (ap.lock().get() == p && an == n) return;
        aliases.emplace_back(p->weak_from_this(), n);
    }
    void move_to(std::shared_ptr<Node> p, std::string n) {
        std::lock_guard g(loc_mutex);
        parent = std::move(p);
        name = std::move(n);
    }
};

// Nodes by FUSE node id (the Node's address) and by backing (st_dev, st_ino), so
// hard links and repeated lookups share one node. A node the kernel forgot can
// live on as the parent of one it still holds: its keys stay, so a new lookup of
// it finds that same node again and there is never a second, stale copy of it.
class NodeTable {
  public:
    using Key = std::pair<dev_t, ino_t>;

    // Returns the node for key with nlookup incremented, creating it with make()
    // (called under the table lock, so it must not block) when there is none.
    template <class Make>
    std::shared_ptr<Node> acquire(Key key, Make&& make) {
        bool grew = false;
        std::shared_ptr<Node> n;
        {
            std::lock_guard g(m_);
            if (auto it = by_key_.find(key); it != by_key_.end()) n = it->second.lock();
            if (!n) {
                n = make();
                n->keys.push_back(key);
                by_key_[key] = n;
            }
            if (n->nlookup++ == 0) {
                live_[n.get()] = n;
                grew = ++grown_ % kGrowthStep == 0;
            }
        }
        if (grew && on_growth_) on_growth_();
        return n;
    }
    // Called (outside the table's lock) each time kGrowthStep more nodes became
    // live; set before the table is used.
    static constexpr size_t kGrowthStep = 64;
    void on_growth(std::function<void()> f) { on_growth_ = std::move(f); }
    // Another backing identity of a node (its upper copy after copy-up).
    void add_key(Node* n, Key key) {
        std::lock_guard g(m_);
        auto& slot = by_key_[key];
        if (slot.expired()) {
            slot = n->weak_from_this();
            n->keys.push_back(key);
        }
    }
    void forget(Node* n, uint64_t count) {
        std::shared_ptr<Node> doomed;  // released after the lock
        std::lock_guard g(m_);
        auto it = live_.find(n);
        if (it == live_.end()) return;
        n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
        if (n->nlookup) return;
        doomed = std::move(it->second);
        live_.erase(it);
        // Keys of dead nodes are swept now and then, at amortised O(1) per forget.
        if (++forgets_ > by_key_.size() / 2 + 64) {
            forgets_ = 0;
            for (auto k = by_key_.begin(); k != by_key_.end();)
                k = k->second.expired() ? by_key_.erase(k) : std::next(k);
        }
    }
    // The node's name is gone: later lookups of its backing file get a new node.
    void drop_keys(Node* n) {
        std::lock_guard g(m_);
        for (auto& k : n->keys)
            if (auto kit = by_key_.find(k); kit != by_key_.end() && kit->second.lock().get() == n)
                by_key_.erase(kit);
        n->keys.clear();
    }
    std::shared_ptr<Node> find(Key key) {
        std::lock_guard g(m_);
        auto it = by_key_.find(key);
        return it == by_key_.end() ? nullptr : it->second.lock();
    }
    // Up to `max` of the nodes the kernel holds, those that are not directories
    // first (dropping them frees the most fds and no subtree goes with them).
    std::vector<std::shared_ptr<Node>> live(size_t max) {
        std::lock_guard g(m_);
        std::vector<std::shared_ptr<Node>> out;
        for (bool dirs : {false, true})
            for (auto& [p, n] : live_) {
                if (out.size() >= max) return out;
                if (n->is_dir() == dirs) out.push_back(n);
            }
        return out;
    }
    size_t live_count() {
        std::lock_guard g(m_);
        return live_.size();
    }
    // Every node still alive, for the rare walks over all of them.
    std::vector<std::shared_ptr<Node>> all() {
        std::lock_guard g(m_);
        std::vector<std::shared_ptr<Node>> out;
        for (auto& [k, w] : by_key_)
            if (auto n = w.lock()) out.push_back(std::move(n));
        return out;
    }

  private:
    struct KeyHash {
        size_t operator()(const Key& k) const {
            return std::hash<uint64_t>()(k.second * 31 + k.first);
        }
    };
    std::mutex m_;
    std::unordered_map<Key, std::weak_ptr<Node>, KeyHash> by_key_;
    std::unordered_map<Node*, std::shared_ptr<Node>> live_;  // what the kernel holds
    size_t forgets_ = 0;
    size_t grown_ = 0;
    std::function<void()> on_growth_;
};

}  // namespace layerfs
