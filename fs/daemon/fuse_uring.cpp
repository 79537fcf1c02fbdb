#include "fs/daemon/fuse_uring.hpp"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "fs/daemon/fuse_kernel_ext.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs {

namespace {

using fuse_ext::UringReqHeader;

// Room in front of the payload for a request's header and fixed argument, which
// the kernel delivers apart from the payload: copied there, the three make the
// message libfuse parses without the payload (a write's data) being moved.
constexpr size_t kLead = 4096;
constexpr size_t kPage = 4096;

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<char, FreeDeleter>;

Buffer page_aligned(size_t n) {
    return Buffer(static_cast<char*>(std::aligned_alloc(kPage, (n + kPage - 1) / kPage * kPage)));
}

// The kernel makes a queue per possible CPU and needs an entry on each before
// it uses any. /sys/devices/system/cpu/possible lists them in ascending
// ranges ("0-3", "0,2-5"): the last number is the highest CPU.
unsigned possible_cpus() {
    std::ifstream in("/sys/devices/system/cpu/possible");
    std::string list;
    if (!(in >> list)) return unsigned(get_nprocs_conf());
    const size_t at = list.find_last_of(",-");
    return unsigned(
               std::strtoul(list.c_str() + (at == std::string::npos ? 0 : at + 1), nullptr, 10)) +
           1;
}

struct Entry {
    Buffer header;  // UringReqHeader; page-aligned, as the kernel maps it
    Buffer buf;     // kLead bytes, then the payload
    size_t capacity = 0;
    iovec iov[2]{};
    uint32_t cmd = fuse_ext::kUringCmdRegister;  // what to (re)submit for this entry
    uint64_t unique = 0;                         // the request being served
    uint64_t commit_id = 0;                      // what its commit names it by
    bool replied = false;

    UringReqHeader& h() { return *reinterpret_cast<UringReqHeader*>(header.get()); }
    char* payload() { return buf.get() + kLead; }
};

thread_local Entry* t_serving = nullptr;

bool connection_gone(int err) {
    return err == ENOTCONN || err == ECONNABORTED || err == ENODEV;
}

}  // namespace

struct FuseRing::Queue {
    unsigned qid = 0, depth = 0;
    int dev_fd = -1;
    Serve serve;
    std::vector<Entry> entries;
    Fd stop;
    io_uring ring{};
    bool ring_up = false;
    std::thread thread;
    std::promise<Status> started;  // the ring set up, or why not
    std::atomic<uint64_t> served{0};

    ~Queue() {
        // First the ring: exiting it cancels the entries still registered, so
        // the kernel lets go of their buffers before they are freed.
        if (ring_up) io_uring_queue_exit(&ring);
    }

    void submit(Entry& e) {
        // Never null: the ring has an SQE per entry and one for the stop poll,
        // and an entry is submitted again only after its completion.
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        if (!sqe) return spdlog::critical("io_uring queue {}: no free SQE", qid);
        std::memset(sqe, 0, 2 * sizeof *sqe);  // SQE128
        sqe->opcode = IORING_OP_URING_CMD;
        sqe->fd = dev_fd;
        sqe->cmd_op = e.cmd;
        if (e.cmd == fuse_ext::kUringCmdRegister) {
            sqe->addr = reinterpret_cast<uintptr_t>(e.iov);
            sqe->len = 2;
        }
        fuse_ext::UringCmdReq req{};
        req.qid = uint16_t(qid);
        if (e.cmd == fuse_ext::kUringCmdCommitAndFetch) req.commit_id = e.commit_id;
        std::memcpy(sqe->cmd, &req, sizeof req);
        io_uring_sqe_set_data(sqe, &e);
    }

    void fail(Entry& e, int err) {
        fuse_out_header out{uint32_t(sizeof out), -err, e.unique};
        std::memcpy(e.h().in_out, &out, sizeof out);
        e.h().ent.payload_sz = 0;
        e.replied = true;
    }

    void serve_one(Entry& e) {
        UringReqHeader& h = e.h();
        fuse_in_header in;
        std::memcpy(&in, h.in_out, sizeof in);
        const size_t body = h.ent.payload_sz;
        e.unique = in.unique;
        e.commit_id = h.ent.commit_id;
        e.replied = false;
        // in.len counts the header and every argument: what the payload does not
        // hold is the fixed argument in op_in.
        if (in.len < sizeof in + body || in.len - sizeof in - body > sizeof h.op_in ||
            body > e.capacity) {
            spdlog::error("io_uring: request {} (opcode {}) has an impossible length", in.unique,
                          in.opcode);
            return fail(e, EIO);
        }
        const size_t op = in.len - sizeof in - body;
        char* msg = e.payload() - op - sizeof in;
        std::memcpy(msg, &in, sizeof in);
        std::memcpy(msg + sizeof in, h.op_in, op);
        fuse_buf buf{};
        buf.mem = msg;
        buf.size = in.len;
        t_serving = &e;
        serve(buf);
        t_serving = nullptr;
        // Every request the kernel sends on the ring expects a reply; without
        // one the caller would wait forever.
        if (!e.replied) {
            spdlog::error("io_uring: request {} (opcode {}) ended without a reply", in.unique,
                          in.opcode);
            fail(e, EIO);
        }
        served.fetch_add(1, std::memory_order_relaxed);
    }

    void run() {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals are the main loop's
        pthread_setname_np(pthread_self(), ("layerfs-ring" + std::to_string(qid)).c_str());
        // The kernel picks the queue of the caller's CPU: served on that CPU,
        // the request needs no wakeup across CPUs. An offline CPU stays unpinned.
        cpu_set_t cpu;
        CPU_ZERO(&cpu);
        CPU_SET(qid, &cpu);
        (void)sched_setaffinity(0, sizeof cpu, &cpu);

        // Only this thread submits, and it collects completions only when it
        // waits for them: the kernel may run their work then, unannounced.
        io_uring_params p{};
        p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
                  IORING_SETUP_DEFER_TASKRUN;
        p.cq_entries = 2 * (depth + 1);
        if (int rc = io_uring_queue_init_params(depth + 1, &ring, &p); rc < 0) {
            started.set_value(Error{-rc, "io_uring_setup"});
            return;
        }
        ring_up = true;
        started.set_value(Status{});
        for (Entry& e : entries)
            submit(e);
        io_uring_sqe* poll = io_uring_get_sqe(&ring);
        io_uring_prep_poll_add(poll, stop.get(), POLLIN);
        io_uring_sqe_set_data(poll, nullptr);
        size_t live = entries.size();
        bool stopping = false;
        while (live > 0 && !stopping) {
            int rc = io_uring_submit_and_wait(&ring, 1);
            if (rc < 0 && rc != -EINTR) {
                spdlog::error("io_uring queue {}: {}", qid, std::strerror(-rc));
                break;
            }
            unsigned head, seen = 0;
            io_uring_cqe* cqe;
            io_uring_for_each_cqe(&ring, head, cqe) {
                ++seen;
                auto* e = static_cast<Entry*>(io_uring_cqe_get_data(cqe));
                if (!e) {
                    stopping = true;
                } else if (cqe->res == -EAGAIN || cqe->res == -EINTR) {
                    submit(*e);
                } else if (cqe->res < 0) {
                    // Unmounted (or refused): the entry is gone from the kernel.
                    if (!connection_gone(-cqe->res))
                        spdlog::error("io_uring queue {}: {}", qid, std::strerror(-cqe->res));
                    --live;
                } else {
                    serve_one(*e);
                    e->cmd = fuse_ext::kUringCmdCommitAndFetch;
                    submit(*e);
                }
            }
            io_uring_cq_advance(&ring, seen);
        }
    }
};

Result<std::unique_ptr<FuseRing>> FuseRing::start(int dev_fd, size_t payload, unsigned depth,
                                                  Serve serve) {
    std::unique_ptr<FuseRing> r(new FuseRing);
    const unsigned n = possible_cpus();
    for (unsigned qid = 0; qid < n; ++qid) {
        auto q = std::make_unique<Queue>();
        q->qid = qid;
        q->dev_fd = dev_fd;
        q->serve = serve;
        q->stop = Fd(::eventfd(0, EFD_CLOEXEC));
        if (!q->stop) return errno_error("eventfd");
        q->depth = depth;
        q->entries.resize(depth);
        for (Entry& e : q->entries) {
            e.header = page_aligned(sizeof(UringReqHeader));
            e.buf = page_aligned(kLead + payload);
            if (!e.header || !e.buf) return Error{ENOMEM, "aligned_alloc"};
            e.capacity = payload;
            e.iov[0] = {e.header.get(), sizeof(UringReqHeader)};
            e.iov[1] = {e.payload(), payload};
        }
        r->queues_.push_back(std::move(q));
    }
    std::vector<std::future<Status>> setups;
    for (auto& q : r->queues_) {
        setups.push_back(q->started.get_future());
        q->thread = std::thread([q = q.get()] { q->run(); });
    }
    for (auto& s : setups)
        if (Status st = s.get(); !st) return st.error();  // ~FuseRing stops the others
    return r;
}

FuseRing::~FuseRing() {
    for (auto& q : queues_) {
        uint64_t one = 1;
        (void)!::write(q->stop.get(), &one, sizeof one);
    }
    for (auto& q : queues_)
        if (q->thread.joinable()) q->thread.join();
}

bool FuseRing::claim_reply(const iovec* iov, int count) {
    Entry* e = t_serving;
    if (!e || e->replied || count < 1 || iov[0].iov_len < sizeof(fuse_out_header)) return false;
    fuse_out_header out;
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    if (out.unique != e->unique) return false;
    // The body: whatever follows the header, in iov[0] or the rest.
    size_t len = 0;
    auto append = [&](const void* p, size_t n) {
        if (len + n > e->capacity) return false;
        std::memcpy(e->payload() + len, p, n);
        len += n;
        return true;
    };
    bool fits =
        append(static_cast<const char*>(iov[0].iov_base) + sizeof out, iov[0].iov_len - sizeof out);
    for (int i = 1; fits && i < count; ++i)
        fits = append(iov[i].iov_base, iov[i].iov_len);
    if (!fits) {
        out.error = -EIO;
        len = 0;
    }
    out.len = uint32_t(sizeof out + len);
    std::memcpy(e->h().in_out, &out, sizeof out);
    e->h().ent.payload_sz = uint32_t(len);
    e->replied = true;
    return true;
}

uint64_t FuseRing::served() const {
    uint64_t n = 0;
    for (auto& q : queues_)
        n += q->served.load(std::memory_order_relaxed);
    return n;
}

}  // namespace layerfs
