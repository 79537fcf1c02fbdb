#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus into tests/fuzz/corpus/<target>/.

The seeds are committed; run this again only to change them (it rewrites the
seed files it names and leaves any other file there alone). Each tar seed is one
of the kinds tests/store/test_hostile_tar.cpp feeds to `layerfs import`, or a
well-made layer of the kind it must accept, so the fuzzer starts from both
sides of every check. Standard library only, plus the zstd command if present.
"""
import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# Python pads a tar to 10 KiB records; the end marker is enough, and small seeds
# keep the corpus (and the fuzzer's mutations) small.
tarfile.RECORDSIZE = tarfile.BLOCKSIZE


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- tars -------------------------------------------------------------------

def member(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", dev=(0, 0), uid=0, gid=0,
           mtime=1700000000, xattrs=None):
    ti = tarfile.TarInfo(name)  # verbatim: "../x" and "/etc/x" stay as they are
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.mtime = mtime
    ti.linkname = link
    ti.devmajor, ti.devminor = dev
    if isinstance(data, str):
        data = data.encode()
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    return ti, data


def f(name, data=b"", **kw):
    return member(name, data=data, **kw)


def d(name, mode=0o755, **kw):
    return member(name, tarfile.DIRTYPE, mode=mode, **kw)


def sym(name, target, **kw):
    return member(name, tarfile.SYMTYPE, link=target, mode=0o777, **kw)


def hard(name, target, **kw):
    return member(name, tarfile.LNKTYPE, link=target, **kw)


def chr_(name, major, minor, **kw):
    return member(name, tarfile.CHRTYPE, dev=(major, minor), **kw)


def blk(name, major, minor, **kw):
    return member(name, tarfile.BLKTYPE, dev=(major, minor), **kw)


def fifo(name, **kw):
    return member(name, tarfile.FIFOTYPE, **kw)


def tar(*members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def header(name, typeflag, size):
    """A ustar header as rawtar::header in tests/support writes it."""
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    h[136:148] = b"%011o\0" % 1700000000
    h[156:157] = typeflag.encode()
    h[257:265] = b"ustar\x0000"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def padded(data):
    return data + b"\0" * (-len(data) % 512)


def pax_record(key, value):
    body = " %s=%s\n" % (key, value)
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n += 1
    return ("%d%s" % (n, body)).encode()


END = b"\0" * 1024


def corrupt_checksum(data, offset):
    b = bytearray(data)
    b[offset + 148] = ord("7") if b[offset + 148] != ord("7") else ord("1")
    return bytes(b)


def zstd(data):
    if not shutil.which("zstd"):
        return None
    return subprocess.run(["zstd", "-q", "-c", "-19"], input=data, capture_output=True,
                          check=True).stdout


def gnu_sparse(fmt):
    """A sparse file as GNU tar writes it (old GNU or pax 1.0 sparse)."""
    if not shutil.which("tar"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sparse")
        with open(path, "wb") as out:
            out.write(b"head")
            out.seek(1 << 20)
            out.write(b"middle")
            out.truncate(4 << 20)
        args = ["tar", "-C", tmp, "--sparse", "--numeric-owner", "--owner=0", "--group=0",
                "--mtime=@1700000000", "-b1", "-cf", "-"]
        if fmt == "pax":
            args += ["--format=posix", "--sparse-version=1.0",
                     "--pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f"]
        else:
            args += ["--format=gnu"]
        return subprocess.run(args + ["sparse"], capture_output=True, check=True).stdout


def tars():
    basic = tar(
        d("./", mode=0o755),
        d("etc"),
        f("etc/hostname", "box\n"),
        sym("etc/alt", "/etc/passwd"),
        sym("up", "../../.."),
        hard("etc/hostname2", "etc/hostname"),
        f("etc/attr", "a", xattrs={"user.note": "kept"}),
        f("bin/sh", "#!sh\n", mode=0o4755, uid=1000, gid=1000),
        d("tmp", mode=0o1777),
        d("locked", mode=0o000),
        f("locked/inside", "x", mode=0o000),
    )
    yield "basic.tar", basic
    yield "basic.tar.gz", gzip.compress(basic, mtime=0)
    yield "basic.tar.gz.trailing", gzip.compress(basic, mtime=0) + b"trailing bytes"
    yield "basic.tar.xz", lzma.compress(basic)
    yield "basic.tar.bz2", bz2.compress(basic)
    z = zstd(basic)
    if z:
        yield "basic.tar.zst", z
    yield "gnu_format.tar", tar(d("a"), f("a/b", "gnu"), sym("a/c", "b"), fmt=tarfile.GNU_FORMAT)
    yield "ustar_format.tar", tar(d("a"), f("a/b", "ustar"), fmt=tarfile.USTAR_FORMAT)

    yield "whiteouts.tar", tar(
        d("a"), f("a/.wh.b"), f("a/.wh..wh..opq"), f(".wh.gone"),
        f("d/.wh..wh..opq"), f(".wh..wh.plnk/123"), d(".wh..wh.aufs"),
        f("x/.wh..wh.orph"))
    yield "whiteout_invalid.tar", tar(f(".wh..."))
    yield "whiteout_invalid_dot.tar", tar(d("a"), f("a/.wh.."))
    yield "whiteout_then_file.tar", tar(f(".wh.x"), f("x", "again"))
    yield "devices.tar", tar(
        d("dev"), chr_("dev/null", 1, 3), blk("dev/sda", 8, 0), fifo("dev/p"),
        chr_("dev/wh", 0, 0), chr_("dev/big", 4095, 1048575))
    yield "owners.tar", tar(
        f("a", "x", uid=4294967294, gid=65534), d("d", uid=1000, gid=1000, mode=0o2750),
        f("neg_time", "t", mtime=-1), f("big_time", "t", mtime=8**11 - 1))
    yield "overlay_xattrs.tar", tar(
        d("o", xattrs={"trusted.overlay.opaque": "y", "user.overlay.opaque": "y"}),
        f("o/f", "x", xattrs={"user.containers.override_stat": "0:0:04755:file",
                               "trusted.overlay.redirect": "/etc",
                               "user.overlay.metacopy": "",
                               "security.capability": "\x01\x00\x00\x02",
                               "trusted.other": "v", "user.fuseoverlayfs.opaque": "y"}))
    yield "root_member.tar", tar(d(".", mode=0o700, uid=5, gid=5), f("f", "x"))
    yield "root_not_dir.tar", tar(f(".", "x"))

    # Names that leave the layer.
    yield "dotdot.tar", tar(d("a"), f("../x", "escaped"))
    yield "dotdot_deep.tar", tar(d("a"), f("a/b/../../../c", "escaped"))
    yield "dotdot_dir.tar", tar(d("../d"))
    yield "dotdot_symlink.tar", tar(sym("../l", "x"))
    yield "absolute.tar", tar(f("/etc/x", "x"))
    yield "absolute_dir.tar", tar(d("/tmp/d"))

    # Writes through symlinks.
    yield "symlink_abs.tar", tar(sym("lnk", "/tmp"), f("lnk/file", "escaped"))
    yield "symlink_abs_deep.tar", tar(sym("lnk", "/tmp"), f("lnk/sub/file", "escaped"))
    yield "symlink_abs_kinds.tar", tar(
        sym("lnk", "/tmp"), d("lnk/d"), sym("lnk/s", "x"), hard("lnk/h", "lnk"), fifo("lnk/p"))
    yield "symlink_abs_whiteout.tar", tar(sym("lnk", "/tmp"), f("lnk/.wh.x"),
                                          f("lnk/.wh..wh..opq"))
    yield "symlink_slash.tar", tar(sym("./lnk/", "/tmp"), f("lnk//file/", "escaped"))
    yield "symlink_rel.tar", tar(sym("lnk", "../../.."), f("lnk/x", "escaped"))
    yield "symlink_rel_root.tar", tar(sym("lnk", "../../../../../../../../../.."),
                                      d("lnk/tmp"), f("lnk/tmp/x"))
    yield "symlink_inside.tar", tar(d("d"), sym("lnk", "d"), f("lnk/f", "x"))
    yield "symlink_dir_later.tar", tar(sym("d", "."), d("d"))

    # Hard links.
    yield "hardlink_dotdot.tar", tar(hard("h", "../x"))
    yield "hardlink_abs.tar", tar(hard("h", "/etc/passwd"))
    yield "hardlink_missing.tar", tar(hard("h", "etc/passwd"))
    yield "hardlink_later.tar", tar(hard("h", "later"), f("later", "x"))
    yield "hardlink_through_symlink.tar", tar(d("d"), f("d/f"), sym("lnk", "d"),
                                              hard("h", "lnk/f"))
    yield "hardlink_dir.tar", tar(d("d"), hard("h", "d"))
    yield "hardlink_symlink.tar", tar(sym("out", "/etc/passwd"), hard("out2", "out"))

    # A path named twice.
    yield "dup_file.tar", tar(f("f", "1"), f("f", "2"))
    yield "dup_spelled.tar", tar(f("a/f", "1"), f("./a//f", "2"))
    yield "dup_file_symlink.tar", tar(f("f", "1"), sym("f", "x"))
    yield "dup_file_hardlink.tar", tar(f("f", "1"), f("g", "2"), hard("f", "g"))
    yield "dup_dir_after_implicit.tar", tar(f("a/b", "x"), d("a", mode=0o700))
    yield "file_as_parent.tar", tar(f("a", "x"), f("a/b", "y"))

    # Long names.
    long_dir = "/".join(["d" * 60] * 3)
    yield "longname_gnu.tar", tar(f(long_dir + "/f", "x"), fmt=tarfile.GNU_FORMAT)
    yield "longname_pax.tar", tar(f(long_dir + "/f", "x"), sym("l" * 120, "t" * 200))
    yield "name_max.tar", tar(f("n" * 255, "x"), f("m" * 256, "y"))
    yield "whiteout_name_max.tar", tar(f(".wh." + "w" * 251), f(".wh." + "v" * 252))

    # Damaged tars, as the hostile tests build them.
    good = tar(f("a", "a" * 700), f("b", "bbb"), f("c", "c" * 2000), fmt=tarfile.USTAR_FORMAT)
    yield "truncated_data.tar", good[:512 + 1024 + 512 + 512 + 1000]
    yield "truncated_header.tar", good[:512 + 1024 + 100]
    yield "bad_checksum.tar", corrupt_checksum(good, 512 + 1024)
    plain = header("f", "0", 5) + padded(b"hello")
    yield "umoci_cut_short.tar", plain[:512 + 5]
    yield "umoci_cut_short_2.tar", header("a", "0", 3) + padded(b"abc") + header("b", "0", 2) + b"bb"
    yield "pax_huge_header.tar", header("PaxHeaders/f", "x", 1 << 40) + padded(
        pax_record("path", "f")) + plain + END
    yield "pax_size_claim.tar", header("PaxHeaders/big", "x", len(pax_record("size", 1 << 50))) + \
        padded(pax_record("size", 1 << 50)) + header("big", "0", 5) + padded(b"hello") + END
    pax = pax_record("path", "../esc") + pax_record("linkpath", "/etc")
    yield "pax_path_linkpath.tar", header("PaxHeaders/x", "x", len(pax)) + padded(pax) + \
        header("h", "1", 0) + END
    yield "base256_size.tar", header("b", "0", 8**11) + padded(b"x") + END
    yield "end_marker_only.tar", END
    yield "empty", b""
    yield "not_a_tar", bytes((i * 7919 + 13) % 251 + 1 for i in range(1024))

    for fmt in ("gnu", "pax"):
        s = gnu_sparse(fmt)
        if s:
            yield "sparse_%s.tar" % fmt, s


# ---- OCI JSON -----------------------------------------------------------------

H1, H2, H3 = "1" * 64, "2" * 64, "0123456789abcdef" * 4
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def desc(media, hexd, size, **extra):
    out = {"mediaType": media, "digest": "sha256:" + hexd, "size": size}
    out.update(extra)
    return out


def oci_json():
    def j(v):
        return json.dumps(v, indent=None, separators=(",", ":"))

    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc(
        OCI_MANIFEST, H1, 123,
        annotations={"org.opencontainers.image.ref.name": "latest",
                     "io.containerd.image.name": "docker.io/library/busybox:latest"},
        platform={"os": "linux", "architecture": "amd64"})]}
    yield "index.json", j(index)
    yield "index_docker_list.json", j({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [desc("application/vnd.docker.distribution.manifest.v2+json", H2, 528,
                           platform={"architecture": "arm64", "os": "linux", "variant": "v8"}),
                      desc(OCI_MANIFEST, H3, 1, platform=None, annotations=[1])]})
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": desc(OCI_CONFIG, H1, 456),
                "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", H2, 1000),
                           desc("application/vnd.oci.image.layer.v1.tar+zstd", H3, 2000),
                           desc("application/vnd.oci.image.layer.v1.tar", H1, 3000)]}
    yield "manifest.json", j(manifest)
    yield "manifest_docker.json", j({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": desc("application/vnd.docker.container.image.v1+json", H1, 1469),
        "layers": [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", H2, 2000),
                   desc("application/vnd.docker.image.rootfs.diff.tar", H3, 3000),
                   desc("application/vnd.docker.image.rootfs.diff.tar.zstd", H1, 4000)]})
    yield "manifest_bad_layer_type.json", j(dict(manifest, layers=[desc("text/plain", H2, 1)]))
    yield "descriptor_sizes.json", j({"schemaVersion": 2, "manifests": [
        desc(OCI_MANIFEST, H1, -1), desc(OCI_MANIFEST, H1, 1.5),
        desc(OCI_MANIFEST, H1, 18446744073709551615), desc(OCI_MANIFEST, H1, "1")]})
    yield "descriptor_digests.json", j({"schemaVersion": 2, "manifests": [
        {"digest": "sha512:" + "a" * 128, "size": 1}, {"digest": "sha256:" + "A" * 64, "size": 1},
        {"digest": "sha256:" + "a" * 63, "size": 1}, {"digest": 5, "size": 1}, {"size": 1}, 7]})
    yield "schema_version.json", '{"schemaVersion":"2","manifests":[]}'
    yield "schema_version_float.json", '{"schemaVersion":2.0,"manifests":null,"layers":{}}'
    config = {
        "created": "2024-01-02T03:04:05.123456789Z", "author": "someone",
        "architecture": "amd64", "os": "linux", "variant": "v8",
        "config": {"Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], "Cmd": ["sh"],
                   "Entrypoint": None, "WorkingDir": "/app", "User": "1000:1000",
                   "Labels": {"maintainer": "someone"}, "ExposedPorts": {"22/tcp": {}},
                   "Volumes": {"/data": {}}, "StopSignal": "SIGTERM", "OnBuild": None},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + H1, "sha256:" + H2]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD file:x in /"},
                    {"created": "2024-01-02T03:04:05Z", "created_by": "CMD [\"sh\"]",
                     "comment": "buildkit", "empty_layer": True}]}
    yield "config.json", j(config)
    yield "config_minimal.json", j({"rootfs": {"diff_ids": []}})
    yield "config_odd_types.json", j({
        "created": None, "architecture": "amd64", "os": "linux",
        "config": {"Env": "PATH=/x", "Cmd": "sh", "Labels": ["a"], "ExposedPorts": 80,
                   "Volumes": None, "WorkingDir": None},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + H1]},
        "history": [{"empty_layer": "yes", "comment": None}]})
    yield "config_bad_diff_ids.json", j({"rootfs": {"diff_ids": ["sha256:xyz", 5, None]},
                                         "history": [1]})
    yield "config_not_object.json", j({"rootfs": [], "config": [], "history": {}})
    yield "unicode.json", '{"author":"\\ud83d\\ude00 \\u00e9","rootfs":{"diff_ids":[]},' \
                          '"created":"\\u0000"}'
    yield "nested.json", '{"rootfs":{"diff_ids":[]},"x":' + "[" * 200 + "]" * 200 + "}"
    # One level past the limit (the document and 1000 arrays).
    yield "nested_too_deep.json", '{"rootfs":{"diff_ids":[]},"x":' + "[" * 1000 + "]" * 1000 + "}"
    yield "not_object.json", "[1,2,3]"
    yield "malformed.json", '{"schemaVersion":2,'
    yield "empty", ""


# ---- names, paths and xattr values --------------------------------------------

def whiteout():
    names = [
        "file", ".wh.file", ".wh..wh..opq", ".wh.", ".wh..wh.", ".wh..wh.aufs", ".wh...",
        ".wh..", ".wh..opq", "a/b/.wh.c", "a/.wh..wh..opq", ".wh..wh.plnk/123", "./a//b/", "./",
        ".", "..", "../x", "a/../../b", "/etc/passwd", "a" * 255, ".wh." + "w" * 251,
        "/".join(["p" * 255] * 17), "trusted.overlay.opaque", "user.overlay.redirect",
        "user.fuseoverlayfs.opaque", "user.containers.override_stat", "user.note", "y",
        "0:0:0755", "1000:1000:0644:file", "0:0:0755:dir", "0:0:0777:symlink", "0:0:0600:pipe",
        "0:0:0600:socket", "0:0:0600:char-1-3", "0:0:0660:block-8-0",
        "4294967295:4294967295:07777:char-4294967295-4294967295", "0:0:755", "0:0:010000",
        "0:0:0755:block-1", "a\0b",
    ]
    for i, n in enumerate(names):
        yield "%02d" % i, n


def mount_options():
    argvs = [
        ["-o", "lowerdir=/l", "/mnt"],
        ["-o", "lowerdir=/l1:/l2,upperdir=/u,workdir=/w", "-f", "/mnt"],
        ["-o", "lowerdir=/l1:/l2", "-oupperdir=/u,workdir=/w", "-o", "ro,noatime", "/mnt"],
        ["overlay", "/mnt", "-o", "lowerdir=/l,rw,nodev,nosuid,allow_other,default_permissions"],
        ["-o", r'lowerdir=/a\,b:/c\:d:/e\\,context="x,y",redirect_dir=on', "/mnt"],
        ["-o", "lowerdir=/l,squash_to_root,squash_to_uid=1000,squash_to_gid=1000", "/m"],
        ["-o", "lowerdir=/l,uidmapping=0:100000:65536:65536:1000:1,gidmapping=0:100000:65536",
         "/m"],
        ["-o", "lowerdir=/l,xattr_permissions=2,volatile,fsync=1,static_nlink,noxattrs=1", "/m"],
        ["-o", "lowerdir=/l,timeout=1.5e3,threaded=0,passthrough=0,io_uring=1,metacopy=on",
         "/m"],
        ["-d", "-o", "lowerdir=/l,noxattrs,relatime,strictatime,sync,async,dirsync", "/m"],
        ["-o", "lowerdir=/l,timeout=-1", "/m"],
        ["-o", "lowerdir=/l,uidmapping=0:0:0", "/m"],
        ["-o", "lowerdir=/l,squash_to_uid=4294967296", "/m"],
        ["-o", "lowerdir=", "/m"],
        ["-o", "upperdir=/u", "/m"],
        ["-h"],
        ["-V"],
        ["-o"],
        ["-x"],
        ["a", "b", "c"],
        ["-o", 'lowerdir="/q,u:o"\\', "/m"],
    ]
    for i, argv in enumerate(argvs):
        yield "%02d" % i, "\0".join(argv)


def main():
    generators = {"unpack": tars, "oci_json": oci_json, "whiteout": whiteout,
                  "mount_options": mount_options}
    for target, gen in generators.items():
        for name, data in gen():
            if data is not None:
                write(target, name, data)
    total = sum(os.path.getsize(os.path.join(dp, n))
                for dp, _, names in os.walk(CORPUS) for n in names)
    print("corpus: %d bytes under %s" % (total, CORPUS), file=sys.stderr)


if __name__ == "__main__":
    main()
