"""Nox sessions: tests, lint, firmware (parametrized over targets)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and integration tests (real Docker engine, guix-daemon, QEMU). Args go to pytest."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("mypy")


# --- firmware sessions (owned by the firmware work) ------------------------------------------
# Every coreboot target and Heads board is a parameter: nox -s "firmware(target='qemu-q35')".
# `-- --image IMG` builds in another image (CI: the Debian stand-in, fwenv-toolchain-standin).
# QEMU targets are boot-checked too. Heads boards need `invoke firmware.fetch` (network) first:
# without it they fail at once with the missing-cache error.


def _firmware_targets() -> list[str]:
    from pathlib import Path

    import tomllib

    root = Path(__file__).parent
    names = []
    for path, table in (("coreboot/targets.toml", "targets"), ("heads/boards.toml", "boards")):
        p = root / path
        if p.exists():
            names += sorted(tomllib.loads(p.read_text(encoding="utf-8")).get(table, {}))
    return names


@nox.session
@nox.parametrize("target", _firmware_targets())
def firmware(session: nox.Session, target: str) -> None:
    """Build one firmware target in the environment image (-- --image IMG to override)."""
    args = list(session.posargs)
    image = []
    if "--image" in args:
        i = args.index("--image")
        if i + 1 >= len(args):
            session.error("--image needs a value: -- --image IMG")
        image = ["--image", args[i + 1]]
    session.install("-e", ".")
    session.run("invoke", "firmware.build", "--target", target, "--boot-if-qemu", *image)


# --- acceptance (owned by the guix work) -------------------------------------------------------
# The networked run a maintainer does before a release (fwenv.acceptance has the plan). Offline it
# refuses in one line before doing anything. venv_backend="none": it drives `invoke` from the
# environment nox runs in (the project's .venv).


@nox.session(venv_backend="none")
def acceptance(session: nox.Session) -> None:
    """Networked: build the environment twice, every target in both, boot QEMU ones, compare."""
    import json
    from pathlib import Path

    from fwenv import acceptance as acc

    offline = acc.probe_network()
    if offline:
        session.error(offline)
    root = Path(__file__).parent
    plan = acc.plan(root)
    if plan.problems:
        session.error("; ".join(plan.problems))
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for step in plan.steps:
        if step.image and any(n.startswith("env-") for n in failures):
            failures[step.name] = "skipped: an environment build failed"
            continue
        try:
            out = session.run(*step.argv, silent=True, external=True, stderr=None)
            results[step.name] = json.loads(out) if isinstance(out, str) and out.strip() else {}
        except Exception as e:  # noqa: BLE001 - recorded in the report, the run goes on
            failures[step.name] = str(e).splitlines()[-1] if str(e) else type(e).__name__
    report = acc.write_report(root / "output" / "acceptance", plan, results, failures)
    bad = acc.judge(results) or list(failures)
    if bad:
        session.error(f"acceptance failed ({len(bad)} problems): see {report}")
    session.log(f"acceptance passed: {report}")
