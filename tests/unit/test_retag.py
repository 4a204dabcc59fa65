"""fwenv.release.retag: the members that name a docker pack `<env_image>:<version>`."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.release.retag import retagged_members

LAYER = "991ce8e38420c64b66d7403a848cbfe0090ac9e6aa235e2699f214b24fb5a416"


def docker_pack(path: Path, members: dict[str, bytes]) -> Path:
    """A gzip docker archive shaped like Guix's (./-prefixed names)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_names_the_image_and_keeps_its_layer(tmp_path: Path) -> None:
    pack = docker_pack(tmp_path / "p.tar.gz", {
        "repositories": json.dumps({"hello-offline": {"latest": LAYER}}).encode(),
        "manifest.json": json.dumps([{"Config": "config.json", "RepoTags": ["hello-offline:latest"],
                                      "Layers": [f"{LAYER}/layer.tar"]}]).encode()})
    manifest, repositories = retagged_members(pack, "coreboot-build-env:1.0")
    assert json.loads(manifest) == [{"Config": "config.json",
                                     "RepoTags": ["coreboot-build-env:1.0"],
                                     "Layers": [f"{LAYER}/layer.tar"]}]
    assert json.loads(repositories) == {"coreboot-build-env": {"1.0": LAYER}}
    assert retagged_members(pack, "coreboot-build-env:1.0") == (manifest, repositories)


@pytest.mark.parametrize("members", [
    {"config.json": b"{}"},  # a plain tarball pack, not -f docker
    {"repositories": b"{}", "manifest.json": b"[]"},  # no image
    {"repositories": b"not json", "manifest.json": b"[]"},
])
def test_an_archive_that_is_not_one_image_is_refused_in_one_line(tmp_path: Path,
                                                                 members: dict) -> None:
    with pytest.raises(FwenvError) as e:
        retagged_members(docker_pack(tmp_path / "p.tar.gz", members), "x:1")
    assert "\n" not in str(e.value) and "p.tar.gz" in str(e.value)


def test_verify_names_other_naming_tools_as_the_likely_cause(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from fwenv.release.check import _naming_hint

    (tmp_path / "provenance.json").write_text(json.dumps(
        {"chain": {"pack": {"named_with": "tar (GNU tar) 1.35; xz (XZ Utils) 5.8.4"}}}))
    other = SimpleNamespace(named_with="tar (GNU tar) 1.35; xz (XZ Utils) 5.9.0")
    same = SimpleNamespace(named_with="tar (GNU tar) 1.35; xz (XZ Utils) 5.8.4")
    hint = _naming_hint(tmp_path, other)  # type: ignore[arg-type]
    assert "5.8.4" in hint and "5.9.0" in hint and "builder" in hint
    assert _naming_hint(tmp_path, same) == ""  # type: ignore[arg-type]
    assert _naming_hint(tmp_path / "none", other) == ""  # type: ignore[arg-type]
