"""No tag is ever lost: importing a pack touches only the tags the archive itself carries.

The archives are real `docker load` archives written here (one layer, one config), loaded by the
real engine; tags are checked with the engine before and after."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from fwenv.engine import Engine
from fwenv.env.importer import import_pack
from fwenv.plan import Runner

pytestmark = pytest.mark.integration

PACK_TAG = "fwenv-test-tags-packname:latest"  # what Guix writes into the archive
ENV = "fwenv-test-tags-env"
USER_TAG = "fwenv-test-tags-user:mine"


def _add(tf: tarfile.TarFile, name: str, body: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(body), 1
    tf.addfile(info, io.BytesIO(body))


def _archive(path: Path, text: bytes) -> Path:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        _add(tf, "hello.txt", text)
    diff_id = "sha256:" + hashlib.sha256(layer.getvalue()).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [PACK_TAG],
                            "Layers": ["layer/layer.tar"]}]).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tf:
        _add(tf, "config.json", config)
        _add(tf, "layer/layer.tar", layer.getvalue())
        _add(tf, "manifest.json", manifest)
    path.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    return path


def _id(engine: Engine, ref: str) -> str | None:
    img = engine.image(ref)
    return img.id if img is not None else None


@pytest.fixture
def cleanup(engine: Engine):
    made: list[str] = []
    yield made
    for ref in [PACK_TAG, USER_TAG, *made]:
        engine.untag(ref)
    for image_id in set(made):
        if image_id.startswith("sha256:"):
            engine.remove_unused(image_id)


def test_import_keeps_user_and_previous_release_tags(engine: Engine, tmp_path: Path,
                                                     cleanup: list[str]) -> None:
    runner = Runner()
    first = import_pack(runner, engine, _archive(tmp_path / "a.tar.gz", b"one\n"), f"{ENV}:1.0")
    cleanup += [f"{ENV}:1.0", f"{ENV}:1.1", first.image_id]
    assert _id(engine, PACK_TAG) is None, "a tag only the archive carried stays behind"
    engine.tag(first.image_id, USER_TAG)
    # the next release of the same image, loaded again (force)
    import_pack(runner, engine, tmp_path / "a.tar.gz", f"{ENV}:1.1", force=True)
    for ref in (f"{ENV}:1.0", f"{ENV}:1.1", USER_TAG):
        assert _id(engine, ref) == first.image_id, f"{ref} was lost"
    assert _id(engine, PACK_TAG) is None


def test_import_restores_a_tag_the_load_moved(engine: Engine, tmp_path: Path,
                                              cleanup: list[str]) -> None:
    runner = Runner()
    other = import_pack(runner, engine, _archive(tmp_path / "b.tar.gz", b"two\n"), f"{ENV}:b")
    cleanup += [f"{ENV}:b", f"{ENV}:c", other.image_id]
    engine.tag(other.image_id, PACK_TAG)  # the user's image happens to hold the pack's name
    new = import_pack(runner, engine, _archive(tmp_path / "c.tar.gz", b"three\n"), f"{ENV}:c")
    cleanup.append(new.image_id)
    assert new.image_id != other.image_id
    assert _id(engine, PACK_TAG) == other.image_id, "docker load moved the user's tag away"
    assert _id(engine, f"{ENV}:c") == new.image_id
