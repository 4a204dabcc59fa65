"""`nox -s acceptance`: its plan (from the real target data), its verdict, and its offline refusal.

The run itself needs the internet (Guix substitutes, upstream sources): it cannot happen here, so
only the plan, the judging and the refusal are exercised.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from fwenv.release import acceptance as acc

from .conftest import ROOT

X230_GFX = """
[targets.x230-libgfxinit]
board = "lenovo/x230"
source = "upstream-25.09"
defconfig = \"\"\"
CONFIG_VENDOR_LENOVO=y
CONFIG_BOARD_LENOVO_X230=y
CONFIG_ANY_TOOLCHAIN=y
CONFIG_MAINBOARD_USE_LIBGFXINIT=y
CONFIG_PAYLOAD_NONE=y
\"\"\"
"""


def _data(tmp_path: Path, with_gfx: bool) -> Path:
    for rel in ("coreboot/targets.toml", "heads/boards.toml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    targets = tmp_path / "coreboot" / "targets.toml"
    text = targets.read_text()
    data = tomllib.loads(text)
    for name, t in data["targets"].items():  # drop any existing libgfxinit target
        if acc.LIBGFXINIT in t.get("defconfig", ""):
            text = text.replace(f"[targets.{name}]", f"[targets.{name}-off]")
            text = text.replace(acc.LIBGFXINIT, "# " + acc.LIBGFXINIT[:-2] + " is not set")
    targets.write_text(text + (X230_GFX if with_gfx else ""))
    return tmp_path


def test_plan_builds_env_twice_and_every_target_in_both_images():
    p = acc.plan(ROOT)
    env = [s for s in p.steps if s.name.startswith("env-")]
    assert [s.argv[:2] for s in env] == [("invoke", "env.build")] * 2
    assert "--ephemeral" not in env[0].argv and "--ephemeral" in env[1].argv  # fresh store
    data = {**tomllib.loads((ROOT / "coreboot/targets.toml").read_text())["targets"],
            **tomllib.loads((ROOT / "heads/boards.toml").read_text())["boards"]}
    assert sorted(p.targets) == sorted(data) and len(data) >= 4
    for name, t in data.items():
        builds = [s for s in p.steps if s.target == name and s.argv[1] == "firmware.build"]
        assert sorted(s.image for s in builds) == sorted(acc.IMAGES), name
        for s in builds:
            assert f"coreboot-build-env:{s.image}" in s.argv
            assert ("--boot" in s.argv) == bool(t.get("qemu_machine")), name
    assert p.boot_checked and set(p.boot_checked) <= set(p.targets)
    # Heads boards are fetched (network) before they are built.
    for board in tomllib.loads((ROOT / "heads/boards.toml").read_text())["boards"]:
        names = [s.name for s in p.steps]
        assert names.index(f"fetch {board}") < names.index(f"build {board} in {acc.IMAGES[0]}")


def test_plan_requires_an_upstream_x230_with_libgfxinit(tmp_path):
    without = acc.plan(_data(tmp_path / "a", with_gfx=False))
    assert len(without.problems) == 1 and "lenovo/x230" in without.problems[0]
    with_gfx = acc.plan(_data(tmp_path / "b", with_gfx=True))
    assert with_gfx.problems == []
    steps = [s.name for s in with_gfx.steps if s.target == "x230-libgfxinit"]
    assert steps == ["fetch x230-libgfxinit", *(f"build x230-libgfxinit in {i}" for i in acc.IMAGES)]


def test_judge_compares_image_ids_and_every_rom():
    same = {"env-a": {"image": {"image_id": "sha256:1"}}, "env-b": {"image": {"image_id": "sha256:1"}},
            "build q35 in acceptance-a": {"sha256": "ab"}, "build q35 in acceptance-b": {"sha256": "ab"}}
    assert acc.judge(same) == []
    rom = {**same, "build q35 in acceptance-b": {"sha256": "cd"}}
    assert acc.judge(rom) == ["q35: ROM sha256 ab vs cd"]
    env = {**same, "env-b": {"image": {"image_id": "sha256:2"}}}
    assert len(acc.judge(env)) == 1 and "image IDs" in acc.judge(env)[0]
    missing = {k: v for k, v in same.items() if k != "build q35 in acceptance-b"}
    assert acc.judge(missing) == ["q35: ROM sha256 ab vs None"]


def test_report_is_one_file_with_every_step_and_the_verdict(tmp_path):
    p = acc.plan(ROOT)
    results = {"env-a": {"image": {"image_id": "x"}}}
    path = acc.write_report(tmp_path / "out", p, results, {"env-b": "exit 1"})
    text = path.read_text()
    assert path.name == "REPORT.md" and sorted(x.name for x in path.parent.iterdir()) == ["REPORT.md"]
    for s in p.steps:
        assert f"| {s.name} |" in text
    assert "| env-b | exit 1 |" in text and "## Verdict" in text and "everything matched" not in text


def _nox(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    nox = Path(sys.executable).with_name("nox")
    return subprocess.run([str(nox), "-s", "acceptance"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env_extra}, timeout=120)


def test_nox_acceptance_refuses_offline_in_one_line_unreachable_probe():
    """A closed local port stands in for an unreachable internet (real TCP refusal)."""
    r = _nox({acc.PROBE_ENV: "127.0.0.1:1"})
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "needs the network" in ln]
    assert r.returncode != 0 and len(lines) == 1, r.stdout + r.stderr
    assert "127.0.0.1:1" in lines[0] and "Traceback" not in r.stdout + r.stderr
    assert not (ROOT / "output" / "acceptance" / ".REPORT.md.tmp").exists()


def test_nox_acceptance_refuses_here_without_network():
    if not acc.probe_network(timeout=3):
        pytest.skip("this machine reaches the internet: the acceptance run would really start")
    r = _nox({acc.PROBE_ENV: ""})
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if "needs the network" in ln]
    assert r.returncode != 0 and len(lines) == 1 and "Traceback" not in r.stdout + r.stderr
