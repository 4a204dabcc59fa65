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


# --- mutation testing -------------------------------------------------------------------------
# What is mutated: [tool.mutmut] only_mutate (the modules below) narrowed here to the functions
# that decide trust or reproducibility (whole modules for signers, provenance, record). Tests:
# the engine-free suites ([tool.mutmut]; tests/unit makes real gpg/ssh keys, no engine).
# Survivors are printed; the score is killed / (all mutants of these functions); docs/testing.md
# explains each kind of survivor left.
MUTANT_GLOBS = [
    # archive comparison and signed-sums verification (fwenv.release.verify)
    *(f"fwenv.release.verify.x{f}_*" for f in (
        "ǁEntryǁdifferences", "__kind", "__hash_stream", "_index_tar", "__diff_index",
        "_compare_archives", "__layer_names", "_image_digests", "__member", "_store_items",
        )),
    # signers bound to their keys, the release's own signed sums, the threshold
    "fwenv.release.signers.*",
    # SHA256SUMS and signature status (fwenv.release.sign; making signatures is not judged here:
    # a wrong signer yields a signature that verification refuses)
    *(f"fwenv.release.sign.x_{f}_*" for f in (
        "sums_text", "hash_files", "parse_sums", "check_member_name", "check_files")),
    "fwenv.guix.provenance.*",
    *(f"fwenv.fsutil.x_{f}_*" for f in ("sha256_file", "write_text_atomic", "remove",
                                         "clean_stale_temps")),
    "fwenv.config.x_check_image_ref_*",
    # rootfs normalization: tar flags, cleanup, recipe validation and inputs digest
    "fwenv.guix.rootfs.x_tar_argv_*", "fwenv.guix.rootfs.x_clean_rootfs_*",
    "fwenv.guix.rootfs.xǁRootfsRecipeǁ*", "fwenv.guix.rootfs.x__display_*",
    "fwenv.release.preflight.x_check_version_*",
    "fwenv.guix.options.x_check_pack_name_*", "fwenv.guix.record.*",
    *(f"fwenv.sigcheck.x{f}_*" for f in ("_gpg_primary_fingerprint", "__status", "_gpg_verify",
                                          "__gpg_verdict", "_ssh_fingerprint", "_ssh_verify")),
    "fwenv.env.importer.x_verify_pack_*", "fwenv.env.importer.x_docker_pack_digests_*",
    "fwenv.env.importer.x_tarball_layer_digest_*",
]


@nox.session
def mutants(session: nox.Session) -> None:
    """Mutation testing (mutmut) of the trust/reproducibility code against the fast tests."""
    session.install("-e", ".[dev]")
    session.run("rm", "-rf", "mutants", external=True)
    session.run("mutmut", "run", *(session.posargs or MUTANT_GLOBS))
    session.run("python", "scripts/mutants_report.py", *(session.posargs or MUTANT_GLOBS))


# --- acceptance (owned by the guix work) -------------------------------------------------------
# The networked run a maintainer does before a release (fwenv.release.acceptance has the plan). Offline it
# refuses in one line before doing anything. venv_backend="none": it drives `invoke` from the
# environment nox runs in (the project's .venv).


@nox.session(venv_backend="none")
def acceptance(session: nox.Session) -> None:
    """Networked: build the environment twice, every target in both, boot QEMU ones, compare."""
    import json
    from pathlib import Path

    from fwenv.release import acceptance as acc

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
