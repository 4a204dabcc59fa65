"""Preflight checks and the registry push (real engine + Debian's docker-registry on loopback)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine
from fwenv.release.preflight import Preflight, check_version
from fwenv.release.publish import push_image

from ..conftest import unique

PUSH_REPO = unique("fwenv-test-release-push")


def _git_repo(path: Path) -> Path:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "manifest.scm").write_text("(specifications->manifest '())\n")
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "init"], check=True, env=env)
    return path


def _recording() -> RecordingEngine:
    """A dry run's engine: the checks below it need no Docker engine."""
    return RecordingEngine(Runner(dry_run=True).show)


def _preflight(repo: Path, **kw) -> Preflight:
    args = dict(root=repo, version="1.0", release_dir=repo / "release" / "1.0",
                inputs=[repo / "manifest.scm"], min_free_gib=0.001)
    args.update(kw)
    return Preflight(**args)


def test_clean_repo_passes_the_offline_checks(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path)
    done = _preflight(repo).run(Runner(dry_run=True), _recording())
    assert done == ["clean worktree", "pinned inputs present", "version not yet released",
                    "free disk"]


@pytest.mark.parametrize("breakage,message", [
    ("dirty", "worktree is dirty .*pass --allow-dirty"),
    ("input", "pinned input .*missing"),
    ("released", "already released; pick a new --version"),
    ("disk", "GiB free .*min_free_gib"),
    ("version", "bad version"),
])
def test_each_preflight_failure_names_the_fix(tmp_path: Path, breakage: str,
                                              message: str) -> None:
    repo = _git_repo(tmp_path)
    kw: dict = {}
    if breakage == "dirty":
        (repo / "manifest.scm").write_text("changed\n")
    elif breakage == "input":
        kw["inputs"] = [repo / "channels.scm"]
    elif breakage == "released":
        (repo / "release" / "1.0").mkdir(parents=True)
    elif breakage == "disk":
        kw["min_free_gib"] = 1e9
    else:
        kw["version"] = "1.0/../x"
    with pytest.raises(FwenvError, match=message):
        _preflight(repo, **kw).run(Runner(dry_run=True), _recording())


def test_allow_dirty_skips_only_the_worktree_check(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path)
    (repo / "x").write_text("untracked\n")
    done = _preflight(repo, allow_dirty=True).run(Runner(dry_run=True), _recording())
    assert "clean worktree" not in done and "free disk" in done


@pytest.mark.parametrize("version", ["1.0", "2026.11.0", "v1_rc-1"])
def test_good_versions(version: str) -> None:
    assert check_version(version) == version


@pytest.mark.integration
def test_engine_builder_and_registry_checks(tmp_path: Path, engine, registry: str) -> None:
    repo = _git_repo(tmp_path)
    done = _preflight(repo, registry=registry).run(Runner(), engine)
    assert done[-2:] == ["engine up", "registry reachable, tag not yet published"]
    with pytest.raises(FwenvError, match="builder image fwenv-test-absent:0 not found"):
        _preflight(repo, builder_image="fwenv-test-absent:0").run(Runner(), engine)
    with pytest.raises(FwenvError, match="unreachable .*start it or fix --push"):
        _preflight(repo, registry="127.0.0.1:9").run(Runner(), engine)


@pytest.mark.integration
def test_push_records_the_registry_digest(engine, registry: str, tiny_image: str) -> None:
    pushed = push_image(Runner(), engine, tiny_image, registry, PUSH_REPO, "1")
    assert pushed["digest"].startswith("sha256:") and len(pushed["digest"]) == 71
    # the registry serves that manifest under that digest
    req = urllib.request.Request(
        f"http://{registry}/v2/{PUSH_REPO}/manifests/{pushed['digest']}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req) as r:
        assert r.headers["Docker-Content-Digest"] == pushed["digest"]
        manifest = json.load(r)
    assert manifest["config"]["digest"] == tiny_image
    engine.remove_image(pushed["ref"])


def test_push_dry_run_prints_tag_and_push(capsys: pytest.CaptureFixture[str]) -> None:
    runner = Runner(dry_run=True)
    res = push_image(runner, RecordingEngine(runner.show), "sha256:" + "0" * 64, "127.0.0.1:5000",
                     "coreboot-build-env", "1.0")
    out = capsys.readouterr().out.splitlines()
    assert out == [f"docker tag sha256:{'0' * 64} 127.0.0.1:5000/coreboot-build-env:1.0",
                   "docker push 127.0.0.1:5000/coreboot-build-env:1.0"]
    assert res["digest"] == ""


def test_release_dry_run_prints_the_plan_and_writes_no_release(tmp_path: Path, capsys,
                                                               gnupghome) -> None:
    """`invoke release --dry-run` needs no engine: prints both builds, the SBOM query, the
    push and the signatures; creates no release directory."""
    from fwenv.config import Config, load_config
    from fwenv.guix.pack import PackOptions
    from fwenv.release.options import BuildSpec, ReleaseOptions
    from fwenv.release.publish import release
    from fwenv.release.sign import Signer

    root = Path(__file__).resolve().parents[2]
    base = load_config(root)
    cfg = Config(root=root, data={**base.data, "output_dir": str(tmp_path / "out"),
                                  "release": {"dir": str(tmp_path / "rel"), "min_free_gib": 0}})
    pack = PackOptions(manifest=root / "guix" / "manifest.scm", channels=None,
                       time_machine=False, substitutes=False, load_path=(root / "guix",))
    opts = ReleaseOptions(version="7.0", build=BuildSpec("guix-pack-builder:1.5.0", pack),
                          allow_dirty=True, registry="127.0.0.1:5000",
                          signer=Signer("gpg", gnupghome["alice"]))
    runner = Runner(dry_run=True)
    result = release(cfg, runner, RecordingEngine(runner.show), opts)
    out = capsys.readouterr().out
    assert result["dry_run"] is True
    assert out.count("guix pack -f docker") == 2  # -d, twice
    assert out.count("guix build --no-substitutes DERIVATION") == 2  # and its build, twice
    assert "guix repl -L /fwenv/load-path/0 -- /fwenv/sbom/query.scm" in out
    assert "docker push 127.0.0.1:5000/coreboot-build-env:7.0" in out
    assert "--detach-sign" in out
    assert out.index("SHA256SUMS.asc") < out.index("docker push"), "sums signed after the push"
    assert not (tmp_path / "rel" / "7.0").exists()


@pytest.mark.integration
def test_a_tag_the_registry_holds_is_refused_naming_its_digest(engine, registry: str,
                                                              tiny_image: str) -> None:
    from fwenv.release.preflight import check_tag_unpublished

    pushed = push_image(Runner(), engine, tiny_image, registry, "fwenv-test-release-held", "1")
    try:
        with pytest.raises(FwenvError) as e:
            check_tag_unpublished(registry, "fwenv-test-release-held", "1")
        assert str(e.value) == (f"{registry}/fwenv-test-release-held:1 is already published as "
                                f"{pushed['digest']}: pick a new --version (a published tag is "
                                "never overwritten)")
        check_tag_unpublished(registry, "fwenv-test-release-held", "2")  # not there: passes
    finally:
        engine.remove_image(pushed["ref"])
