"""examples/ci/: parse the GitHub Actions and GitLab CI files; every command they run exists
(invoke tasks and their options in fwenv's collection, scripts in the repo, tools on PATH)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from invoke import Collection

from fwtasks import env, firmware

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "ci"
ns = Collection(env.ns, firmware.ns)
BUILTINS = {"cd", "for", "do", "done", "printf", "mkdir", "cp", "git", "docker"}


def scripts(name: str) -> list[str]:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    if name.startswith("github"):
        steps = [s for job in doc["jobs"].values() for s in job["steps"]]
        assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
        return [s["run"] for s in steps if "run" in s]
    job = doc["firmware"]
    assert "fwenv-output/firmware/" in job["artifacts"]["paths"]
    return list(job["script"])


def commands(text: str) -> list[list[str]]:
    out = []
    for line in text.replace(";", "\n").replace("&&", "\n").splitlines():
        words = shlex.split(line.strip(), comments=True)
        while words and words[0] in ("for", "do", "done"):
            words = words[4:] if words[0] == "for" else words[1:]
        if words:
            out.append(words)
    return out


def check_invoke(words: list[str]) -> None:
    task_name = words[1]
    coll_name, _, name = task_name.partition(".")
    task = ns.collections[coll_name].tasks[name]
    params = {n for a in task.get_arguments() for n in a.names}
    for w in words[2:]:
        if w.startswith("--"):
            assert w[2:] in params, f"{task_name} has no {w}"


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_every_command_exists(name):
    seen = set()
    for text in scripts(name):
        for words in commands(text):
            cmd = words[0]
            if cmd.endswith("/invoke"):
                check_invoke(words)
                seen.add(words[1])
            elif cmd.startswith("scripts/"):
                assert (REPO / cmd).is_file(), cmd
            else:
                assert cmd in BUILTINS, f"{name} runs {cmd!r}"
    assert {"firmware.build", "firmware.matrix"} <= seen


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_image_is_pulled_by_digest(name):
    text = (EXAMPLES / name).read_text()
    assert "coreboot-build-env@sha256:" in text and 'docker pull "$IMAGE"' in text
    assert "--src" in text and "output/firmware" in text
