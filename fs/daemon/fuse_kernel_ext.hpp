#pragma once
// What FUSE protocol 7.40 (Linux 6.9) added for passthrough and 7.42 (Linux
// 6.14) for FUSE over io_uring. Debian 12's uapi header stops at 7.38, so the
// pieces we use are spelled out here, with the kernel's names and layout.
#include <linux/fuse.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace layerfs::fuse_ext {

// INIT flag (bit 37, so in flags2) and the open reply flag.
constexpr uint64_t kInitPassthrough = 1ULL << 37;
constexpr uint32_t kOpenPassthrough = 1U << 7;  // FOPEN_PASSTHROUGH

// fuse_init_out as of 7.40: max_stack_depth took the first unused word.
struct InitOut {
    uint32_t major, minor, max_readahead, flags;
    uint16_t max_background, congestion_threshold;
    uint32_t max_write, time_gran;
    uint16_t max_pages, map_alignment;
    uint32_t flags2, max_stack_depth;
    uint32_t unused[6];
};
static_assert(sizeof(InitOut) == sizeof(fuse_init_out));

// fuse_open_out as of 7.40: the padding became the backing id.
struct OpenOut {
    uint64_t fh;
    uint32_t open_flags;
    int32_t backing_id;
};
static_assert(sizeof(OpenOut) == sizeof(fuse_open_out));

struct BackingMap {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};

constexpr unsigned long kIocBackingOpen = _IOW(FUSE_DEV_IOC_MAGIC, 1, BackingMap);
constexpr unsigned long kIocBackingClose = _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t);

// FUSE over io_uring: the INIT flag (bit 41, so in flags2), and what a ring
// entry holds. The kernel writes a request's fuse_in_header to in_out, its
// first argument (the opcode's fixed struct) to op_in and the rest to the
// entry's payload buffer; a reply goes back as fuse_out_header in in_out and
// its body in the payload.
constexpr uint64_t kInitOverIoUring = 1ULL << 41;

struct UringEntInOut {  // fuse_uring_ent_in_out
    uint64_t flags;
    uint64_t commit_id;  // echoed in the commit that answers this request
    uint32_t payload_sz;
    uint32_t padding;
    uint64_t reserved;
};

struct UringReqHeader {  // fuse_uring_req_header
    char in_out[128];
    char op_in[128];
    UringEntInOut ent;
};

// The command in the 80-byte area of a 128-byte io_uring SQE.
struct UringCmdReq {  // fuse_uring_cmd_req
    uint64_t flags;
    uint64_t commit_id;
    uint16_t qid;
    uint8_t padding[6];
};

enum UringCmd : uint32_t {  // fuse_uring_cmd
    kUringCmdRegister = 1,
    kUringCmdCommitAndFetch = 2,
};

}  // namespace layerfs::fuse_ext
