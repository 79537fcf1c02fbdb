#pragma once
// splitmix64, shared by the plan (its hash finalizer) and the generators (their
// random streams): one seed, one stream.
#include <cmath>
#include <cstdint>
#include <vector>

namespace layerfs::bench {

inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// splitmix64: fast, and every seed gives a full-quality stream.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        s += 0x9e3779b97f4a7c15ull;
        return mix64(s);
    }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
    double real() { return double(next() >> 11) * 0x1.0p-53; }
    bool chance(double p) { return real() < p; }
    uint64_t log_uniform(double lo, double hi) {
        return uint64_t(std::exp(std::log(lo) + real() * (std::log(hi) - std::log(lo))));
    }
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[below(v.size())];
    }
};

}  // namespace layerfs::bench
