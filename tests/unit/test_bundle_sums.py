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


KEY = "a" * 52
PROFILE = "/gnu/store/" + "0" * 32 + "-profile"


@pytest.mark.parametrize("pinned", [
    {"key": "../../../etc/cron.d/x", "profile": PROFILE},  # the entry name becomes a path
    {"key": KEY + "/x", "profile": PROFILE},
    {"key": KEY, "profile": "/etc"},  # the link would point out of the store
    {"key": KEY, "profile": PROFILE + "/../../etc"},
    {"key": KEY, "profile": "/gnu/store/" + "e" * 32 + "-x"},  # 'e' is not Guix base32
    {"key": KEY},
    "x",
])
def test_a_forged_pinned_guix_is_refused(pinned) -> None:
    from fwenv.env.bundle import check_pinned_guix

    with pytest.raises(FwenvError, match="is not a time-machine cache entry") as e:
        check_pinned_guix(pinned, "b/bundle.json")
    assert "\n" not in str(e.value)


def test_a_real_pinned_guix_is_taken() -> None:
    from fwenv.env.bundle import check_pinned_guix

    assert check_pinned_guix({"key": KEY, "profile": PROFILE}, "b") == {"key": KEY,
                                                                          "profile": PROFILE}


def test_a_channel_without_a_commit_cannot_be_bundled(tmp_path: Path) -> None:
    """time-machine would have to fetch the branch tip: refused before anything runs."""
    from fwenv.guix.options import PackOptions
    from fwenv.release.bundle import _check_pinned

    ch = tmp_path / "channels.scm"
    ch.write_text('(list (channel (name \'guix) (url "https://x") (commit\n  "' + "a" * 40
                  + '"))\n      (channel (name \'extra) (url "https://y") (branch "main")))\n')
    opts = PackOptions(manifest=ch, channels=ch, root=tmp_path)
    with pytest.raises(FwenvError, match=r"channels.scm:3: channel extra names no commit"):
        _check_pinned(opts)
