#pragma once
// Result<T>: a value or an {errno, operation} pair. Errors stay positive errnos
// inside the library and become FUSE replies or messages only at the boundary.
#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace layerfs {

struct Error {
    int code = 0;         // positive errno
    const char* op = "";  // the syscall or step that failed, for messages
    std::string what() const;
};

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(e) {}
    explicit operator bool() const { return v_.index() == 0; }
    bool ok() const { return v_.index() == 0; }
    T& operator*() { return std::get<0>(v_); }
    const T& operator*() const { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }
    int err() const { return ok() ? 0 : error().code; }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error e) : e_(e) {}
    explicit operator bool() const { return e_.code == 0; }
    bool ok() const { return e_.code == 0; }
    const Error& error() const { return e_; }
    int err() const { return e_.code; }

  private:
    Error e_{};
};

using Status = Result<void>;

inline Error errno_error(const char* op) {
    return Error{errno ? errno : EIO, op};
}

}  // namespace layerfs

// Propagate an error from a Result-returning expression; yields the value otherwise.
#define LFS_TRY(expr)                               \
    ({                                              \
        auto&& lfs_try_r_ = (expr);                 \
        if (!lfs_try_r_) return lfs_try_r_.error(); \
        std::move(*lfs_try_r_);                     \
    })
#define LFS_CHECK(expr)                                 \
    do {                                                \
        auto&& lfs_check_r_ = (expr);                   \
        if (!lfs_check_r_) return lfs_check_r_.error(); \
    } while (0)
// Like LFS_TRY, but runs the given statements (which see the error as `e`) on failure.
#define LFS_TRY_OR(expr, ...)                                                \
    ({                                                                       \
        auto&& lfs_try_r_ = (expr);                                          \
        if (!lfs_try_r_) {                                                   \
            [[maybe_unused]] const ::layerfs::Error& e = lfs_try_r_.error(); \
            __VA_ARGS__;                                                     \
        }                                                                    \
        std::move(*lfs_try_r_);                                              \
    })
