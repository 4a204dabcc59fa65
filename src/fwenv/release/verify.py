"""Checking releases: archive comparison, image digests, per-signer sums and signatures.

Nothing here builds; `release.py` calls these after its builds, `release.verify` on a sigs tree.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from ..errors import FwenvError
from ..fsutil import sha256_file

MAX_DIFF_LINES = 40


# -- archives ------------------------------------------------------------------------------------
@contextmanager
def open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    """Open a (gzip/xz/bzip2/zstd-compressed or plain) tar archive for random access."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"\x28\xb5\x2f\xfd":  # zstd: Python 3.11 has no zstd; decompress to a temp file
        if not shutil.which("zstd"):
            raise FwenvError(f"{path.name} is zstd-compressed: apt-get install zstd")
        with tempfile.TemporaryFile() as tmp:
            subprocess.run(["zstd", "-dc", str(path)], stdout=tmp, check=True)
            tmp.seek(0)
            with tarfile.open(fileobj=tmp, mode="r:") as tf:
                yield tf
        return
    try:
        tf = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as e:
        raise FwenvError(f"{path} is not a readable tar archive ({e}): rebuild it") from None
    with tf:
        yield tf


@dataclass(frozen=True)
class Entry:
    kind: str
    mode: int
    owner: str
    mtime: int
    link: str
    size: int
    sha256: str
    is_tar: bool = False

    def differences(self, other: Entry) -> list[str]:
        out = []
        for attr in ("kind", "mode", "owner", "mtime", "link", "size"):
            a, b = getattr(self, attr), getattr(other, attr)
            if a != b:
                shown = (oct(a), oct(b)) if attr == "mode" else (a, b)
                out.append(f"{attr} {shown[0]} vs {shown[1]}")
        if self.sha256 != other.sha256:
            out.append("content differs")
        return out


def _kind(m: tarfile.TarInfo) -> str:
    return {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir",
            tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink"}.get(m.type, "other")


def _hash_stream(f: IO[bytes] | None) -> tuple[str, bool]:
    if f is None:
        return "", False
    h = hashlib.sha256()
    head = f.read(512)
    is_tar = len(head) == 512 and head[257:262] == b"ustar"
    h.update(head)
    while chunk := f.read(1 << 20):
        h.update(chunk)
    return h.hexdigest(), is_tar


def index_tar(tf: tarfile.TarFile) -> dict[str, Entry]:
    out = {}
    for m in tf:
        digest, is_tar = _hash_stream(tf.extractfile(m)) if m.isfile() else ("", False)
        out[m.name.removeprefix("./")] = Entry(
            _kind(m), m.mode, f"{m.uid}:{m.gid}", int(m.mtime), m.linkname, m.size, digest, is_tar)
    return out


V = TypeVar("V")


def keyed_diff(a: Mapping[str, V], b: Mapping[str, V]) -> list[tuple[str, str]]:
    """(name, where) for every name whose values differ, by name: where is "first" (only in
    `a`), "second" (only in `b`) or "both" (in both, unequal)."""
    out = []
    for name in sorted(a.keys() | b.keys()):
        if name not in b:
            out.append((name, "first"))
        elif name not in a:
            out.append((name, "second"))
        elif a[name] != b[name]:
            out.append((name, "both"))
    return out


def _diff_index(a: dict[str, Entry], b: dict[str, Entry], prefix: str) -> list[str]:
    return [f"{prefix}{name}: " + (f"only in the {where} build" if where != "both"
                                   else ", ".join(a[name].differences(b[name])))
            for name, where in keyed_diff(a, b)]


def compare_archives(first: Path, second: Path) -> list[str]:
    """What differs between two image/pack archives: [] when bit-identical, else one line per
    differing member, and inside differing layer tars one line per differing file."""
    if sha256_file(first) == sha256_file(second):
        return []
    with open_tar(first) as ta, open_tar(second) as tb:
        ia, ib = index_tar(ta), index_tar(tb)
        lines = _diff_index(ia, ib, "")
        # Pair layers: by position in manifest.json (layer dirs are named by their hash, so a
        # changed layer has another name), else same-named tar members.
        pairs = list(zip(_layer_names(ta), _layer_names(tb), strict=False))
        paired = {a for a, _ in pairs}
        pairs += [(n, n) for n in sorted(ia.keys() & ib.keys())
                  if n not in paired and ia[n].is_tar and ib[n].is_tar]
        for na, nb in pairs:
            ea, eb = ia.get(na), ib.get(nb)
            if ea is None or eb is None or ea.sha256 == eb.sha256:
                continue
            with tarfile.open(fileobj=tar_member(ta, na), mode="r:") as la, \
                    tarfile.open(fileobj=tar_member(tb, nb), mode="r:") as lb:
                label = na if na == nb else f"{na} vs {nb}"
                lines += _diff_index(index_tar(la), index_tar(lb), f"layer {label}: ")
    if not lines:
        lines = ["archives differ only in compression or tar padding (members identical)"]
    return lines


def _layer_names(tf: tarfile.TarFile) -> list[str]:
    try:
        return [str(n).removeprefix("./") for n in json.load(tar_member(tf, "manifest.json"))[0]
                ["Layers"]]
    except (KeyError, IndexError, ValueError, TypeError):
        return []


# -- docker image archives -----------------------------------------------------------------------
@dataclass(frozen=True)
class ImageDigests:
    image_id: str  # sha256 of the config JSON = `docker images --no-trunc` ID
    diff_ids: tuple[str, ...]  # layer digests (sha256 of each uncompressed layer tar)
    repo_tags: tuple[str, ...] = ()


def image_digests(archive: Path) -> ImageDigests:
    """Image ID and layer digests of a `docker save`/`guix pack -f docker` archive, read offline."""
    with open_tar(archive) as tf:
        try:
            manifest = json.load(tar_member(tf, "manifest.json"))
            entry = manifest[0]
            config_bytes = tar_member(tf, entry["Config"]).read()
        except (KeyError, IndexError, ValueError, TypeError):
            raise FwenvError(f"{archive.name} is not a docker image archive (no manifest.json): "
                             "build the pack with --format docker") from None
    config = json.loads(config_bytes)
    return ImageDigests(
        "sha256:" + hashlib.sha256(config_bytes).hexdigest(),
        tuple(config.get("rootfs", {}).get("diff_ids", [])),
        tuple(entry.get("RepoTags") or ()),
    )


def tar_member(tf: tarfile.TarFile, name: str) -> IO[bytes]:
    """Member `name` (or `./name`, as Guix writes them) of an open archive; KeyError if absent."""
    for candidate in (name, "./" + name):
        try:
            f = tf.extractfile(candidate)
        except KeyError:
            continue
        if f is not None:
            return f
    raise KeyError(name)


def store_items(archive: Path) -> list[str]:
    """The /gnu/store items shipped in a pack (docker archive or plain tarball), sorted."""
    items: set[str] = set()

    def scan(tf: tarfile.TarFile) -> None:
        for m in tf:
            name = m.name.removeprefix("./").lstrip("/")
            parts = name.split("/")
            if len(parts) >= 3 and parts[0] == "gnu" and parts[1] == "store" and parts[2]:
                items.add("/gnu/store/" + parts[2])
            elif m.isfile() and name.endswith(".tar"):
                f = tf.extractfile(m)
                if f is not None:
                    with tarfile.open(fileobj=f, mode="r|*") as inner:
                        scan(inner)

    with open_tar(archive) as tf:
        scan(tf)
    return sorted(items)
