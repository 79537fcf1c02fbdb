// images, tag, rmi, prune, inspect, history on the built-in image and small imports.
#include <catch2/catch.hpp>

#include "snapshotter/containers.hpp"
#include "snapshotter/images.hpp"
#include "snapshotter/store.hpp"
#include "tests/store/store_helpers.hpp"
#include "tests/support/oci_builder.hpp"

using namespace layerfs::test;

TEST_CASE("the built-in busybox image is made on first use and is reproducible", "[images]") {
    TestStore a, b;
    auto empty = a.lf({"images"});
    REQUIRE(empty.status == 0);
    CHECK(empty.output.find("busybox") == std::string::npos);
    std::string id = id_of(a, "busybox");
    CHECK(id == id_of(b, "busybox:latest"));
    auto ids = a.lf({"images", "-q", "--no-trunc"});
    REQUIRE(ids.status == 0);
    CHECK(ids.output == "sha256:" + id + "\n");
    auto list = a.lf({"images"});
    CHECK(list.output.find("busybox") != std::string::npos);
    CHECK(list.output.find(id.substr(0, 12)) != std::string::npos);
    auto hist = a.lf({"history", "busybox"});
    REQUIRE(hist.status == 0);
    CHECK(hist.output.find("busybox-static") != std::string::npos);
}

TEST_CASE("tag, id prefixes and rmi behave like docker", "[images]") {
    TestStore s;
    std::string id = id_of(s, "busybox");
    REQUIRE(s.lf({"tag", id.substr(0, 6), "other/name:v1"}).status == 0);
    auto list = s.lf({"images"});
    CHECK(list.output.find("other/name") != std::string::npos);

    auto refused = s.lf({"rmi", id.substr(0, 12)});
    CHECK(refused.status != 0);
    CHECK(refused.output.find("several names") != std::string::npos);

    auto untag = s.lf({"rmi", "other/name:v1"});
    REQUIRE(untag.status == 0);
    CHECK(untag.output.find("Untagged: other/name:v1") != std::string::npos);
    CHECK(s.lf({"inspect", id}).status == 0);

    auto gone = s.lf({"rmi", "busybox"});
    REQUIRE(gone.status == 0);
    CHECK(gone.output.find("Deleted: sha256:" + id) != std::string::npos);
    auto missing = s.lf({"inspect", id.substr(0, 12)});
    CHECK(missing.status == 1);
    CHECK(missing.output.find("image '" + id.substr(0, 12) + "' not found") != std::string::npos);
    CHECK(list_dir(s.root + "/layers").empty());
}

TEST_CASE("unknown images and bad names give clear errors", "[images]") {
    TestStore s;
    auto r = s.lf({"inspect", "nosuch:1"});
    CHECK(r.status == 1);
    CHECK(r.output.find("layerfs: image 'nosuch:1' not found") != std::string::npos);
    auto bad = s.lf({"tag", "busybox", "Bad Name"});
    CHECK(bad.status == 1);
    CHECK(bad.output.find("invalid image name") != std::string::npos);
    auto usage = s.lf({"import"});
    CHECK(usage.status == 2);
}

TEST_CASE("rmi refuses an image a container uses unless forced, and keeps its layers", "[images]") {
    TestStore s;
    std::string id = id_of(s, "busybox");
    {
        layerfs::store::Store store(s.root);
        auto lock = store.lock(true);
        layerfs::store::create_container(store, layerfs::store::find_image(store, "busybox"), "c1");
    }
    auto refused = s.lf({"rmi", "busybox"});
    CHECK(refused.status == 1);
    CHECK(refused.output.find("used by container 'c1'") != std::string::npos);
    CHECK(s.lf({"inspect", "busybox"}).status == 0);

    auto forced = s.lf({"rmi", "-f", "busybox"});
    REQUIRE(forced.status == 0);
    // (Naming busybox again would rebuild it: look, don't name.)
    CHECK(s.lf({"images"}).output.find("busybox") == std::string::npos);
    // The container still needs the layer: neither rmi nor prune may take it.
    REQUIRE(s.lf({"prune"}).status == 0);
    CHECK(list_dir(s.root + "/layers").size() == 1);
}

TEST_CASE("prune removes untagged images and what only they used", "[images]") {
    TestStore s;
    TempDir src;
    write_file(src / "one/a", "1");
    write_file(src / "two/b", "2");
    REQUIRE(s.lf({"import", src / "one", "x:1"}).status == 0);
    REQUIRE(s.lf({"import", src / "two", "x:1"}).status ==
            0);  // x:1 moves, the first image is untagged
    auto list = s.lf({"images"});
    CHECK(list.output.find("<none>") != std::string::npos);
    CHECK(list_dir(s.root + "/layers").size() == 2);
    auto pruned = s.lf({"prune"});
    REQUIRE(pruned.status == 0);
    CHECK(pruned.output.find("Deleted image: sha256:") != std::string::npos);
    CHECK(list_dir(s.root + "/layers").size() == 1);
    CHECK(s.lf({"images"}).output.find("<none>") == std::string::npos);
    CHECK(s.lf({"inspect", "x:1"}).status == 0);
}

TEST_CASE("export goes into a new or empty destination, never over anything else", "[images]") {
    TestStore s;
    TempDir t;
    make_dir(t / "empty");
    REQUIRE(s.lf({"export", "busybox", t / "empty"}).status == 0);
    CHECK(exists(t / "empty/index.json"));
    write_file(t / "full/keep", "mine");
    auto full = s.lf({"export", "busybox", t / "full"});
    CHECK(full.status == 1);
    CHECK(full.output.find("exists") != std::string::npos);
    CHECK(list_dir(t / "full") == std::vector<std::string>{"keep"});
    write_file(t / "x.tar", "mine");
    CHECK(s.lf({"export", "busybox", t / "x.tar"}).status == 1);
    CHECK(read_file(t / "x.tar") == "mine");
    CHECK(list_dir(t.path()) == std::vector<std::string>{"empty", "full", "x.tar"});
}

TEST_CASE("an image whose config gives null for optional fields lists, inspects and commits",
          "[images]") {
    TestStore s;
    TempDir t;
    OciLayoutBuilder b;
    b.layer(TarBuilder().file("etc/motd", "hello\n").bytes());
    b.null_fields = true;
    b.write(t / "layout");
    REQUIRE_OK(s.lf({"import", t / "layout", "nulls:1"}));
    REQUIRE_OK(s.lf({"images"}));
    REQUIRE_OK(s.lf({"history", "nulls:1"}));
    auto j = inspect(s, "nulls:1");
    CHECK(j["Created"] == "");
    CHECK(j["Author"] == "");
    CHECK(j["Config"] == nlohmann::json::object());
    REQUIRE_OK(s.lf({"create", "--name", "c", "nulls:1"}));
    REQUIRE_OK(s.lf({"commit", "-c", "WORKDIR /srv", "-c", "CMD sh", "c", "child:1"}));
    CHECK(inspect(s, "child:1")["Config"]["WorkingDir"] == "/srv");
}
