// `layerfs diff`: the A/C/D list of what an upper layer changed in the tree its
// lower layers show. The same shell operations are run through layerfs, kernel
// overlayfs and fuse-overlayfs, each on a fresh upper over the same lowers, and
// the diff of each upper must be the list the operation implies, so the three
// back ends agree. Then store containers (root and rootless), the json form,
// errors, and that the walk never enters lower directories the upper leaves alone.
#include "tests/snapshot/diff_helpers.hpp"

// ---- each change kind, through layerfs, kernel overlayfs and fuse-overlayfs --

TEST_CASE("diff of added entries is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"add a file at the root", R"(echo new > "$1/new")", {"A /new"}},
        {"add a file to a lower dir", R"(echo new > "$1/etc/new")", {"C /etc", "A /etc/new"}},
        {"add a dir tree: every descendant is A",
         R"(mkdir -p "$1/n/a/b"; echo f > "$1/n/a/b/f"; ln -s f "$1/n/a/b/l"; mkfifo "$1/n/p")",
         {"A /n", "A /n/a", "A /n/a/b", "A /n/a/b/f", "A /n/a/b/l", "A /n/p"}},
        {"a name a lower whiteout hides is added, not changed",
         R"(echo new > "$1/etc/group")",
         {"C /etc", "A /etc/group"}},
        {"a name only a hidden layer under an opaque lower dir has is added",
         R"(echo b > "$1/o/b")",
         {"C /o", "A /o/b"}},
        // '-' < '/' < '0' in bytes: the parent's children do not come right after it.
        {"paths sort in byte order",
         R"(mkdir "$1/d-x" "$1/d/x" "$1/d0")",
         {"C /d", "A /d-x", "A /d/x", "A /d0"}},
        {"a file made and removed again leaves nothing", R"(echo t > "$1/t"; rm "$1/t")", {}},
    });
}

TEST_CASE("diff of modified data is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"append to a lower file", R"(echo more >> "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"truncate a lower file", R"(: > "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        // Same size, mtime set back: only the content tells, so it must be read.
        {"rewrite a lower file keeping its size and mtime",
         std::string(R"sh(test "$(stat -c %s "$1/etc/passwd")" = 11
            printf 'ROOT:X:0:0\n' | dd of="$1/etc/passwd" conv=notrunc status=none
            touch -d )sh") +
             kOldTime + R"sh( "$1/etc/passwd"
            test "$(stat -c %s.%Y "$1/etc/passwd")" = "11.1577836800"
            test "$(cat "$1/etc/passwd")" = ROOT:X:0:0)sh",
         {"C /etc", "C /etc/passwd"}},
        // The byte is past the first read chunk, the size is not a multiple of it.
        {"rewrite the last byte of a 3 MiB file keeping its size and mtime",
         std::string(R"sh(printf Z | dd of="$1/var/blob" bs=1 seek=$((3 * 1048576 + 16)) \
                conv=notrunc status=none
            touch -d )sh") +
             kOldTime + R"sh( "$1/var/blob"
            test "$(stat -c %s.%Y "$1/var/blob")" = ")sh" +
             std::to_string(kBlobSize) + R"sh(.1577836800")sh",
         {"C /var", "C /var/blob"}},
        {"modify a file in a dir merged from both lowers",
         R"(echo more >> "$1/d/g")",
         {"C /d", "C /d/g"}},
    });
}

TEST_CASE(
    "diff of metadata-only changes is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"chmod", R"(chmod 600 "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"chown", R"(chown 12:34 "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"touch -m", R"(touch -m "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"chmod a dir", R"(chmod 700 "$1/d")", {"C /d"}},
        {"chown a dir", R"(chown 5:5 "$1/big")", {"C /big"}},
        {"touch a symlink", R"(touch -h -d @1600000000 "$1/link")", {"C /link"}},
    });
}

TEST_CASE("copied-up but unchanged entries are left out, and are C with --docker") {
    const Lines etc = {"C /etc", "C /etc/passwd"};
    check_ops({
        {"chmod to the same mode", R"(chmod 644 "$1/etc/passwd")", {}, etc, {"C /etc"}},
        {"open for append and write nothing", R"(: >> "$1/etc/passwd")", {}, etc, {"C /etc"}},
        {"set an xattr and remove it",
         R"(setfattr -n user.t -v 1 "$1/etc/passwd"; setfattr -x user.t "$1/etc/passwd")",
         {},
         etc,
         {"C /etc"}},
        {"set an xattr to the value it had",
         R"(setfattr -n user.a -v 1 "$1/attr")",
         {},
         {"C /attr"}},
        {"touch -a: atime is no change",
         R"(touch -a -d @1600000000 "$1/etc/passwd")",
         {},
         etc,
         {"C /etc"}},
        {"chmod a dir to its mode", R"(chmod 755 "$1/d")", {}, {"C /d"}},
        {"copy up a 3 MiB file unchanged",
         R"(chmod 644 "$1/var/blob")",
         {},
         {"C /var", "C /var/blob"},
         {"C /var"}},
        {"remake a device node as it was",
         std::string(R"sh(rm "$1/dev/null"; mknod -m 666 "$1/dev/null" c 1 3
            touch -h -d )sh") +
             kOldTime + R"sh( "$1/dev/null" "$1/dev")sh",
         {},
         {"C /dev", "C /dev/null"}},
        {"remake a symlink as it was",
         std::string(R"(rm "$1/link"; ln -s etc/passwd "$1/link"; touch -h -d )") + kOldTime +
             R"( "$1/link")",
         {},
         {"C /link"}},
    });
}

TEST_CASE("diff of special files is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"a device node's number changed",
         std::string(R"sh(rm "$1/dev/null"; mknod -m 666 "$1/dev/null" c 1 5
            touch -h -d )sh") +
             kOldTime + R"sh( "$1/dev/null" "$1/dev")sh",
         {"C /dev", "C /dev/null"}},
        {"add a device node and a fifo",
         R"(mknod "$1/dev/zero" c 1 5; mkfifo "$1/dev/fifo")",
         {"C /dev", "A /dev/fifo", "A /dev/zero"}},
    });
}

TEST_CASE("diff of deletions is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"delete a lower file", R"(rm "$1/d/f")", {"C /d", "D /d/f"}},
        {"delete a file of the top lower",
         R"(rm "$1/etc/hostname")",
         {"C /etc", "D /etc/hostname"}},
        {"delete a lower dir merged from both lowers: only the dir is D",
         R"(rm -rf "$1/d")",
         {"D /d"}},
        {"delete a lower opaque dir", R"(rm -rf "$1/o")", {"D /o"}},
        {"delete a lower symlink", R"(rm "$1/link")", {"D /link"}},
        {"delete one name of a lower hard-linked pair",
         R"(rm "$1/bin/tool2")",
         {"C /bin", "D /bin/tool2"},
         {},
         {},
         {"C /bin/tool"}},
    });
}

TEST_CASE("diff of rm -rf and recreate is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        // The old children that did not come back are D; the one that did is
        // compared with its old self, and its new mtime differs.
        {"rm -rf a dir, recreate it with one old name",
         R"(rm -rf "$1/d"; mkdir "$1/d"; echo g > "$1/d/g")",
         {"C /d", "D /d/f", "C /d/g", "D /d/h", "D /d/sub"}},
        {"rm -rf a dir, recreate one old child exactly as it was",
         std::string(R"(rm -rf "$1/d"; mkdir "$1/d"; echo g > "$1/d/g"; touch -d )") + kOldTime +
             R"( "$1/d/g")",
         {"C /d", "D /d/f", "D /d/h", "D /d/sub"},
         {"C /d/g"}},
        {"rm -rf a dir, recreate a subdir of it",
         R"(rm -rf "$1/d"; mkdir -p "$1/d/sub"; echo n > "$1/d/sub/new")",
         {"C /d", "D /d/f", "D /d/g", "D /d/h", "C /d/sub", "D /d/sub/deep", "A /d/sub/new"}},
        // /o/b was never visible (the lower /o is opaque): not D.
        {"rm -rf an opaque lower dir and recreate it",
         R"(rm -rf "$1/o"; mkdir "$1/o"; echo n > "$1/o/n")",
         {"C /o", "D /o/a", "A /o/n"}},
        {"a dir replaced by a file", R"(rm -rf "$1/d"; echo d > "$1/d")", {"C /d"}},
        {"a file replaced by a dir",
         R"(rm "$1/etc/passwd"; mkdir "$1/etc/passwd"; echo x > "$1/etc/passwd/x")",
         {"C /etc", "C /etc/passwd", "A /etc/passwd/x"}},
    });
}

TEST_CASE("diff of renames is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"rename a lower file",
         R"(mv "$1/etc/passwd" "$1/etc/passwd2")",
         {"C /etc", "D /etc/passwd", "A /etc/passwd2"}},
        {"move a lower file to another dir",
         R"(mv "$1/etc/passwd" "$1/passwd")",
         {"C /etc", "D /etc/passwd", "A /passwd"}},
        {"rename a lower file over another",
         R"(mv "$1/etc/hostname" "$1/etc/passwd")",
         {"C /etc", "D /etc/hostname", "C /etc/passwd"}},
        {"rename a lower dir",
         R"(mv "$1/d" "$1/d2")",
         {"D /d", "A /d2", "A /d2/f", "A /d2/g", "A /d2/h", "A /d2/sub", "A /d2/sub/deep"}},
    });
}

TEST_CASE(
    "diff of hard links and symlinks is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        // The old name's inode gained a link: a layer must carry both names to
        // keep them linked, and docker reports it too.
        {"hard link to a lower file",
         R"(ln "$1/etc/passwd" "$1/etc/passwd-link")",
         {"C /etc", "C /etc/passwd", "A /etc/passwd-link"}},
        {"two new names of one new file",
         R"(echo n > "$1/n1"; ln "$1/n1" "$1/n2")",
         {"A /n1", "A /n2"}},
        {"add a symlink", R"(ln -s etc/passwd "$1/newlink")", {"A /newlink"}},
        // Same length, mtime set back: only the target differs.
        {"change a symlink's target",
         std::string(R"(rm "$1/link"; ln -s etc/shadow "$1/link"; touch -h -d )") + kOldTime +
             R"( "$1/link")",
         {"C /link"}},
        {"a symlink replaced by a file", R"(rm "$1/link"; echo x > "$1/link")", {"C /link"}},
    });
}

TEST_CASE("diff of xattr changes is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"add an xattr to a lower file",
         R"(setfattr -n user.new -v 1 "$1/etc/passwd")",
         {"C /etc", "C /etc/passwd"}},
        {"change a lower file's xattr", R"(setfattr -n user.a -v 2 "$1/attr")", {"C /attr"}},
        {"remove a lower file's xattr", R"(setfattr -x user.a "$1/attr")", {"C /attr"}},
        {"add an xattr to a lower dir", R"(setfattr -n user.x -v 1 "$1/d")", {"C /d"}},
    });
}

// One name of a lower hard-linked pair modified: what the other name shows
// afterwards depends on the back end (kernel overlayfs without index=on breaks
// the link; layerfs keeps it through its work dir's index). Whatever a fresh
// mount of the same upper and work dirs shows is the truth the diff must tell,
// so the diff is taken first and the other name read after.
TEST_CASE("modifying one name of a lower hard-linked pair: diff lists every name that changed") {
    for (Backend b : kBackends) {
        INFO(backend_name(b));
        Lowers lowers;
        TempDir t;
        std::string upper = t / "upper", work = t / "work", mnt = t / "mnt";
        for (const auto& d : {upper, work, mnt})
            make_dir(d);
        {
            Mount m(b, lowers.dirs(), upper, work, mnt);
            INFO(m.result().output);
            REQUIRE(m.ok());
            // No lookup of bin/tool2 while mounted: only tool is touched.
            REQUIRE_OK(sh(R"(echo more >> "$1/bin/tool")", mnt));
        }
        auto r = diff_dirs(lowers.dirs(), upper);
        INFO(r.output);
        REQUIRE(r.status == 0);
        std::string tool2;
        {
            Mount m(b, lowers.dirs(), upper, work, mnt);
            INFO(m.result().output);
            REQUIRE(m.ok());
            CHECK(read_file(mnt + "/bin/tool") == "tool\nmore\n");
            tool2 = read_file(mnt + "/bin/tool2");
        }
        Lines want = {"C /bin", "C /bin/tool"};
        if (tool2 != read_file(lowers.bottom + "/bin/tool2")) want.push_back("C /bin/tool2");
        CHECK(lines_of(r.output) == by_path(want));
    }
}
