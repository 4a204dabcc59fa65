"""NAR hashes, sizes and references of store items read from a pack archive (no engine).

The expected NAR sha256 was computed by Guix itself (`guix hash -S nar -f hex -H sha256 DIR`
in the builder image, guix 1.5.0) over the same tree written to disk."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from fwenv.release.storeinfo import extract_item, first_culprits, store_info

pytestmark = pytest.mark.unit

A = "/gnu/store/" + "a" * 32 + "-t"
B = "/gnu/store/" + "b" * 32 + "-user-1.0"
C = "/gnu/store/" + "c" * 32 + "-top"
GUIX_NAR_SHA256 = "5f4a0d6bea7eaf3dd3068e3da7d36724eebb19a317279038073c090ee46bb3ee"


def _add(tf: tarfile.TarFile, name: str, *, data: bytes | None = None, mode: int = 0o644,
         link: str = "") -> None:
    info = tarfile.TarInfo(name.lstrip("/"))
    info.mode = mode
    if link:
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o555
    else:
        info.size = len(data)
    tf.addfile(info, io.BytesIO(data) if data is not None else None)


def _pack(path: Path, user_body: bytes, *, docker: bool = False) -> Path:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        # the tree guix hashed, in an order that is not NAR order
        _add(tf, A)
        _add(tf, A + "/sub/z", data=b"x" * 13)
        _add(tf, A + "/run", data=b"#!/bin/sh\necho hi\n", mode=0o755)
        _add(tf, A + "/link", link="a.txt")
        _add(tf, A + "/a.txt", data=b"hello\n")
        _add(tf, A + "/sub/empty", data=b"")
        _add(tf, B)
        _add(tf, B + "/bin/user", data=user_body, mode=0o755)
        _add(tf, C)
        _add(tf, C + "/bin", link=B + "/bin")
    if not docker:
        path.write_bytes(layer.getvalue())
        return path
    with tarfile.open(path, mode="w:xz") as outer:
        info = tarfile.TarInfo("0123/layer.tar")
        info.size = len(layer.getvalue())
        outer.addfile(info, io.BytesIO(layer.getvalue()))
    return path


@pytest.mark.parametrize("docker", [False, True])
def test_nar_hash_matches_guix_and_references_are_found(tmp_path: Path, docker: bool) -> None:
    body = b"#!/bin/sh\nexec " + A.encode() + b"/run\n"
    info = store_info(_pack(tmp_path / "p.tar", body, docker=docker))
    assert sorted(info) == [A, B, C]
    assert info[A].nar_sha256 == GUIX_NAR_SHA256
    assert info[A].references == ()
    assert info[B].references == (A,)
    assert info[C].references == (B,)  # a symlink target is a reference
    assert info[A].nar_size % 8 == 0 and info[A].nar_size > 13


def test_first_culprit_is_the_lowest_differing_item(tmp_path: Path) -> None:
    """Only B's contents differ (C, which refers to it, is identical here): B is the culprit;
    were C to differ too, B would still be the first."""
    one = store_info(_pack(tmp_path / "1.tar", b"#!/bin/sh\n# 1\n" + A.encode()))
    two = store_info(_pack(tmp_path / "2.tar", b"#!/bin/sh\n# 2\n" + A.encode()))
    assert first_culprits(one, two) == [B]
    changed = {**two, C: two[C].__class__(C, "0" * 64, 1, (B,))}
    assert first_culprits(one, changed) == [B]


def test_extract_item_writes_only_that_item(tmp_path: Path) -> None:
    archive = _pack(tmp_path / "p.tar", b"x", docker=True)
    root = extract_item(archive, A, tmp_path / "out")
    assert (root / "a.txt").read_bytes() == b"hello\n"
    assert (root / "link").is_symlink() and (root / "run").stat().st_mode & 0o100
    assert sorted(p.name for p in (tmp_path / "out" / "gnu" / "store").iterdir()) == [A[11:]]
