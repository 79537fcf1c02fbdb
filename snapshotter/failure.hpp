#pragma once
// Errors of the store and its commands. Unlike the FUSE path (Result<T>, errno
// only), every failure here ends one command with a message for a person, and
// that message needs context (an image name, a path inside a tar), so the
// snapshotter throws Failure and the CLI prints it. Nothing here runs inside a
// FUSE callback.
#include <stdexcept>
#include <string>
#include <utility>

#include "fs/sys/result.hpp"

namespace layerfs::store {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& msg) {
    throw Failure(msg);
}

// The value, or a Failure saying what we were doing and why it failed.
template <class T>
T must(Result<T> r, const std::string& doing) {
    if (!r) fail(doing + ": " + r.error().what());
    return std::move(*r);
}
inline void must(Status r, const std::string& doing) {
    if (!r) fail(doing + ": " + r.error().what());
}

}  // namespace layerfs::store
