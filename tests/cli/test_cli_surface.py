"""The CLI as users type it (issue 11 item 6): explicit short flags only, `--json` is one JSON
document on stdout, a dry run creates nothing. Every task runs through the real `invoke` CLI in
a scratch copy of the checkout; DOCKER_HOST points nowhere, so no case may need an engine."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The short-flag table users can rely on: nothing else gets one.
SHORT = {"verbose": "v", "jobs": "j"}


def _walk(coll, prefix=""):
    for name, t in coll.tasks.items():
        yield prefix + name, t
    for name, sub in coll.collections.items():
        yield from _walk(sub, f"{prefix}{name}.")


def _tasks():
    sys.path.insert(0, str(ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(ROOT))
    return dict(_walk(tasks.ns))


def _options(t) -> dict[str, list[str]]:
    """option name → its flag names, as Invoke's parser will see them."""
    return {a.attr_name or a.name: sorted(a.names) for a in t.get_arguments()}


def test_short_flags_are_only_v_for_verbose_and_j_for_jobs() -> None:
    found: dict[str, dict[str, str]] = {}
    for name, t in _tasks().items():
        for opt, names in _options(t).items():
            shorts = [n for n in names if len(n) == 1 or n == "-"]
            assert shorts == ([SHORT[opt]] if opt in SHORT else []), \
                f"invoke {name} --{opt.replace('_', '-')}: short flags {shorts}"
            if shorts:
                found.setdefault(name, {})[opt] = shorts[0]
    # the tasks that have --verbose/--jobs all got -v/-j
    assert found["firmware.build"] == {"verbose": "v", "jobs": "j"}
    assert found["release.release"] == {"verbose": "v", "jobs": "j"}


def _scratch(dest: Path) -> Path:
    """A copy of the checkout's tracked files (plus uncommitted edits): where a task could
    write, it writes here, and we see it."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,  # noqa: S603,S607
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    return dest


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}


def _coreboot_tree(d: Path) -> Path:
    """The smallest tree --src accepts in a dry run (nothing is built)."""
    (d / "src/mainboard/emulation/qemu-q35").mkdir(parents=True)
    (d / "util/abuild").mkdir(parents=True)
    (d / "Makefile").write_text("all:\n")
    (d / "util/abuild/abuild").write_text("#!/bin/sh\n")
    (d / "boards.txt").write_text("emulation/qemu-q35\n")
    return d


# Every task, the cheap way: a dry run, or what it is (a listing). `{tree}`, `{sigs}`: inputs
# made outside the checkout. Tasks that fail here (no release, no key) must still fail cleanly.
CASES = {
    "config": "config",
    "firmware.list": "firmware.list",
    "guix.base": "guix.base --dry-run",
    "guix.shell": "guix.shell --dry-run",
    "guix.pack": "guix.pack --no-time-machine --dry-run",
    "guix.pin": "guix.pin --dry-run",
    "env.import": "env.import --dry-run",
    "env.build": "env.build --no-time-machine --dry-run",
    "env.shell": "env.shell --dry-run",
    "env.clean": "env.clean --output --images --dry-run",
    "env.pull": "env.pull --version 0.0.1 --sigs {sigs} --dry-run",
    "firmware.build": "firmware.build --target qemu-q35 --dry-run",
    "firmware.build --src": "firmware.build --src {tree} --board emulation/qemu-q35 --dry-run",
    "firmware.menuconfig": "firmware.menuconfig --src {tree} --board emulation/qemu-q35 "
                           "--config {tree}/../my.defconfig --dry-run",
    "firmware.matrix": "firmware.matrix --src {tree} --boards {tree}/boards.txt --dry-run",
    "firmware.fetch": "firmware.fetch --target qemu-q35 --dry-run",
    "firmware.boot": "firmware.boot --target qemu-q35 --dry-run",
    "firmware.standin": "firmware.standin --dry-run",
    "release.release": "release --version 0.0.1 --allow-dirty --dry-run",
    "release.attest": "release.attest --version 0.0.1 --signer nobody@example.org --sigs {sigs} "
                      "--dry-run",
    "release.verify": "release.verify --version 0.0.1 --sigs {sigs} --dry-run",
    "release.bundle": "release.bundle --version 0.0.1 --no-time-machine --dry-run",
    "cache.serve": "cache.serve --dry-run",
    "cache.machines": "cache.machines --dry-run",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Run every case once (with --json where the task has it: the same steps, so what a dry
    run creates is the same), each in its own scratch checkout and output dir; in parallel,
    as they touch nothing shared."""
    tasks = _tasks()
    jobs = [(case, "json" in _options(tasks[case.split()[0]]), tmp_path_factory.mktemp("cli"))
            for case in CASES]

    def one(job):
        case, as_json, base = job
        root = _scratch(base / "checkout")
        tree, sigs = _coreboot_tree(base / "my tree"), base / "sigs"
        sigs.mkdir()
        before = _tree(root) | {"my tree/" + p for p in _tree(tree)}
        argv = shlex.split(CASES[case].format(tree=shlex.quote(str(tree)),
                                              sigs=shlex.quote(str(sigs))))
        out = base / "output"
        env = {**os.environ, "FWENV_OUTPUT_DIR": str(out), "DOCKER_HOST": "unix:///nonexistent.sock"}
        p = subprocess.run([sys.executable, "-m", "invoke", *argv, *(["--json"] if as_json else [])],  # noqa: S603
                           cwd=root, env=env, capture_output=True, text=True, timeout=300)
        after = _tree(root) | {"my tree/" + p for p in _tree(tree)}
        made = sorted((after - before) | ({str(out)} if out.exists() else set()))
        return (case, as_json), {"proc": p, "made": made}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, jobs))


def test_every_task_has_a_case() -> None:
    assert {c.split()[0] for c in CASES} == set(_tasks())


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_dry_run_creates_no_file_or_directory(runs, case: str) -> None:
    for (c, as_json), r in runs.items():
        if c == case:
            p = r["proc"]
            assert "Traceback" not in p.stderr, p.stderr
            assert not r["made"], f"invoke {CASES[case]}{' --json' * as_json} made {r['made']}"


JSON_CASES = sorted(c for c in CASES if "json" in _options(_tasks()[c.split()[0]]))


@pytest.mark.parametrize("case", JSON_CASES)
def test_json_prints_exactly_one_json_document_on_stdout(runs, case: str) -> None:
    p = runs[(case, True)]["proc"]
    doc = json.loads(p.stdout)  # the whole of stdout: one document, nothing else
    assert isinstance(doc, dict | list) and doc, p.stdout
    if p.returncode != 0:  # a failure is a document too, and one line on stderr
        assert doc["ok"] is False and doc["error"] in p.stderr, (p.stdout, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_help_shows_the_explicit_short_flags() -> None:
    p = subprocess.run([sys.executable, "-m", "invoke", "--help", "firmware.build"],  # noqa: S603
                       cwd=ROOT, capture_output=True, text=True, check=True)
    assert "-j INT, --jobs=INT" in p.stdout and "-v, --verbose" in p.stdout, p.stdout
    assert "-s, --" not in p.stdout and "-j, --json" not in p.stdout, p.stdout
    p = subprocess.run([sys.executable, "-m", "invoke", "--help", "release"],  # noqa: S603
                       cwd=ROOT, capture_output=True, text=True, check=True)
    assert "-v, --version" not in p.stdout and "-v, --verbose" in p.stdout, p.stdout
    assert "--, --no-time-machine" not in p.stdout, p.stdout
