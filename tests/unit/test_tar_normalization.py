"""The builder tarball's normalization (fwenv.guix.rootfs): same tree → same bytes, whatever the
mtimes, atimes and creation order; and every normalization flag is an input of the warm skip."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fwenv.guix import rootfs
from fwenv.guix.rootfs import CLEANUP, RootfsRecipe, clean_rootfs, tar_argv
from fwenv.plan import Runner

RECIPE = RootfsRecipe(name="fwenv-unit", suite="sid", mirror="http://deb.debian.org/debian",
                      packages=("guix",), source_date_epoch=0)


def _tar(tree: Path, dest: Path, mtime: int = 0) -> str:
    subprocess.run(tar_argv(tree, dest, mtime), check=True, capture_output=True)
    return hashlib.sha256(dest.read_bytes()).hexdigest()


def _make_tree(root: Path, files: dict[str, bytes], *, order: list[str], mtime: int) -> Path:
    for name in order:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[name])
        os.utime(p, (mtime + 7, mtime))
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        os.utime(d, (mtime, mtime))
    os.utime(root, (mtime, mtime))
    return root


def test_tar_flags_normalize_order_time_owner_names_and_headers() -> None:
    argv = tar_argv(Path("/r"), Path("/o.tar"), 42)
    for flag in ("--sort=name", "--mtime=@42", "--numeric-owner", "--format=gnu"):
        assert flag in argv, flag


def test_same_tree_other_mtimes_and_order_same_sha256(tmp_path: Path) -> None:
    files = {"etc/passwd": b"root:x:0:0\n", "usr/bin/guix": b"\x7fELF", "a": b"", "z/y/x": b"x"}
    names = sorted(files)
    one = _make_tree(tmp_path / "one", files, order=names, mtime=1_000_000_000)
    two = _make_tree(tmp_path / "two", files, order=names[::-1], mtime=1_700_000_000)
    assert _tar(one, tmp_path / "1.tar") == _tar(two, tmp_path / "2.tar")


def test_archive_members_carry_the_clamped_mtime_numeric_owner_and_no_pax(tmp_path: Path) -> None:
    tree = _make_tree(tmp_path / "t", {"f": b"data"}, order=["f"], mtime=1_700_000_000)
    if os.geteuid() == 0:  # owners are content (guix-daemon's files): kept, by number only
        os.chown(tree / "f", 4321, 4321)
    _tar(tree, tmp_path / "t.tar", mtime=0)
    with tarfile.open(tmp_path / "t.tar") as tf:
        members = tf.getmembers()
        assert all(m.mtime == 0 for m in members)
        assert all(m.uname == "" and m.gname == "" for m in members)
        assert tf.pax_headers == {} and all(not m.pax_headers for m in members)
        assert [m.name for m in members] == sorted(m.name for m in members)
        if os.geteuid() == 0:
            assert tf.getmember("./f").uid == 4321


def test_same_tree_other_owner_gives_another_sha256_as_root(tmp_path: Path) -> None:
    """Ownership is part of the image (it is not normalized away); the same owners give the
    same bytes. Runs as root only (chown); CI runs as root."""
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    a = _make_tree(tmp_path / "a", {"f": b"1"}, order=["f"], mtime=5)
    b = _make_tree(tmp_path / "b", {"f": b"1"}, order=["f"], mtime=5)
    os.chown(b / "f", 1, 1)
    assert _tar(a, tmp_path / "a.tar") != _tar(b, tmp_path / "b.tar")
    os.chown(a / "f", 1, 1)
    assert _tar(a, tmp_path / "a.tar") == _tar(b, tmp_path / "b.tar")


_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12).filter(
    lambda s: s not in (".", ".."))
_trees = st.dictionaries(st.lists(_name, min_size=1, max_size=3).map("/".join), st.binary(max_size=64),
                         min_size=1, max_size=8).filter(
    # no name may be both a file and a directory
    lambda d: not any(other.startswith(n + "/") for n in d for other in d))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_trees, seed=st.randoms(use_true_random=False),
       t1=st.integers(0, 2**31 - 1), t2=st.integers(0, 2**31 - 1))
def test_property_tar_is_a_function_of_names_and_contents(tmp_path_factory, files, seed, t1, t2) -> None:
    base = tmp_path_factory.mktemp("prop")
    order = list(files)
    seed.shuffle(order)
    one = _make_tree(base / "one", files, order=sorted(files), mtime=t1)
    two = _make_tree(base / "two", files, order=order, mtime=t2)
    assert _tar(one, base / "1.tar") == _tar(two, base / "2.tar")
    with tarfile.open(base / "1.tar") as tf:
        got = {m.name.removeprefix("./"): tf.extractfile(m).read() for m in tf if m.isfile()}
    assert got == files


# -- the warm skip: every input of the tarball is in the inputs digest -----------------------------
@pytest.mark.parametrize("flag", ["--sort=name", "--mtime=@0", "--numeric-owner", "--format=gnu",
                                  "--exclude=./proc/*"])
def test_inputs_digest_changes_when_a_tar_flag_is_dropped(monkeypatch, flag: str) -> None:
    before = RECIPE.inputs_digest()
    real = rootfs.tar_argv
    monkeypatch.setattr(rootfs, "tar_argv", lambda *a: [x for x in real(*a) if x != flag])
    assert RECIPE.inputs_digest() != before, f"dropping {flag} would be hidden by a warm skip"


def test_inputs_digest_changes_with_the_cleanup_list_and_each_field(monkeypatch) -> None:
    before = RECIPE.inputs_digest()
    for changed in (replace(RECIPE, suite="trixie"), replace(RECIPE, packages=("guix", "xz-utils")),
                    replace(RECIPE, source_date_epoch=1), replace(RECIPE, snapshot="20261120T000000Z"),
                    replace(RECIPE, post_install=(("true",),)), replace(RECIPE, changes=("USER 1",)),
                    replace(RECIPE, labels=(("a", "b"),)), replace(RECIPE, extra=(("k", "v"),))):
        assert changed.inputs_digest() != before, changed
    monkeypatch.setattr(rootfs, "CLEANUP", CLEANUP[:-1])
    assert RECIPE.inputs_digest() != before
    monkeypatch.setattr(rootfs, "CLEANUP", CLEANUP)
    monkeypatch.setattr(rootfs, "APT_CONF", "")
    assert RECIPE.inputs_digest() != before


def test_inputs_digest_is_stable_and_ignores_a_trailing_mirror_slash() -> None:
    assert RECIPE.inputs_digest() == replace(RECIPE).inputs_digest()
    assert replace(RECIPE, mirror=RECIPE.mirror + "/").inputs_digest() == RECIPE.inputs_digest()


def test_clean_rootfs_removes_what_records_the_build(tmp_path: Path) -> None:
    r = tmp_path / "rootfs"
    for rel in ("var/log/apt/history.log", "var/cache/apt/pkgcache.bin", "etc/machine-id",
                "var/lib/apt/lists/x_Release", "etc/passwd-", "var/cache/ldconfig/aux-cache",
                "tmp/junk", "debootstrap/debootstrap.log", "usr/bin/keep"):
        (r / rel).parent.mkdir(parents=True, exist_ok=True)
        (r / rel).write_text("x")
    (r / "etc/shadow").write_text("root:*:20419:0:99999:7:::\nguix-daemon:!:20419::::::\n")
    clean_rootfs(r, Runner())
    left = sorted(p.relative_to(r).as_posix() for p in r.rglob("*") if p.is_file())
    assert left == ["etc/shadow", "usr/bin/keep"]
    assert (r / "etc/shadow").read_text() == "root:*::0:99999:7:::\nguix-daemon:!:::::::\n"
