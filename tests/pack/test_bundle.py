"""release.bundle → env.build --bundle against the real engine and daemon, in the offline test
environment (tests/pack/offline): the pack built normally in store A and the pack rebuilt from
the bundle in a fresh store volume, by the bundle's builder on --network=none, have the same
sha256. NOT exercised here: firmware sources in the bundle (the test project has no smoke
targets; tests/firmware/test_bundle_sources.py carries the real coreboot source through
bundle and unpack), a time-machine pin (refused by release.bundle)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..conftest import unique
from .conftest import ENV_IMAGE, MAIN, _docker, offline_args, run_invoke

integration = pytest.mark.integration


@integration
def test_bundle_rebuilds_air_gapped(offline_builder: str, project: Path) -> None:
    a, fresh = unique("fwenv-test-bundle-a"), unique("fwenv-test-bundle-fresh")
    (project / "guix").mkdir()
    shutil.copy(MAIN / "guix" / "channels.scm", project / "guix" / "channels.scm")
    args = offline_args(offline_builder, project)
    ref = f"{ENV_IMAGE}:bundle"
    try:
        normal = json.loads(run_invoke(project, "guix.pack", *args, "--store", a,
                                       "--json").stdout)
        # release.bundle takes the release's pack flags: paths relative to the project
        rel = ["--manifest", "offline/manifest.scm", "--load-path", "offline", *args[6:]]
        made = json.loads(run_invoke(project, "release.bundle", "--version", "t1", "--builder",
                                     offline_builder, *rel, "--store", a, "--json").stdout)
        bundle = Path(made["bundle"])
        assert made["derivation"] == normal["derivation"]
        moved = project.parent / (project.name + "-bundle.tar")  # only the bundle crosses over
        shutil.move(bundle, moved)
        shutil.rmtree(project / "output")
        rebuilt = json.loads(run_invoke(project, "env.build", "--bundle", str(moved), "--store",
                                        fresh, "--tag", "bundle", "--json").stdout)
        assert rebuilt["pack"]["sha256"] == normal["sha256"]
        prov = json.loads(Path(rebuilt["pack"]["provenance"]).read_text())
        assert prov["options"]["substitutes"] is False  # → the builder ran on --network=none
        assert prov["options"]["time_machine"] is False
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
