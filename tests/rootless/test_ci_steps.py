"""examples/ci (issue 14 item 4, seed 003): the BuildKit Dockerfile's plan (checked: this machine
has no BuildKit that grants security.insecure — README "Without root") and the run + commit
script, run for real with Docker on the offline test package."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from ..conftest import ROOT, unique
from .conftest import OFFLINE

EXAMPLES = ROOT / "examples" / "ci"


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = path.read_text().replace("\\\n", " ")
    rows = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(r.split(None, 1)[0], r.split(None, 1)[1] if " " in r else "") for r in rows]


def test_buildkit_dockerfile_plan() -> None:
    path = EXAMPLES / "Dockerfile.buildkit"
    assert path.read_text().splitlines()[0] == "# syntax=docker/dockerfile:1-labs"
    ins = _instructions(path)
    runs = [arg for op, arg in ins if op == "RUN"]
    assert len(runs) == 1 and runs[0].startswith("--security=insecure pack ")
    argv = shlex.split(runs[0].split("&&")[0])[1:]
    assert argv[0] == "pack" and "-d" not in argv and argv[-2] == ">"
    assert argv[argv.index("-f") + 1] == "tarball"
    for src in (arg.split()[0] for op, arg in ins if op == "COPY" and not arg.startswith("--")):
        assert (ROOT / src).is_dir(), f"COPY {src}: not in the repository"
    froms = [arg for op, arg in ins if op == "FROM"]
    assert froms == ["${BUILDER} AS pack", "scratch"]
    assert ("COPY", "--from=pack /fwenv-rootfs/ /") in ins


@pytest.mark.integration
def test_run_commit_script_builds_an_image_that_runs(builder_image: str) -> None:
    image = unique("fwenv-test-ci")
    p = subprocess.run(
        [str(EXAMPLES / "run-commit.sh"), builder_image, image, str(OFFLINE), "--", "-f", "tarball",
         "-C", "xz", "-S", "/bin=bin", "--bootstrap", "--no-substitutes", "-L", "/fwenv/inputs",
         "-m", "/fwenv/inputs/manifest.scm"], capture_output=True, text=True, timeout=1200,
        env={"ENGINE": "docker", "PATH": "/usr/local/bin:/usr/bin:/bin",  # the engine in use
             **{k: v for k, v in os.environ.items() if k == "DOCKER_HOST"}})
    try:
        assert p.returncode == 0, p.stderr[-1500:]
        run = subprocess.run(["docker", "run", "--rm", "--network=none", image, "/bin/hello"],
                             capture_output=True, text=True)
        assert run.stdout.strip() == "Hello from an offline Guix pack", run.stderr
        warm = subprocess.run(["docker", "run", "--rm", "--network=none", f"{image}-builder",
                               "sh", "-c", "ls /gnu/store | grep -c hello-offline"],
                              capture_output=True, text=True)
        assert int(warm.stdout.strip() or 0) >= 1  # the committed builder kept the closure
    finally:
        subprocess.run(["docker", "rmi", image, f"{image}-builder"], capture_output=True)


def test_run_commit_script_refuses_bad_usage() -> None:
    p = subprocess.run([str(EXAMPLES / "run-commit.sh"), "a", "b"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.startswith("usage: ")
