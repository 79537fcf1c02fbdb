// Fd's count of owned fds, which the daemon's fd relief trusts: every way an
// Fd gains or loses its fd moves the count once.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <utility>

#include "fs/sys/fd.hpp"

using layerfs::Fd;

TEST_CASE("Fd::live counts owned fds through moves, resets and releases", "[sys]") {
    const long base = Fd::live();
    {
        Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        REQUIRE(a.valid());
        CHECK(Fd::live() == base + 1);
        Fd b(std::move(a));
        CHECK(Fd::live() == base + 1);
        Fd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        CHECK(Fd::live() == base + 2);
        c = std::move(b);  // c's own fd is closed, b's moves in
        CHECK(Fd::live() == base + 1);
        Fd& self = c;  // through a reference: clang's -Wself-move rejects c = std::move(c)
        c = std::move(self);
        CHECK(Fd::live() == base + 1);
        c.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        CHECK(Fd::live() == base + 1);
        int raw = c.release();
        CHECK(Fd::live() == base);
        ::close(raw);
        Fd d(-1);
        d.reset(-1);
        CHECK(Fd::live() == base);
        Fd e(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        CHECK(Fd::live() == base + 1);
    }
    CHECK(Fd::live() == base);
}
