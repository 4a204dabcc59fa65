"""What every `firmware.build --src` shares, coreboot tree (fwenv.firmware.tree) or Heads
checkout (fwenv.firmware.heads_tree): the options, and how the tree is named in provenance."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fsutil import sha256_file


@dataclass(frozen=True)
class TreeOptions:
    """How to build a board of a user's tree (see `invoke firmware.build --help`)."""

    image: str
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    config: str = ""  # a defconfig (savedefconfig output or fragment); default: the board's
    check: bool = False  # build twice (other obj path, uid), require identical ROMs
    boot: bool = False  # boot-check the ROM in QEMU (emulation boards)
    ccache: bool = False  # keep compiler output in a named volume (never with --check)
    timeout: float = 120


def tree_identity(tree: Path, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The tree's git commit (and whether it has local changes), or a content hash of every
    file (path, mode, bytes; not under the top-level dirs `exclude`) when it is not a git
    checkout."""
    if (tree / ".git").exists() and shutil.which("git"):
        git = ["git", "--no-optional-locks", "-c", f"safe.directory={tree}", "-C", str(tree)]
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode == 0:
            dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True).stdout.strip()
            return {"kind": "git", "commit": head.stdout.strip(), "dirty": bool(dirty)}
    return {"kind": "content", "sha256": content_hash(tree, exclude)}


def content_hash(tree: Path, exclude: tuple[str, ...] = ()) -> str:
    """sha256 over every entry's relative path, type/mode and content, in sorted order."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(tree):
        if Path(dirpath) == tree:
            dirnames[:] = [d for d in dirnames if d not in exclude]
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(
                os.path.join(dirpath, d))]):
            p = Path(dirpath) / name
            rel = p.relative_to(tree).as_posix()
            st = p.lstat()
            if p.is_symlink():
                h.update(f"L {rel} {os.readlink(p)}\n".encode())
            else:
                h.update(f"F {rel} {st.st_mode & 0o777:o} {sha256_file(p)}\n".encode())
    return h.hexdigest()
