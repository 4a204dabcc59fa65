"""What Guix would say about each store item a pack ships, read from the pack archive alone:
its NAR hash and size (what `guix path-info`/`guix gc --query-hash` report) and its references
(found the way the daemon finds them: by scanning the item's bytes for the hash parts of the
other items' file names).

Used by the SBOM (component hashes, dependency graph), the mismatch triage (which items of two
packs differ, and which of those is lowest in the graph) and the release report (largest items).
Layers are copied once to an uncompressed temp file, so items are read in NAR order (entries of a
directory sorted by name) without holding them in memory.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import FwenvError
from .verify import open_tar

STORE = "gnu/store/"
_HASH = re.compile(rb"[0-9a-df-np-sv-z]{32}")
_ITEM = re.compile(r"^gnu/store/([0-9a-df-np-sv-z]{32})-[^/]+$")
CHUNK = 1 << 20


@dataclass(frozen=True)
class ItemInfo:
    path: str  # /gnu/store/<hash>-<name>
    nar_sha256: str  # hex sha256 of the item's NAR serialization
    nar_size: int
    references: tuple[str, ...]  # other items of the pack it refers to (itself excluded)
    programs: bool = False  # it has bin/ or sbin/


@dataclass(frozen=True)
class _Member:
    tar: tarfile.TarFile
    info: tarfile.TarInfo


def _norm(name: str) -> str:
    return posixpath.normpath(name.removeprefix("./").lstrip("/")) if name.strip("./") else ""


@contextmanager
def _layers(archive: Path) -> Iterator[list[tarfile.TarFile]]:
    """Each layer (or the plain tarball itself) as a seekable, uncompressed tar."""
    with ExitStack() as stack, open_tar(archive) as outer:
        members = outer.getmembers()
        inner = [m for m in members if m.isfile() and m.name.endswith("layer.tar")]
        if not inner:  # a plain `guix pack` tarball: its members are the files
            yield [outer]
            return
        out = []
        for m in inner:
            f = outer.extractfile(m)
            assert f is not None
            tmp = stack.enter_context(tempfile.TemporaryFile(prefix="fwenv-layer-"))
            shutil.copyfileobj(f, tmp, CHUNK)
            tmp.seek(0)
            out.append(stack.enter_context(tarfile.open(fileobj=tmp, mode="r:")))
        yield out


def _index(layers: list[tarfile.TarFile]) -> dict[str, _Member]:
    files: dict[str, _Member] = {}
    for tf in layers:  # later layers win, as in the image
        for m in tf.getmembers():
            name = _norm(m.name)
            if name.startswith(STORE):
                files[name] = _Member(tf, m)
    for name in list(files):  # a directory only implied by its files
        parent = posixpath.dirname(name)
        while parent.startswith(STORE) and parent not in files:
            d = tarfile.TarInfo(parent)
            d.type, d.mode = tarfile.DIRTYPE, 0o555
            files[parent] = _Member(layers[0], d)
            parent = posixpath.dirname(parent)
    return files


class _Nar:
    """A NAR serializer that only hashes, counts and scans (as the daemon scans a NAR for
    references: contents, symlink targets and names) what it would write."""

    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.size = 0
        self.found: set[bytes] = set()  # every hash-shaped string in the stream
        self.tail = b""

    def raw(self, b: bytes) -> None:
        self.h.update(b)
        self.size += len(b)
        if b.strip(b"\0"):
            self.found.update(_HASH.findall(self.tail + b))
            self.tail = b[-31:]
        else:  # padding or a length: no hash spans it
            self.tail = b""

    def str(self, s: bytes) -> None:
        self.raw(len(s).to_bytes(8, "little"))
        self.raw(s)
        if len(s) % 8:
            self.raw(b"\0" * (8 - len(s) % 8))

    def contents(self, f: IO[bytes] | None, size: int) -> None:
        self.raw(size.to_bytes(8, "little"))
        while f is not None and (chunk := f.read(CHUNK)):
            self.raw(chunk)
        if size % 8:
            self.raw(b"\0" * (8 - size % 8))


def _serialize(nar: _Nar, files: dict[str, _Member], children: dict[str, list[str]],
               name: str) -> None:
    m = files[name]
    nar.str(b"(")
    nar.str(b"type")
    info = m.info
    if info.issym():
        nar.str(b"symlink")
        nar.str(b"target")
        nar.str(info.linkname.encode())
    elif info.isdir():
        nar.str(b"directory")
        for child in sorted(children.get(name, ()), key=lambda c: c.encode()):
            nar.str(b"entry")
            nar.str(b"(")
            nar.str(b"name")
            nar.str(child.rsplit("/", 1)[-1].encode())
            nar.str(b"node")
            _serialize(nar, files, children, child)
            nar.str(b")")
    else:
        if info.islnk():  # a hard link: the contents of the file it links to
            target = files.get(_norm(info.linkname))
            if target is None:
                raise FwenvError(f"{name} is a hard link to {info.linkname}, absent from the "
                                 "pack: the archive is damaged; rebuild it")
            m = target
        nar.str(b"regular")
        if m.info.mode & 0o100:
            nar.str(b"executable")
            nar.str(b"")
        nar.str(b"contents")
        nar.contents(m.tar.extractfile(m.info), m.info.size)
    nar.str(b")")


def store_info(archive: Path) -> dict[str, ItemInfo]:
    """Every store item of a pack (docker archive or plain tarball) -> its ItemInfo."""
    with _layers(archive) as layers:
        files = _index(layers)
        children: dict[str, list[str]] = {}
        for name in files:
            parent = posixpath.dirname(name)
            if parent != "gnu/store":
                children.setdefault(parent, []).append(name)
        items = sorted(n for n in files if _ITEM.match(n))
        hashes = {n.split("/")[2][:32].encode(): n for n in items}
        out = {}
        for item in items:
            nar = _Nar()
            nar.str(b"nix-archive-1")
            _serialize(nar, files, children, item)
            own = item.split("/")[2][:32].encode()
            refs = tuple(sorted("/" + hashes[h] for h in nar.found if h in hashes and h != own))
            programs = any(f"{item}/{d}" in files for d in ("bin", "sbin"))
            out["/" + item] = ItemInfo("/" + item, nar.h.hexdigest(), nar.size, refs, programs)
    return out


def differing_items(a: dict[str, ItemInfo], b: dict[str, ItemInfo]) -> list[str]:
    """Items of both packs whose NAR differs, or that only one pack has, sorted."""
    return sorted(p for p in a.keys() | b.keys()
                  if p not in a or p not in b or a[p].nar_sha256 != b[p].nar_sha256)


def first_culprits(a: dict[str, ItemInfo], b: dict[str, ItemInfo]) -> list[str]:
    """The differing items none of whose own references differ: where a difference starts
    (an item that differs only because it embeds a differing one is not a culprit)."""
    diff = set(differing_items(a, b))
    out = []
    for p in sorted(diff):
        refs = set((a.get(p) or b[p]).references) | set((b.get(p) or a[p]).references)
        if not refs & diff:
            out.append(p)
    return out


def extract_item(archive: Path, item: str, dest: Path) -> Path:
    """Write one store item of a pack under `dest` (files, dirs, symlinks; nothing outside)."""
    root = dest / item.lstrip("/")
    prefix = item.lstrip("/")
    with _layers(archive) as layers:
        files = _index(layers)
        for name in sorted(n for n in files if n == prefix or n.startswith(prefix + "/")):
            m = files[name]
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if m.info.isdir():
                path.mkdir(exist_ok=True)
            elif m.info.issym():
                os.symlink(m.info.linkname, path)
            else:
                src = files.get(_norm(m.info.linkname)) if m.info.islnk() else m
                f = src.tar.extractfile(src.info) if src is not None else None
                with open(path, "wb") as out:
                    if f is not None:
                        shutil.copyfileobj(f, out, CHUNK)
                os.chmod(path, 0o755 if m.info.mode & 0o100 else 0o644)
    return root
