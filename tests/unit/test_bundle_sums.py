"""An air-gapped bundle is used only when every member matches its SHA256SUMS: damaged,
missing and extra members are refused in one line, and an archive with more than one top
directory is not a bundle. (The real export/import/rebuild: tests/pack/test_bundle.py.)"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from fwenv.config import load_config
from fwenv.env.bundle import check_sums, unpack_bundle
from fwenv.errors import FwenvError
from fwenv.release.bundle import _tar, _write_sums


def _bundle(tmp_path: Path) -> Path:
    top = tmp_path / "src" / "fwenv-bundle-1.0"
    (top / "store").mkdir(parents=True)
    (top / "store" / "store.nar").write_bytes(b"nar")
    (top / "bundle.json").write_text("{}\n")
    _write_sums(top)
    return top


def test_good_bundle_unpacks(tmp_path: Path) -> None:
    top = _bundle(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.fwenv]\noutput_dir = "out"\n')
    tar = tmp_path / "b.tar"
    _tar(top, tar)
    got = unpack_bundle(load_config(tmp_path).output_dir, tar)
    assert got == tmp_path / "out" / "bundles" / "fwenv-bundle-1.0"
    assert (got / "store" / "store.nar").read_bytes() == b"nar"
    assert (top / "SHA256SUMS").read_text().splitlines()[1].endswith("  store/store.nar")


@pytest.mark.parametrize(("damage", "said"), [
    (lambda t: (t / "store" / "store.nar").write_bytes(b"NAR"), "does not match its SHA256SUMS"),
    (lambda t: (t / "extra").write_text("x"), "extra is not listed in SHA256SUMS"),
    (lambda t: (t / "bundle.json").unlink(), "bundle.json is missing, listed in SHA256SUMS"),
    (lambda t: (t / "SHA256SUMS").unlink(), "has no SHA256SUMS"),
])
def test_damaged_bundle_refused(tmp_path: Path, damage, said: str) -> None:
    top = _bundle(tmp_path)
    damage(top)
    with pytest.raises(FwenvError, match=said) as e:
        check_sums(top, "b.tar")
    assert "\n" not in str(e.value)


def test_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.fwenv]\noutput_dir = "out"\n')
    (tmp_path / "a").write_text("a")
    tar = tmp_path / "x.tar"
    with tarfile.open(tar, "w") as t:
        t.add(tmp_path / "a", "a")
        t.add(tmp_path / "pyproject.toml", "b/pyproject.toml")
    with pytest.raises(FwenvError, match="is not a fwenv bundle"):
        unpack_bundle(load_config(tmp_path).output_dir, tar)
    assert not (tmp_path / "out" / "bundles").exists()  # nothing made for what is no bundle
