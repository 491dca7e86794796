#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Copy ELF programs and plugins from an unpacked ppc64el Debian tree into a guest root,
with every shared library they need (DT_NEEDED, followed), at the same paths.

    rootfs.py SRC_ROOT DEST_ROOT PATH...     (PATHs inside SRC_ROOT, or absolute host files)
"""
import os
import pathlib
import shutil
import subprocess
import sys

LIBDIRS = ["lib/powerpc64le-linux-gnu", "usr/lib/powerpc64le-linux-gnu", "lib64"]


def needed(path):
    out = subprocess.run(["powerpc64le-linux-gnu-objdump", "-p", str(path)], capture_output=True, text=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.strip().startswith("NEEDED")]


def find(src, soname):
    for d in LIBDIRS:
        p = src / d / soname
        if p.exists() or p.is_symlink():
            return d, p
    return None, None


def copy(src, dest, rel):
    """Copy SRC/rel to DEST/rel, a symlink as a symlink plus what it points to."""
    s, d = src / rel, dest / rel
    d.parent.mkdir(parents=True, exist_ok=True)
    if s.is_symlink():
        target = os.readlink(s)
        if not d.is_symlink() and not d.exists():
            os.symlink(target, d)
        # one link at a time: a chain of links is copied link by link
        nxt = pathlib.Path(os.path.normpath(rel.parent / target)) if not target.startswith("/") \
            else pathlib.Path(target.lstrip("/"))
        return copy(src, dest, nxt) if (src / nxt).exists() or (src / nxt).is_symlink() else None
    if not d.exists():
        shutil.copy2(s, d)
    return d


def main():
    src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    todo, seen, missing = [], set(), []
    for p in sys.argv[3:]:
        p = pathlib.Path(p)
        if p.is_absolute() and not str(p).startswith(str(src)):
            d = dest / "plugins" / p.name
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, d)
            todo.append(p)
        else:
            rel = p.relative_to(src) if p.is_absolute() else p
            copy(src, dest, rel)
            todo.append(src / rel)
    # the ELF interpreter is /lib64/ld64.so.2; a merged-/usr tree (Debian 13 on) has it in
    # usr/lib64 only, and the guest gets the merged layout's links
    if not (src / "lib64").exists():
        for top in ("lib", "lib64"):
            if not (dest / top).exists() and not (dest / top).is_symlink():
                os.symlink(f"usr/{top}", dest / top)
        copy(src, dest, pathlib.Path("usr/lib64/ld64.so.2"))
    else:
        copy(src, dest, pathlib.Path("lib64/ld64.so.2"))
    while todo:
        f = todo.pop()
        for so in needed(f):
            if so in seen:
                continue
            seen.add(so)
            if (dest / "plugins" / so).exists():
                continue  # one of the plugins (LD_LIBRARY_PATH=/plugins in the guest)
            d, p = find(src, so)
            if p is None:
                missing.append(so)
                continue
            copy(src, dest, pathlib.Path(d) / so)
            todo.append(p.resolve() if p.is_symlink() else p)
    if missing:
        print("not found: " + " ".join(sorted(set(missing))), file=sys.stderr)
        return 1
    print(f"{len(seen)} libraries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
