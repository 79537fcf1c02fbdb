#pragma once
// For unit tests of code that throws store::Failure with a message for people.
#include <functional>
#include <string>

#include "snapshotter/failure.hpp"

namespace layerfs::test {

// The message of the Failure `f` throws, or a marker when it throws nothing or
// something else.
inline std::string failure_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const store::Failure& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not a Failure: ") + e.what() + ">";
    } catch (...) {
        return "<not a Failure>";
    }
    return "<no exception>";
}

}  // namespace layerfs::test
