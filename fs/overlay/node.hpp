#pragma once
// One file as the mount shows it, and the table that hands nodes to the kernel.
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

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
    Fd lower;  // non-directories: the topmost lower entry (O_PATH); never changes

    // Guarded by OverlayFs's namespace lock.
    std::vector<LayerFd> lower_dirs;  // directories: the lower dirs that merge, top first
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

// Nodes the kernel holds, found by FUSE node id (the Node's address) and by the
// backing (st_dev, st_ino) so hard links and repeated lookups share one node.
class NodeTable {
  public:
    using Key = std::pair<dev_t, ino_t>;

    // Returns the node for key with nlookup incremented, creating it with make()
    // (called under the table lock, so it must not block) when there is none.
    template <class Make>
    std::shared_ptr<Node> acquire(Key key, Make&& make) {
        std::lock_guard g(m_);
        if (auto it = by_key_.find(key); it != by_key_.end()) {
            auto& n = live_.at(it->second);
            ++n->nlookup;
            return n;
        }
        std::shared_ptr<Node> n = make();
        n->keys.push_back(key);
        n->nlookup = 1;
        by_key_[key] = n.get();
        live_[n.get()] = n;
        return n;
    }
    void add_ref(Node* n) {
        std::lock_guard g(m_);
        ++n->nlookup;
    }
    // Another backing identity for a live node (its upper copy after copy-up).
    void add_key(Node* n, Key key) {
        std::lock_guard g(m_);
        if (!live_.count(n)) return;
        if (by_key_.emplace(key, n).second) n->keys.push_back(key);
    }
    void forget(Node* n, uint64_t count) {
        std::shared_ptr<Node> doomed;  // released after the lock
        std::lock_guard g(m_);
        auto it = live_.find(n);
        if (it == live_.end()) return;
        n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
        if (n->nlookup) return;
        for (auto& k : n->keys)
            if (auto kit = by_key_.find(k); kit != by_key_.end() && kit->second == n)
                by_key_.erase(kit);
        doomed = std::move(it->second);
        live_.erase(it);
    }
    // The node's name is gone: later lookups of its backing file get a new node.
    void drop_keys(Node* n) {
        std::lock_guard g(m_);
        for (auto& k : n->keys)
            if (auto kit = by_key_.find(k); kit != by_key_.end() && kit->second == n)
                by_key_.erase(kit);
        n->keys.clear();
    }
    std::shared_ptr<Node> find(Key key) {
        std::lock_guard g(m_);
        auto it = by_key_.find(key);
        return it == by_key_.end() ? nullptr : live_.at(it->second);
    }
    size_t size() {
        std::lock_guard g(m_);
        return live_.size();
    }

  private:
    struct KeyHash {
        size_t operator()(const Key& k) const {
            return std::hash<uint64_t>()(k.second * 31 + k.first);
        }
    };
    std::mutex m_;
    std::unordered_map<Key, Node*, KeyHash> by_key_;
    std::unordered_map<Node*, std::shared_ptr<Node>> live_;
};

}  // namespace layerfs
