"""Nox sessions: unit, tests, lint, firmware (parametrized over targets)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
SCRIPTS = "src/fwenv/*/scripts"  # what runs inside containers
nox.options.reuse_existing_virtualenvs = True


@nox.session
def unit(session: nox.Session) -> None:
    """The tests that need no engine (not marked integration), run with an engine address
    that answers nothing, so one that does need it fails. Args go to pytest."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-m", "not integration", *session.posargs,
                env={"DOCKER_HOST": "unix:///nonexistent/fwenv-unit-tests-have-no-engine.sock"})


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and integration tests (real Docker engine, guix-daemon, QEMU). Args go to pytest."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy (src/, fwtasks/, noxfile.py), shellcheck and a Guile read of every script
    that runs inside a container (Debian: shellcheck, guile-3.0)."""
    import glob

    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("mypy")
    session.run("shellcheck", "-s", "sh", *sorted(glob.glob(f"{SCRIPTS}/*.sh")), external=True)
    # `guild compile` would need Guix's modules on the host; reading every form catches
    # what a script file can get wrong on its own (parentheses, strings).
    for scm in sorted(glob.glob(f"{SCRIPTS}/*.scm")):
        session.run("guile", "--no-auto-compile", "-c",
                    "(let ((p (open-input-file (cadr (command-line)))))"
                    " (let loop () (unless (eof-object? (read p)) (loop))))", scm, external=True)


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
