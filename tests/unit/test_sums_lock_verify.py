"""SHA256SUMS parsing, the output lock under contention, and a pack checked against its
provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwenv.env.importer import verify_pack
from fwenv.errors import FwenvError
from fwenv.fsutil import atomic_path, output_lock, sha256_file
from fwenv.guix.provenance import SCHEMA_ID
from fwenv.release.sign import check_files, parse_sums, sums_text
from fwenv.release.signers import compare_sums

H = "0123456789abcdef" * 4


@pytest.mark.parametrize("text", [
    f"{H}  ../etc/passwd\n", f"{H}  a/b\n", f"{H.upper()}  f\n", f"{H[:-1]}  f\n", f"{H}f\n",
    f"{H}  f \n", f"{H}\tf\n", f"{H}  f\n{H}  f\n", "", "\n\n", f"{H}  -rf\n", f"{H}  .\n",
    f"{H}  \u0430\n", f" {H}  f\n",
])
def test_parse_sums_refuses(text: str) -> None:
    with pytest.raises(FwenvError):
        parse_sums(text)


def test_parse_sums_accepts_binary_marker_and_blank_lines() -> None:
    assert parse_sums(f"{H} *a.rom\n\n{H}  b\n") == {"a.rom": H, "b": H}


_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=40).filter(
    lambda s: s[0].isalnum() and ".." not in s)
_sums = st.dictionaries(_names, st.text("0123456789abcdef", min_size=64, max_size=64), min_size=1)


@given(_sums)
def test_property_sums_text_round_trips(sums: dict[str, str]) -> None:
    text = sums_text(sums)
    assert parse_sums(text) == sums
    assert text == sums_text(dict(reversed(list(sums.items()))))  # order-independent bytes


@given(_sums, st.data())
def test_property_compare_sums_names_each_difference(sums, data) -> None:
    name = data.draw(st.sampled_from(sorted(sums)))
    other = {**sums, name: "f" * 64 if sums[name] != "f" * 64 else "e" * 64}
    assert compare_sums(sums, other) == [f"{name} differs"]
    less = {k: v for k, v in sums.items() if k != name}
    assert compare_sums(sums, less) == [f"{name} missing"]
    assert compare_sums(less, sums) == [f"{name} extra"]
    assert compare_sums(sums, dict(sums)) == []


def test_check_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    sums = {"a": sha256_file(tmp_path / "a"), "b": sha256_file(tmp_path / "a"), "c": H}
    assert check_files(tmp_path, sums) == ["b: sha256 differs from SHA256SUMS", "c: missing"]


# -- output lock -------------------------------------------------------------------------------------
def test_output_lock_cleans_stale_temps_of_dead_runs_only(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],  # noqa: S603
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".pack.tar.gz.{gone}.x1.tmp").write_text("half")  # a dead run's
    (tmp_path / f".rootfs.{gone}.abc.tmp").mkdir()
    (tmp_path / f".out.json.{os.getpid()}.live.tmp").write_text("ours, in flight")
    (tmp_path / "pack.tar.gz").write_text("whole")
    (tmp_path / ".keep").write_text("dotfile")
    with output_lock(tmp_path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".fwenv.lock", ".keep", f".out.json.{os.getpid()}.live.tmp", "pack.tar.gz"]


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    final = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(final) as tmp:
        tmp.write_text("whole")
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"] and final.read_text() == "whole"


# -- pack against its provenance -------------------------------------------------------------------
def _pack(tmp_path: Path, recorded_sha: str | None = None) -> Path:
    import io
    import tarfile

    tar = tmp_path / "p.tar"
    with tarfile.open(tar, "w") as tf:
        info = tarfile.TarInfo("bin/hello")
        info.size = 5
        tf.addfile(info, io.BytesIO(b"hello"))
    rec = {"schema": SCHEMA_ID, "format": "tarball",
           "tarball": {"file": tar.name, "sha256": recorded_sha or sha256_file(tar)}}
    (tmp_path / "p.provenance.json").write_text(json.dumps(rec))
    return tar


def test_valid_archive_with_another_hash_than_its_provenance_is_refused(tmp_path: Path) -> None:
    tar = _pack(tmp_path, recorded_sha=H)
    with pytest.raises(FwenvError, match="does not match its provenance") as e:
        verify_pack(tar)
    assert "\n" not in str(e.value)


def test_matching_pack_verifies_and_missing_provenance_is_explicit(tmp_path: Path) -> None:
    tar = _pack(tmp_path)
    assert verify_pack(tar)["tarball"]["sha256"] == sha256_file(tar)
    assert verify_pack(tar, tmp_path / "p.provenance.json")["format"] == "tarball"
    with pytest.raises(FwenvError, match="missing or invalid"):
        verify_pack(tar, tmp_path / "absent.provenance.json")
    (tmp_path / "p.provenance.json").unlink()
    assert verify_pack(tar) is None
    with pytest.raises(FwenvError, match="not found"):
        verify_pack(tmp_path / "absent.tar")
