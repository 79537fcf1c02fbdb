#pragma once
// A progress line on stderr while big imports and exports run, only when stderr
// is a terminal.
#include <chrono>
#include <cstdint>
#include <string>

namespace layerfs::store {

class Progress {
  public:
    Progress();
    ~Progress() { done(); }
    // What is being read now, e.g. "layer 2/5"; `total` 0 when unknown.
    void phase(std::string label, uint64_t total);
    void update(uint64_t bytes);
    void done();

  private:
    bool tty_;
    bool shown_ = false;
    std::string label_;
    uint64_t total_ = 0;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace layerfs::store
