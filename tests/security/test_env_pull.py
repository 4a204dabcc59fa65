"""env.pull against a loopback registry: the image the signed release names, pulled by digest,
its id compared with what the signers' archive yields, tagged only when all of it holds; and
firmware.build's image check pulling a missing REF@sha256:… (real engine, real gpg keys).

The release here is a one-file image made in the test (a docker archive, loaded and pushed),
not a Guix build: the checks under test are the signatures, the digest and the image id."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from fwenv.config import Config, load_config
from fwenv.errors import FwenvError
from fwenv.firmware.container import check_image
from fwenv.firmware.workspace import Workspace
from fwenv.plan import Runner
from fwenv.release.check import PullOptions, pull_release

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NAME = "fwenv-test-pull-env"


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, body in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(body), 1, 0o644
            tf.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def docker_archive(text: str) -> bytes:
    """A `docker save`-shaped archive: one layer holding /hello.txt."""
    layer = _tar({"hello.txt": text.encode()})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids":
                                    ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": None,
                            "Layers": ["l1/layer.tar"]}]).encode()
    return gzip.compress(_tar({"config.json": config, "manifest.json": manifest,
                               "l1/layer.tar": layer}), mtime=0)


def push(engine, registry: str, tmp: Path, text: str, tag: str) -> tuple[bytes, str, str]:
    """Load an archive, push it as registry/NAME:tag; return (archive, image id, digest)."""
    archive = docker_archive(text)
    path = tmp / f"{tag}.tar.gz"
    path.write_bytes(archive)
    [img] = engine.load_tar(path)
    engine.tag(img.id, f"{registry}/{NAME}:{tag}")
    digest = engine.push(f"{registry}/{NAME}", tag)
    engine.remove_image(img.id)  # so that env.pull really pulls
    return archive, img.id, digest


@pytest.fixture()
def published(engine, registry: str, tmp_path: Path, keys, kit):
    """The honest image and an evil one in the registry; a release naming the honest one."""
    archive, image_id, digest = push(engine, registry, tmp_path, "honest\n", "1.0")
    _, evil_id, evil_digest = push(engine, registry, tmp_path, "evil\n", "evil")
    files = {"fwenv-test-pull-env-1.0.tar.gz": archive, "sbom.cdx.json": b"{}\n"}
    prov = {"chain": {"image": {"id": image_id}, "pack": {"file": "fwenv-test-pull-env-1.0.tar.gz"},
                      "registry": {"ref": f"{registry}/{NAME}:1.0", "digest": digest}}}
    kit.write_release(tmp_path, keys["alice"], files, prov)
    for n in ("alice", "bob"):
        kit.write_signer(tmp_path / "sigs", n, keys[n], files)
    cfg = Config(root=ROOT, data={**load_config(ROOT).data, "env_image": NAME,
                                  "release": {"dir": str(tmp_path / "release"), "min_signers": 2}})
    yield cfg, tmp_path, {"id": image_id, "digest": digest, "evil_id": evil_id,
                          "evil_digest": evil_digest}
    for ref in (f"{NAME}:1.0", image_id, evil_id):
        engine.remove_image(ref)


def _resign_provenance(tmp: Path, key, change) -> None:
    p = tmp / "release" / "1.0" / "provenance.json"
    doc = json.loads(p.read_text())
    change(doc)
    p.write_text(json.dumps(doc))
    key.sign(p)


def test_pull_verified_release_tags_the_attested_image(published, engine, registry) -> None:
    cfg, tmp, img = published
    res = pull_release(cfg, Runner(), engine, PullOptions(version="1.0", sigs_dir=tmp / "sigs"))
    assert res["image_id"] == img["id"] and res["pulled"] == f"{registry}/{NAME}@{img['digest']}"
    assert engine.image(f"{NAME}:1.0").id == img["id"]


def test_release_signer_names_another_image(published, engine, keys, record) -> None:
    """alice (a builder key) signs a provenance naming the evil digest: the id differs."""
    cfg, tmp, img = published

    def evil(doc: dict) -> None:
        doc["chain"]["registry"]["digest"] = img["evil_digest"]
    _resign_provenance(tmp, keys["alice"], evil)
    with pytest.raises(FwenvError) as e:
        pull_release(cfg, Runner(), engine, PullOptions(version="1.0", sigs_dir=tmp / "sigs"))
    assert record("provenance (signed) names another image's digest", str(e.value)).endswith(
        "nothing tagged (the registry or the release is not what was signed)")
    assert engine.image(f"{NAME}:1.0") is None and engine.image(img["evil_id"]) is None


def test_provenance_digest_edited_by_the_registry_operator(published, engine, keys,
                                                          record) -> None:
    cfg, tmp, img = published
    p = tmp / "release" / "1.0" / "provenance.json"
    p.write_text(p.read_text().replace(img["digest"], img["evil_digest"]))
    with pytest.raises(FwenvError) as e:
        pull_release(cfg, Runner(), engine, PullOptions(version="1.0", sigs_dir=tmp / "sigs"))
    assert record("provenance digest edited, signature kept", str(e.value)) == (
        "release 1.0 does not verify (bad signature: release 1.0 (provenance.json has no valid "
        "signature by a key in builder-keys/)): nothing pulled")
    assert engine.image(f"{NAME}:1.0") is None and engine.image(img["evil_id"]) is None


def test_provenance_id_not_the_attested_archive(published, engine, keys, record) -> None:
    cfg, tmp, img = published

    def evil(doc: dict) -> None:
        doc["chain"]["registry"]["digest"] = img["evil_digest"]
        doc["chain"]["image"]["id"] = img["evil_id"]
    _resign_provenance(tmp, keys["alice"], evil)
    with pytest.raises(FwenvError) as e:
        pull_release(cfg, Runner(), engine, PullOptions(version="1.0", sigs_dir=tmp / "sigs"))
    assert "nothing pulled" in record("provenance id and digest both of another image",
                                      str(e.value))
    assert engine.image(f"{NAME}:1.0") is None and engine.image(img["evil_id"]) is None


def test_too_few_signers_pulls_nothing(published, engine, record) -> None:
    cfg, tmp, img = published
    import shutil
    shutil.rmtree(tmp / "sigs" / "1.0" / "bob")
    with pytest.raises(FwenvError) as e:
        pull_release(cfg, Runner(), engine, PullOptions(version="1.0", sigs_dir=tmp / "sigs"))
    assert record("env.pull with one signer, min_signers 2", str(e.value)).startswith(
        "release 1.0 does not verify (too few signers")
    assert engine.image(f"{NAME}:1.0") is None and engine.image(img["id"]) is None


def test_firmware_image_check_pulls_a_missing_pinned_image(published, engine, registry,
                                                           record) -> None:
    """The one-file image has no toolchain: the check gets past "not found" only by pulling."""
    cfg, tmp, img = published
    ref = f"{registry}/{NAME}@{img['digest']}"
    assert engine.image(ref) is None
    with pytest.raises(FwenvError) as e:
        check_image(engine, Runner(), ref, Workspace.from_project(cfg))
    assert "has no coreboot toolchain" in record("firmware.build --image of a pinned image "
                                                 "without a toolchain", str(e.value))
    assert engine.image(ref).id == img["id"]
