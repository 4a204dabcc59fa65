"""fwenv.release.artifacts.kept_artifacts: --resume takes the artifacts a failed release made only
when each still has its recorded sha256 and the archive is this pack under the released name."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from fwenv.release.artifacts import kept_artifacts
from fwenv.release.sign import SUMS, hash_files, sums_text

CONFIG = json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]}}).encode()


def docker_archive(path: Path, ref: str, config: bytes = CONFIG) -> Path:
    members = {"manifest.json": json.dumps([{"Config": "config.json", "RepoTags": [ref],
                                             "Layers": []}]).encode(), "config.json": config}
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def failed_run(tmp_path: Path) -> tuple[Path, SimpleNamespace]:
    pack = SimpleNamespace(tarball=str(docker_archive(tmp_path / "pack.tar.gz", "hello:latest")))
    kept = tmp_path / "artifacts"
    kept.mkdir()
    docker_archive(kept / "env-1.0.tar.gz", "env:1.0")
    (kept / "sbom.cdx.json").write_text("{}")
    (kept / SUMS).write_text(sums_text(hash_files(kept, ["env-1.0.tar.gz", "sbom.cdx.json"])))
    return kept, pack


def test_untouched_artifacts_of_this_pack_are_taken(failed_run) -> None:
    kept, pack = failed_run
    arts = kept_artifacts(kept, pack, "1.0", "env", {})
    assert arts is not None and arts.archive == "env-1.0.tar.gz"
    assert set(arts.sums) == {"env-1.0.tar.gz", "sbom.cdx.json"}


def test_a_changed_file_is_made_again(failed_run) -> None:
    kept, pack = failed_run
    (kept / "sbom.cdx.json").write_text('{"forged": true}')
    assert kept_artifacts(kept, pack, "1.0", "env", {}) is None


@pytest.mark.parametrize("version, env, firmware", [
    ("1.1", "env", {}),  # another version
    ("1.0", "other", {}),  # another image name
    ("1.0", "env", {"roms": {"q35": {"sha256": "b" * 64}}}),  # this run's smoke ROM is not kept
])
def test_artifacts_of_another_release_are_made_again(failed_run, version, env, firmware) -> None:
    kept, pack = failed_run
    assert kept_artifacts(kept, pack, version, env, firmware) is None


def test_an_archive_of_another_pack_is_made_again(failed_run, tmp_path: Path) -> None:
    kept, _ = failed_run
    other = SimpleNamespace(tarball=str(docker_archive(tmp_path / "o.tar.gz", "hello:latest",
                                                       config=b'{"rootfs": {}}')))
    assert kept_artifacts(kept, other, "1.0", "env", {}) is None


def test_nothing_kept_means_make_them(tmp_path: Path) -> None:
    assert kept_artifacts(tmp_path / "none", SimpleNamespace(tarball=""), "1.0", "env", {}) is None
