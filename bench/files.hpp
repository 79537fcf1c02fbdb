#pragma once
// Writing the data's files, for the generators and the layer build alike.
// Every failure throws std::runtime_error naming the call, the path and errno.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace layerfs::bench {

[[noreturn]] void fail_errno(const std::string& what);

// Writes all of [p, p + n) to `fd`; `path` is for the message.
void write_all(int fd, const char* p, size_t n, const std::string& path);

// Replaces `path` with `text` whole: written beside it, synced and renamed in,
// so a failed run never leaves half a file.
void write_text_atomically(const std::string& path, const std::string& text);

// Writes a new file with exactly these owner, mode and mtime.
void write_file(const std::string& path, const std::string& data, mode_t mode, int64_t mtime,
                uid_t uid = 0, gid_t gid = 0);

// mkdir that accepts an existing directory, and mkdir -p.
void make_dir(const std::string& path, mode_t mode = 0755);
void make_dirs(const std::string& path);

}  // namespace layerfs::bench
