"""release.bundle → env.build --bundle against the real engine and daemon, in the offline test
environment (tests/pack/offline): the pack built normally in store A and the pack rebuilt from
the bundle in a fresh store volume, by the bundle's builder on --network=none, have the same
sha256.

The bundle is of a time-machine pack, pinned by the project's real guix/channels.scm. The Guix
time-machine would build for that commit needs the internet, so a STAND-IN takes its place
(tests/pack/pinned-guix-stand-in: a store item whose bin/guix runs the builder's Guix, made
time-machine's cache entry for the pinned commit). Everything else is real: `guix time-machine`
finds it, release.bundle exports it with the pack's closure, and the air-gapped side's
`guix time-machine` finds it again with no network. The bundle of a pack without time-machine
goes the same way in benchmarks/scale_bench.py (its smoke test, tests/pack/test_benchmark.py).
NOT exercised here: the real pinned Guix; firmware sources in the bundle (the test project has
no smoke targets; tests/firmware/test_bundle_sources.py carries the real coreboot source
through bundle and unpack)."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from fwenv.engine import Engine, Mount
from fwenv.guix.daemon import daemon_spec, guix_session
from fwenv.guix.provenance import parse_channels
from fwenv.plan import Runner

from ..conftest import unique
from .conftest import ENV_IMAGE, HERE, MAIN, _docker, offline_args, run_invoke

integration = pytest.mark.integration
STAND_IN = HERE / "pinned-guix-stand-in"


def _seed_pinned_guix_stand_in(builder: str, volume: str, commits: list[str]) -> str:
    """The stand-in profile in store `volume`, as time-machine's cache entry for `commits`."""
    engine = Engine.connect()
    for v in (volume, volume + "-var"):
        engine.ensure_volume(v, {"org.fwenv.role": "guix-store"})
    spec = daemon_spec(builder, mounts=[Mount(volume, "/gnu/store", kind="volume"),
                                        Mount(volume + "-var", "/var/guix", kind="volume"),
                                        Mount(str(STAND_IN), "/fwenv/stand-in", read_only=True)])
    with guix_session(engine, Runner(), spec) as s:
        _, out = s.exec(["guix", "repl", "--", "/fwenv/stand-in/seed.scm",
                         "/fwenv/stand-in/profile", *commits], what="seed the stand-in")
    return out.strip().splitlines()[-1]


@integration
def test_a_time_machine_bundle_rebuilds_air_gapped_with_a_stand_in_pinned_guix(
        offline_builder: str, project: Path) -> None:
    a, fresh = unique("fwenv-test-bundle-a"), unique("fwenv-test-bundle-fresh")
    (project / "guix").mkdir()
    shutil.copy(MAIN / "guix" / "channels.scm", project / "guix" / "channels.scm")
    commits = [c["commit"] for c in parse_channels(project / "guix" / "channels.scm", "pin")]
    args = offline_args(offline_builder, project)
    ref = f"{ENV_IMAGE}:bundle"
    try:
        normal = json.loads(run_invoke(project, "guix.pack", *args, "--store", a,
                                       "--json").stdout)
        stand_in = _seed_pinned_guix_stand_in(offline_builder, a, commits)
        # release.bundle takes the release's pack flags: paths relative to the project; no
        # --no-time-machine: pinned by guix/channels.scm, time-machine runs the stand-in
        rel = ["--manifest", "offline/manifest.scm", "--load-path", "offline",
               *[f for f in args[6:] if f != "--no-time-machine"]]
        made = json.loads(run_invoke(project, "release.bundle", "--version", "t1", "--builder",
                                     offline_builder, *rel, "--store", a, "--json").stdout)
        bundle = Path(made["bundle"])
        assert made["derivation"] == normal["derivation"]  # the stand-in is the builder's Guix
        with tarfile.open(bundle) as t:
            meta = json.load(t.extractfile("fwenv-bundle-t1/bundle.json"))  # type: ignore[arg-type]
        assert meta["pinned_guix"]["profile"] == stand_in
        moved = project.parent / (project.name + "-bundle.tar")  # only the bundle crosses over
        shutil.move(bundle, moved)
        shutil.rmtree(project / "output")
        rebuilt = json.loads(run_invoke(project, "env.build", "--bundle", str(moved), "--store",
                                        fresh, "--tag", "bundle", "--json").stdout)
        assert rebuilt["pack"]["sha256"] == normal["sha256"]
        prov = json.loads(Path(rebuilt["pack"]["provenance"]).read_text())
        assert prov["options"]["air_gapped"] is True  # → the builder ran on --network=none
        assert prov["command"][:2] == ["guix", "time-machine"]  # found the bundled Guix
        run = _docker("run", "--rm", "--network=none", ref)
        assert run.stdout.strip() == "Hello from an offline Guix pack"
        # a fresh store means fresh: an existing volume is refused in one line
        again = run_invoke(project, "env.build", "--bundle", str(moved), "--store", fresh,
                           "--tag", "bundle", check=False)
        assert again.returncode == 1
        errors = [ln for ln in again.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "starts from a fresh store" in errors[0]
    finally:
        _docker("rmi", "-f", ref, check=False)
        for v in (a, fresh):
            _docker("volume", "rm", "-f", v, v + "-var", check=False)
