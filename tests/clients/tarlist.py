#!/usr/bin/python3
"""Lists what a tar or an OCI image layout holds, in a form that does not depend
on the overlay back end that produced it: one line per entry, sorted by path,
with its type, mode, owner, size, a hash of its content, a symlink's target and
its xattrs; hard links as groups of names (which name a tar writer lists first
depends on directory order). Times are left out.

  tarlist.py tar FILE.tar      a rootfs tar (podman export)
  tarlist.py oci DIR [SKIP]    every layer of the OCI layout's single image
                               but the first SKIP (the base image's), top last,
                               then the config's User, Cmd, Entrypoint, Env and
                               WorkingDir
"""
import hashlib
import json
import os
import sys
import tarfile

TYPES = {
    tarfile.REGTYPE: "f", tarfile.AREGTYPE: "f", tarfile.CONTTYPE: "f",
    tarfile.DIRTYPE: "d", tarfile.SYMTYPE: "l", tarfile.LNKTYPE: "h",
    tarfile.CHRTYPE: "c", tarfile.BLKTYPE: "b", tarfile.FIFOTYPE: "p",
}


def norm(name):
    while name.startswith("./"):
        name = name[2:]
    if name in (".", "/"):
        name = ""
    return "/" + name.strip("/")


def listing(fileobj):
    tar = tarfile.open(fileobj=fileobj, mode="r|")
    entries = {}
    content = {}
    links = []  # (name, target)
    for m in tar:
        path = norm(m.name)
        kind = TYPES.get(m.type, "?" + m.type.decode(errors="replace"))
        line = "%s %s %04o %d:%d" % (path, kind, m.mode & 0o7777, m.uid, m.gid)
        if kind == "f":
            data = tar.extractfile(m).read()
            digest = hashlib.sha256(data).hexdigest()[:16]
            content[path] = (m.size, digest)
            line += " size=%d sha256=%s" % (m.size, digest)
        elif kind == "l":
            line += " -> %s" % m.linkname
        elif kind == "h":
            links.append((path, norm(m.linkname)))
        elif kind in "cb":
            line += " %d,%d" % (m.devmajor, m.devminor)
        xattrs = sorted((k[len("SCHILY.xattr."):], v) for k, v in m.pax_headers.items()
                        if k.startswith("SCHILY.xattr."))
        for k, v in xattrs:
            line += " xattr:%s=%r" % (k, v)
        entries[path] = line
    # A hard link shows as the file it names (with that file's content), and
    # the names of each linked file are listed once as a group.
    groups = {}
    for name, target in links:
        root = target
        while root in groups and groups[root] != root:
            root = groups[root]
        groups.setdefault(root, root)
        groups[name] = root
        base = entries.get(root)
        if base is None:
            entries[name] = "%s h ? (link to missing %s)" % (name, target)
        else:
            entries[name] = name + base[len(root):]
    out = [entries[p] for p in sorted(entries)]
    members = {}
    for name, root in groups.items():
        members.setdefault(root, set()).add(name)
    for root in sorted(members):
        out.append("hard links: " + " = ".join(sorted(members[root])))
    return out


def oci(layout, skip):
    def blob(digest):
        algo, hexd = digest.split(":", 1)
        return os.path.join(layout, "blobs", algo, hexd)

    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    (desc,) = index["manifests"]
    with open(blob(desc["digest"])) as f:
        manifest = json.load(f)
    out = []
    for i, layer in enumerate(manifest["layers"], 1):
        if i <= skip:
            continue
        out.append("== layer %d (%s)" % (i, layer["mediaType"].rsplit(".", 1)[-1]))
        with open(blob(layer["digest"]), "rb") as f:
            out.extend(listing(f))
    with open(blob(manifest["config"]["digest"])) as f:
        config = json.load(f).get("config", {})
    out.append("== config")
    for key in ("User", "Cmd", "Entrypoint", "Env", "WorkingDir"):
        value = config.get(key)
        if key == "Env" and value:
            value = sorted(value)  # podman's order is not stable
        out.append("%s: %s" % (key, json.dumps(value)))
    return out


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("tar", "oci"):
        sys.exit(__doc__)
    if sys.argv[1] == "tar":
        with open(sys.argv[2], "rb") as f:
            lines = listing(f)
    else:
        lines = oci(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 0)
    sys.stdout.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()
