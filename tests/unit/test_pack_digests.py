"""A docker pack's layers re-hashed against its config, and a tarball pack's layer digest,
read offline (what env.import checks before anything is tagged)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest

from fwenv.env.importer import docker_pack_digests, tarball_layer_digest
from fwenv.errors import FwenvError


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):  # a directory member, as guix packs have
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
                continue
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _docker_pack(path: Path, layer: bytes, diff_id: str | None = None, compress=gzip.compress,
                 manifest: bytes | None = None) -> tuple[Path, str, str]:
    real = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [diff_id or real]}}).encode()
    members = {"./abc/": b"", "./abc/layer.tar": layer, "./config.json": config,
               "./manifest.json": manifest or b'[{"Config": "config.json", "Layers": ["abc/layer.tar"]}]'}
    path.write_bytes(compress(_tar_bytes(members)))
    return path, "sha256:" + hashlib.sha256(config).hexdigest(), real


LAYER = _tar_bytes({"bin/hello": b"#!/bin/sh\necho hi\n"})


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, lambda b: b], ids=["gz", "xz", "plain"])
def test_docker_pack_digests_are_the_config_digest_and_the_layer_hashes(tmp_path: Path, compress) -> None:
    pack, image_id, layer = _docker_pack(tmp_path / "p.tar.gz", LAYER, compress=compress)
    assert docker_pack_digests(pack) == (image_id, [layer], [])  # no RepoTags in this archive


def test_docker_pack_digests_name_the_tags_the_archive_carries(tmp_path: Path) -> None:
    manifest = b'[{"Config": "config.json", "Layers": ["abc/layer.tar"], "RepoTags": ["hello:latest"]}]'
    pack, image_id, layer = _docker_pack(tmp_path / "p.tar.gz", LAYER, manifest=manifest)
    assert docker_pack_digests(pack) == (image_id, [layer], ["hello:latest"])


def test_a_layer_that_differs_from_its_diff_id_is_damaged(tmp_path: Path) -> None:
    pack, _, _ = _docker_pack(tmp_path / "p.tar.gz", LAYER, diff_id="sha256:" + "0" * 64)
    with pytest.raises(FwenvError, match=r"damaged \(a layer's sha256 does not match") as e:
        docker_pack_digests(pack)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("manifest", [b"[]", b"{}", b'[{"Config": "absent.json", "Layers": []}]',
                                      b'[{"Config": "config.json", "Layers": ["absent.tar"]}]'])
def test_a_pack_without_a_valid_manifest_is_damaged(tmp_path: Path, manifest: bytes) -> None:
    pack, _, _ = _docker_pack(tmp_path / "p.tar.gz", LAYER, manifest=manifest)
    with pytest.raises(FwenvError, match=r"damaged \(no valid manifest.json/config\): rebuild it"):
        docker_pack_digests(pack)


def test_a_manifest_that_is_not_json_is_damaged(tmp_path: Path) -> None:
    pack, _, _ = _docker_pack(tmp_path / "p.tar.gz", LAYER, manifest=b"not json")
    with pytest.raises(FwenvError, match=r"damaged \(Expecting value"):
        docker_pack_digests(pack)


def test_a_truncated_pack_is_damaged(tmp_path: Path) -> None:
    pack, _, _ = _docker_pack(tmp_path / "p.tar.gz", LAYER * 50)
    pack.write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
    for check in (docker_pack_digests, tarball_layer_digest):
        with pytest.raises(FwenvError, match="damaged") as e:
            check(pack)
        reason = str(e.value).split("damaged (", 1)[1].split("): rebuild", 1)[0]
        assert reason not in ("", "None") and " " in reason, "the reason is the error's text"


@pytest.mark.parametrize("compress,suffix", [(gzip.compress, ".tar.gz"), (lzma.compress, ".tar.xz"),
                                             (lambda b: b, ".tar")])
def test_tarball_layer_digest_is_the_sha256_of_the_decompressed_tar(tmp_path: Path, compress, suffix) -> None:
    pack = tmp_path / f"p{suffix}"
    pack.write_bytes(compress(LAYER))
    assert tarball_layer_digest(pack) == "sha256:" + hashlib.sha256(LAYER).hexdigest()


def test_tarball_that_is_not_a_tar_is_damaged(tmp_path: Path) -> None:
    pack = tmp_path / "p.tar.gz"
    pack.write_bytes(gzip.compress(b"x" * 2000))
    with pytest.raises(FwenvError, match="damaged"):
        tarball_layer_digest(pack)
