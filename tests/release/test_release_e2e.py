"""End to end with the real engine, real guix-daemon builds, real gpg and a loopback registry:
release the offline test environment (tests/pack/offline), attest, verify, tamper, and a
really non-reproducible Guix package (tests/release/nonrepro) that must stop the release.

The environment released here is the offline test pack (a busybox `hello`), not the real
coreboot environment: stock Guix cannot build that without the network."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from fwenv.config import Config, load_config
from fwenv.engine import Engine
from fwenv.errors import FwenvError
from fwenv.plan import Runner
from fwenv.release.attest import attest
from fwenv.release.check import verify
from fwenv.release.options import BuildSpec, ReleaseOptions
from fwenv.release.publish import release
from fwenv.release.sign import SUMS, Signer
from fwenv.release.verify import image_digests

from ..conftest import unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ROOT / "tests" / "pack" / "offline"
ENV_IMAGE = unique("fwenv-test-release-env")


@pytest.fixture(scope="module")
def builder(offline_builder: str) -> str:
    """The product builder image (guix.base), which can run the offline seed route."""
    return offline_builder


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("release-e2e")


def _cfg(area: Path) -> Config:
    base = load_config(ROOT)
    data = {**base.data, "output_dir": str(area / "output"), "env_image": ENV_IMAGE,
            "release": {"dir": str(area / "release"), "min_free_gib": 1}}
    return Config(root=ROOT, data=data)


def _opts(builder: str, version: str, manifest: Path = OFFLINE / "manifest.scm",
          entry_point: str | None = "bin/hello", **kw) -> ReleaseOptions:
    """The offline seed route: builder's own Guix, no substitutes, `--bootstrap`."""
    from fwenv.guix.pack import PackOptions

    # --bootstrap makes guix pack compress with the bootstrap xz whatever -C says
    pack = PackOptions(manifest=manifest, channels=None, format="docker", compressor="xz",
                       time_machine=False,
                       substitutes=False, load_path=(OFFLINE,), guix_options=("--bootstrap",),
                       entry_point=entry_point, symlinks=("/bin=bin",))
    return ReleaseOptions(version=version, build=BuildSpec(builder, pack), allow_dirty=True,
                          **kw)


@pytest.fixture(scope="module")
def released(engine, builder, area, gnupghome, registry):
    """One full release (two builds compared, import, SBOM, push, gpg signature), timed."""
    import time
    cfg = _cfg(area)
    sigs = area / "sigs"
    opts = _opts(builder, "0.1.0", registry=registry, signer=Signer("gpg", gnupghome["alice"]),
                 signer_name="alice", sigs_dir=sigs)
    start = time.monotonic()
    result = release(cfg, Runner(), engine, opts)
    result["seconds"] = time.monotonic() - start
    print(f"\nfull release of the offline test environment: {result['seconds']:.1f} s")
    yield cfg, result, sigs
    for ref in (f"{ENV_IMAGE}:0.1.0", f"{registry}/{ENV_IMAGE}:0.1.0"):
        engine.remove_image(ref)


def test_release_directory_sums_and_signature(released) -> None:
    cfg, result, _ = released
    d = Path(result["release_dir"])
    names = sorted(p.name for p in d.iterdir())
    assert names == sorted([f"{ENV_IMAGE}-0.1.0.tar.xz", "sbom.cdx.json", SUMS, "SHA256SUMS.asc",
                            "provenance.json", "provenance.json.asc"])
    subprocess.run(["sha256sum", "--check", "--strict", SUMS], cwd=d, check=True,
                   capture_output=True)
    gpg = subprocess.run(["gpg", "--batch", "--verify", "SHA256SUMS.asc", SUMS], cwd=d,
                         capture_output=True, text=True)
    assert gpg.returncode == 0 and "Good signature" in gpg.stderr


def test_provenance_is_one_chain(released, engine) -> None:
    cfg, result, _ = released
    d = Path(result["release_dir"])
    prov = json.loads((d / "provenance.json").read_text())
    chain = prov["chain"]
    archive = d / chain["pack"]["file"]
    digests = image_digests(archive)
    assert chain["derivation"].endswith(".drv")
    assert chain["pack"]["sha256"] == prov["sums"][archive.name]
    assert chain["image"]["id"] == digests.image_id == engine.image(f"{ENV_IMAGE}:0.1.0").id
    assert chain["image"]["layers"] == list(digests.diff_ids)
    assert chain["registry"]["digest"].startswith("sha256:")
    assert chain["firmware"]["status"] == "skipped"  # the test image has no toolchain
    assert prov["reproducibility"]["identical"] is True


def test_pushed_digest_is_served_by_the_registry(released, registry) -> None:
    _, result, _ = released
    digest = result["pushed"]["digest"]
    req = urllib.request.Request(
        f"http://{registry}/v2/{ENV_IMAGE}/manifests/0.1.0",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req) as r:
        assert r.headers["Docker-Content-Digest"] == digest
        assert json.load(r)["config"]["digest"] == result["image_id"]


def test_sbom_lists_the_store_items_and_validates(released) -> None:
    from fwenv.release.sbom import validate_sbom
    from fwenv.release.verify import store_items

    _, result, _ = released
    d = Path(result["release_dir"])
    text = (d / "sbom.cdx.json").read_text()
    validate_sbom(text)
    doc = json.loads(text)
    refs = {c["bom-ref"]: c for c in doc["components"]}
    assert set(refs) == set(store_items(d / f"{ENV_IMAGE}-0.1.0.tar.xz"))
    hello = next(c for c in refs.values() if c["name"] == "hello-offline")
    assert hello["version"] == "0"
    assert hello["licenses"] == [{"license": {"id": "GPL-3.0-or-later"}}]


def test_second_signer_attests_and_verify_prints_both(released, engine, builder, gnupghome,
                                                       capsys) -> None:
    cfg, result, sigs = released
    opts = _opts(builder, "0.1.0", signer=Signer("gpg", gnupghome["bob"]))
    res = attest(cfg, Runner(), engine, opts, sigs)
    assert res["signer"] == "bob" and res["sums"] == result["sums"]
    out = verify(cfg, Runner(), Engine.on_demand(), version="0.1.0", sigs_dir=sigs)
    assert out["ok"], out["lines"]
    assert [ln.split(" (")[0] for ln in out["lines"]] == [
        "verified: release 0.1.0", "verified: alice", "verified: bob"]


def test_tampering_is_caught(released, gnupghome, tmp_path: Path) -> None:
    import shutil
    cfg, result, sigs = released
    work = tmp_path / "copy"
    shutil.copytree(Path(result["release_dir"]), work / "0.1.0")
    shutil.copytree(sigs, work / "sigs")
    archive = work / "0.1.0" / f"{ENV_IMAGE}-0.1.0.tar.xz"
    with open(archive, "r+b") as f:  # one byte of the tarball
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 1]))
    out = verify(cfg, Runner(), Engine.on_demand(), version="0.1.0", sigs_dir=work / "sigs",
                 release_dir=work / "0.1.0")
    assert not out["ok"]
    assert out["lines"][:1] == [f"differs: release 0.1.0 ({archive.name}: sha256 differs from "
                            "SHA256SUMS)"]

    # one line of a signer's sums (a copy of alice's signed sums and key under another name, so
    # this does not depend on the second-signer test having run first)
    mallory = work / "sigs" / "0.1.0" / "mallory"
    shutil.copytree(work / "sigs" / "0.1.0" / "alice", mallory)
    keys = work / "sigs" / "builder-keys"
    shutil.copy(next(keys.glob("alice.*")), keys / ("mallory" + next(keys.glob("alice.*")).suffix))
    text = (mallory / SUMS).read_text().splitlines()
    text[0] = "0" * 64 + text[0][64:]
    (mallory / SUMS).write_text("\n".join(text) + "\n")
    lines = verify(cfg, Runner(), Engine.on_demand(), version="0.1.0", sigs_dir=work / "sigs",
                   release_dir=Path(result["release_dir"]))["lines"]
    assert any(ln.startswith("bad signature: mallory (mallory's key: bad signature")
               for ln in lines), lines

    alice = work / "sigs" / "0.1.0" / "alice" / "SHA256SUMS.asc"  # one signature
    alice.write_text(alice.read_text().replace("=", "A", 1) if "=" in alice.read_text()
                     else "garbage")
    res = verify(cfg, Runner(), Engine.on_demand(), version="0.1.0", sigs_dir=work / "sigs",
                 release_dir=Path(result["release_dir"]))
    assert not res["ok"]
    assert any(ln.startswith("bad signature: alice") for ln in res["lines"])


def test_release_of_an_existing_version_is_refused(released, engine, builder) -> None:
    cfg, _, _ = released
    with pytest.raises(FwenvError, match="already released"):
        release(cfg, Runner(), engine, _opts(builder, "0.1.0"))


def test_nonreproducible_guix_build_stops_the_release(engine, builder, area, registry,
                                                      gnupghome) -> None:
    """A real Guix package writing its build time (no injection): two builds differ."""
    cfg = replace(_cfg(area))
    manifest = ROOT / "tests" / "release" / "nonrepro" / "manifest.scm"
    opts = _opts(builder, "0.2.0-nonrepro", manifest=manifest, entry_point=None,
                 registry=registry,
                 signer=Signer("gpg", gnupghome["alice"]))
    with pytest.raises(FwenvError, match=r"not reproducible: .*build-time: content differs"):
        release(cfg, Runner(), engine, opts)
    assert not (area / "release" / "0.2.0-nonrepro").exists()
    assert engine.image(f"{ENV_IMAGE}:0.2.0-nonrepro") is None
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog") as r:
        repos = json.load(r)["repositories"]
    tags_url = f"http://{registry}/v2/{ENV_IMAGE}/tags/list"
    if ENV_IMAGE in repos:
        with urllib.request.urlopen(tags_url) as r:
            assert "0.2.0-nonrepro" not in (json.load(r)["tags"] or [])
    report = area / "output" / "release" / "0.2.0-nonrepro" / "differences.txt"
    assert "build-time" in report.read_text()


def test_injected_difference_in_second_build_stops_the_release_injected(
        engine, builder, area) -> None:
    """Hook-injected (not a real Guix difference): alter build 2's archive after it is built."""
    cfg = _cfg(area)

    def touch(n: int, archive: Path) -> None:
        if n == 2:
            with open(archive, "ab") as f:
                f.write(b"\0" * 512)

    opts = _opts(builder, "0.3.0-injected", after_build=touch)
    with pytest.raises(FwenvError, match="not reproducible"):
        release(cfg, Runner(), engine, opts)
    assert not (area / "release" / "0.3.0-injected").exists()


def test_verify_rebuild_and_published_image_digest(released, engine, builder,
                                                    registry) -> None:
    """--rebuild --image REF@sha256:…: pull the pushed image by digest, rebuild, compare."""
    cfg, result, sigs = released
    pinned = result["pushed"]["pinned"]
    engine.remove_image(f"{registry}/{ENV_IMAGE}:0.1.0")
    out = verify(cfg, Runner(), engine, version="0.1.0", sigs_dir=sigs,
                 rebuild=_opts(builder, "0.1.0"), image=pinned)
    assert out["ok"], out["lines"]
    assert any(ln.startswith("verified: local rebuild") for ln in out["lines"])
    assert any(ln.startswith(f"verified: image {pinned} (MATCH image id") for ln in out["lines"])
    engine.remove_image(pinned)


def test_env_pull_of_the_released_offline_environment(released, engine, registry) -> None:
    """env.pull: the release and its signers verify, the image is pulled by the digest the
    signed provenance records, its id is the attested archive's, then it is tagged."""
    from fwenv.release.check import PullOptions, pull_release

    cfg, result, sigs = released
    engine.remove_image(f"{ENV_IMAGE}:0.1.0")
    res = pull_release(cfg, Runner(), engine, PullOptions(
        version="0.1.0", sigs_dir=sigs, release_dir=Path(result["release_dir"])))
    assert res["pulled"] == result["pushed"]["pinned"] and res["image_id"] == result["image_id"]
    assert engine.image(f"{ENV_IMAGE}:0.1.0").id == result["image_id"]
    engine.remove_image(result["pushed"]["pinned"], force=False)
