"""End to end with the real engine, real guix-daemon builds, real gpg and a loopback registry:
release the offline test environment (tests/pack/offline), attest, verify, tamper, and a
really non-reproducible Guix package (tests/release/nonrepro) that must stop the release.

The environment released here is the offline test pack (a busybox `hello`), not the real
coreboot environment: stock Guix cannot build that without the network."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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
                            "provenance.json", "provenance.json.asc",
                            "slsa-provenance.intoto.json", "REPORT.md", "REPORT.md.asc"])
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


def test_sbom_components_have_purls_nar_hashes_and_the_reference_graph(released) -> None:
    """Every component of the real release's SBOM: a package URL, its NAR sha256 (as Guix
    computes it: checked against `guix hash -S nar` in tests/unit/test_storeinfo.py), a type;
    the graph follows the store references (the profile refers to hello-offline)."""
    from packageurl import PackageURL

    _, result, _ = released
    doc = json.loads((Path(result["release_dir"]) / "sbom.cdx.json").read_text())
    for c in doc["components"]:
        assert PackageURL.from_string(c["purl"]).type in ("guix", "generic"), c["purl"]
        assert re.fullmatch(r"[0-9a-f]{64}", c["hashes"][0]["content"]) and c["type"]
    hello = next(c for c in doc["components"] if c["name"] == "hello-offline")
    assert hello["purl"] == "pkg:guix/hello-offline@0" and hello["type"] == "application"
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    profile = next(c["bom-ref"] for c in doc["components"] if c["name"] == "profile")
    assert hello["bom-ref"] in graph[profile]
    assert graph[doc["metadata"]["component"]["bom-ref"]] == [profile]


def test_intoto_statement_validates_and_names_what_was_released(released) -> None:
    """in-toto's reference bindings accept it; its subjects are the signed sums' archive and
    the image ID; the builder's Guix is a resolved dependency (no channel pin offline)."""
    from .test_intoto import validate_with_reference_bindings

    _, result, _ = released
    d = Path(result["release_dir"])
    text = (d / "slsa-provenance.intoto.json").read_text()
    validate_with_reference_bindings(text)
    doc = json.loads(text)
    archive = f"{ENV_IMAGE}-0.1.0.tar.xz"
    assert doc["subject"][:2] == [
        {"name": archive, "digest": {"sha256": result["sums"][archive]}},
        {"name": f"{archive}#config", "digest": {"sha256": result["image_id"][7:]},
         "mediaType": "application/vnd.docker.container.image.v1+json",
         "annotations": {"note": "the image's config digest, i.e. its image ID"}}]
    deps = {x["name"]: x for x in doc["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert deps["guix"]["uri"].startswith("pkg:deb/debian/guix@")
    assert any(n.endswith("manifest.scm") for n in deps)


def test_report_written_by_release_and_printed_by_verify_markdown(released, tmp_path) -> None:
    """REPORT.md: signed, the release's row ✓ for every artifact, image ID, the largest store
    items, the chain; `release.verify --format markdown` (the real CLI) prints the same report
    with every signer checked; a changed REPORT.md fails verification."""
    import shutil

    from fwenv.release.report import verify_report

    cfg, result, sigs = released
    d = Path(result["release_dir"])
    md = (d / "REPORT.md").read_text()
    gpg = subprocess.run(["gpg", "--batch", "--verify", "REPORT.md.asc", "REPORT.md"], cwd=d,
                         capture_output=True, text=True)
    assert gpg.returncode == 0, gpg.stderr
    release_row = next(ln for ln in md.splitlines() if ln.startswith("| release 0.1.0 |"))
    assert release_row.startswith("| release 0.1.0 | signed (by alice at release")
    assert release_row.endswith(" | ✓ | ✓ | ✓ |")  # archive, SBOM, statement
    assert f"- image ID: `{result['image_id']}`" in md
    largest = md.split("largest store items")[1].split("## ")[0]
    assert "-hello-offline-0` |" in largest and "No ROMs in this release." in md
    assert f"`{result['image_id']}`" in md.split("## Chain from channel commit to ROM")[1]

    argv = [sys.executable, "-m", "invoke", "-r", str(ROOT), "release.verify", "--version",
            "0.1.0", "--sigs", str(sigs), "--release-dir", str(d), "--min-signers", "1",
            "--format", "markdown"]
    cli = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    expected = verify_report(verify(cfg, Runner(), Engine.on_demand(), version="0.1.0",
                                    sigs_dir=sigs, release_dir=d, min_signers=1))
    assert cli.returncode == 0 and cli.stdout == expected, cli.stderr[-2000:]
    assert cli.stdout.endswith("\nVerification passed.\n")
    verified_row = next(ln for ln in cli.stdout.splitlines() if ln.startswith("| release 0.1.0"))
    assert verified_row.startswith("| release 0.1.0 | verified") and verified_row.endswith(
        " | ✓ | ✓ | ✓ |")
    assert cli.stdout.split("## ROMs")[1].split("\nVerification")[0] == md.split("## ROMs")[1]

    copy = tmp_path / "0.1.0"
    shutil.copytree(d, copy)
    (copy / "REPORT.md").write_text(md + "| mallory | verified | ✓ | ✓ | ✓ |\n")
    out = verify(cfg, Runner(), Engine.on_demand(), version="0.1.0", sigs_dir=sigs,
                 release_dir=copy)
    assert out["lines"][0].startswith("bad signature: release 0.1.0 (REPORT.md has no valid "
                                      "signature"), out["lines"]


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
    with pytest.raises(FwenvError, match=r"not reproducible: .*build-time: content differs") as e:
        release(cfg, Runner(), engine, opts)
    assert "\n" not in str(e.value) and "triage: " in str(e.value)
    assert re.search(r"first culprit: /gnu/store/\w{32}-clock-offline-0 ", str(e.value))
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


def test_nonreproducible_guix_build_triage_names_the_store_item(engine, builder, area) -> None:
    """The triage the stopped release above wrote (no extra build): the two packs compared item
    by item name the package that writes its build time as the first culprit, with the
    `guix build --check --keep-failed` command for its derivation, and diffoscope's reports."""
    import shutil

    triage = area / "output" / "release" / "0.2.0-nonrepro" / "triage"
    if not triage.is_dir():
        pytest.skip("needs test_nonreproducible_guix_build_stops_the_release (same module)")
    summary = (triage / "summary.txt").read_text().splitlines()[0]
    culprit = r"/gnu/store/[0-9a-df-np-sv-z]{32}-clock-offline-0"
    assert re.match(rf"first culprit: {culprit} \(NAR sha256 [0-9a-f]{{16}}… vs "
                    r"[0-9a-f]{16}…\)", summary), summary
    drv = (r"guix build --check --keep-failed "
           r"/gnu/store/[0-9a-df-np-sv-z]{32}-clock-offline-0\.drv")
    assert re.search(rf"reproduce: {drv}$", summary), summary
    assert re.search(rf"\n# {culprit}\n{drv}\n$", (triage / "reproduce.txt").read_text())
    items = (triage / "items.txt").read_text().splitlines()
    assert [ln.split()[0] for ln in items if "clock-offline-0 " in ln] == ["culprit"]
    if shutil.which("diffoscope"):
        text = (triage / "diffoscope.txt").read_text()
        assert "build-time" in text and (triage / "diffoscope.html").stat().st_size > 0


def test_triage_command_reproduces_the_difference_in_a_fresh_builder(engine, builder,
                                                                     area) -> None:
    """reproduce.txt's command, run as written in a fresh builder (fwenv's default,
    unprivileged daemon) that built the manifest: the daemon rebuilds the culprit's
    derivation, finds the output differs and tries to keep it as `<item>-check`."""
    import shlex

    from fwenv.engine import Mount
    from fwenv.guix.daemon import daemon_spec, guix_session
    from fwenv.guix.pack import stage_inputs

    triage = area / "output" / "release" / "0.2.0-nonrepro" / "triage"
    if not triage.is_dir():
        pytest.skip("needs test_nonreproducible_guix_build_stops_the_release (same module)")
    lines = (triage / "reproduce.txt").read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("# /gnu/store/"))
    culprit, command = lines[at:at + 2]
    manifest = ROOT / "tests" / "release" / "nonrepro" / "manifest.scm"
    spec = daemon_spec(builder, "unprivileged", mounts=[
        Mount(str(manifest.parent), "/fwenv/host/manifest", read_only=True),
        Mount(str(OFFLINE), "/fwenv/host/load-path/0", read_only=True)])
    with guix_session(engine, Runner(), spec) as s:
        stage_inputs(s)
        s.exec(["guix", "build", "--no-substitutes", "-L", "/fwenv/load-path/0", "-m",
                "/fwenv/manifest/manifest.scm"], what="build the nonrepro manifest")
        s.exec(["sleep", "2"])  # the package records the time: let the clock move on
        code, out = s.exec(shlex.split(command), check=False)
    assert code != 0, out
    item = culprit.removeprefix("# ")
    # the daemon moves the rebuilt output to <item>-check only when it differs; unprivileged,
    # that move is refused (reproduce.txt says so), which ends the command with an error
    assert f"{item}-check" in out and ("may not be deterministic" in out
                                       or "Permission denied" in out), out[-2000:]


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
