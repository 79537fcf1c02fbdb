// A real distribution, not just busybox: a Debian bookworm minbase rootfs
// imported from a tarball runs its own shell, dpkg, apt, passwd lookups,
// useradd and su, as root and (through [both]) as an ordinary user.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/store/store_helpers.hpp"
#include "tests/support/fixture.hpp"

using namespace layerfs::test;

namespace {

// Where debian_rootfs.sh caches the tarball; it must agree with the script.
const std::string kCachedTarball = "/var/cache/layerfs-tests/debian-bookworm-minbase.tar";

std::string script_path() {
    if (const char* src = std::getenv("LAYERFS_TEST_SRC"); src && *src)
        return std::string(src) + "/tests/runtime/debian_rootfs.sh";
    // CMake compiles with absolute source paths, so __FILE__ names this tree.
    std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/debian_rootfs.sh";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text))
        if (l == line) return true;
    return false;
}

struct Tarball {
    std::string path;    // empty when there is none
    std::string reason;  // why there is none
};

// The tarball, built on first use by the script. The rootless runner copies
// only the binaries, and the source tree may be unreadable to its user; the
// root run has built the tarball by then, so the cache path is enough.
Tarball debian_tarball() {
    std::string script = script_path();
    if (::access(script.c_str(), R_OK) != 0) {
        if (::access(kCachedTarball.c_str(), R_OK) == 0) return {kCachedTarball, ""};
        return {"", "cannot read " + script + " and there is no " + kCachedTarball};
    }
    // The script keeps stdout for the path alone; its reasons go to stderr.
    TempDir tmp;
    auto r = run({"sh", "-c", "exec bash \"$1\" 2>\"$2\"", "sh", script, tmp / "stderr"});
    std::string err = exists(tmp / "stderr") ? read_file(tmp / "stderr") : "";
    INFO(script << " stdout: " << r.output << "\nstderr: " << err);
    REQUIRE(r.status == 0);  // it exits 0 even when it cannot help
    auto out = lines_of(r.output);
    if (out.empty()) return {"", err.empty() ? "debian_rootfs.sh gave no reason" : err};
    REQUIRE(out.size() == 1);
    return {out[0], ""};
}

// A store holding the tarball as debian:test, or none (with a visible warning)
// when this machine cannot provide the tarball.
bool import_debian(const TestStore& s) {
    Tarball t = debian_tarball();
    if (t.path.empty()) {
        WARN("skipped: no Debian rootfs tarball: " << t.reason);
        return false;
    }
    REQUIRE_OK(s.lf({"import", t.path, "debian:test"}));
    return true;
}

}  // namespace

TEST_CASE("a Debian rootfs runs its own tools and finds users in its own passwd",
          "[runtime][both][debian]") {
    TestStore s;
    if (!import_debian(s)) return;

    auto r = s.lf({"run", "--rm", "debian:test", "sh", "-c",
                   ". /etc/os-release; echo $VERSION_CODENAME; id -u; dpkg -l | grep -c ^ii; "
                   "ls -l /etc/passwd"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    auto out = lines_of(r.output);
    REQUIRE(out.size() == 4);
    CHECK(out[0] == "bookworm");
    CHECK(out[1] == "0");
    // minbase has about 90 packages; a handful would mean dpkg's database is
    // not what the tarball holds.
    CHECK(std::stoi(out[2]) > 50);
    // Numeric owners in the tarball come back as root through the image's own
    // /etc/passwd, also when an ordinary user runs it.
    CHECK(out[3].rfind("-rw-r--r-- 1 root root ", 0) == 0);

    r = s.lf({"run", "--rm", "debian:test", "bash", "-c", "echo ok > /tmp/x && cat /tmp/x"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output == "ok\n");

    // -u by name needs the image's /etc/passwd, not the host's.
    r = s.lf({"run", "--rm", "-u", "nobody", "debian:test", "sh", "-c", "id -un; id -u"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output == "nobody\n65534\n");

    r = s.lf({"run", "--rm", "debian:test", "apt-get", "--version"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.rfind("apt ", 0) == 0);
}

TEST_CASE("useradd and su in a Debian container show up in its diff", "[runtime][both][debian]") {
    TestStore s;
    if (!import_debian(s)) return;

    // su switches to a uid outside 0 and calls setgroups: as an ordinary user
    // that works only with a subordinate id range mapped into the container.
    auto r = s.lf({"run", "--name", "deb1", "debian:test", "sh", "-c",
                   "useradd -m alice && su alice -c 'id -un; touch ~/f; stat -c %U:%G ~/f'"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output == "alice\nalice:alice\n");

    r = s.lf({"diff", "deb1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(has_line(r.output, "A /home/alice"));
    CHECK(has_line(r.output, "A /home/alice/f"));
    CHECK(has_line(r.output, "C /etc/passwd"));

    REQUIRE_OK(s.lf({"rm", "deb1"}));
    r = s.lf({"ps", "-aq"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.empty());
}
