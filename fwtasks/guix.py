"""guix.* tasks: the builder image, a shell in it, and (from their modules) pack and pin."""

from __future__ import annotations

import subprocess

from invoke import Collection, task

from fwenv.guix.builder import RECIPES, BuilderOptions, build_builder, default_builder
from fwenv.guix.daemon import DAEMON_MODES, daemon_spec

from .common import COMMON_HELP, context, emit, engine_for, fwtask
from .pack import pack
from .pin import pin


@task(
    help={
        "recipe": f"builder recipe: {' | '.join(RECIPES)} (default from [tool.fwenv.builder])",
        "suite": "Debian suite to debootstrap (debian recipe: sid, the suite with guix)",
        "mirror": "Debian mirror URL",
        "snapshot": "snapshot.debian.org timestamp (e.g. 20261120T000000Z) pinning the mirror",
        "tag": "image tag (default: the installed Guix version)",
        "force": "rebuild even if an image with the same inputs exists",
        **COMMON_HELP,
    }
)
@fwtask
def base(c, recipe=None, suite=None, mirror=None, snapshot=None, tag=None, force=False,
         dry_run=False, json=False, verbose=False):
    """Build the builder image guix-pack-builder:<version> (reproducible, bit for bit)."""
    cfg, runner = context(dry_run, verbose)
    opts = BuilderOptions.from_project(cfg, recipe=recipe, suite=suite, mirror=mirror,
                                       snapshot=snapshot, tag=tag, force=force)
    result = build_builder(cfg, runner, engine_for(runner), opts)
    emit(result.as_dict(), json, runner)


@task(
    help={
        "image": "builder image (default: the newest guix-pack-builder)",
        "mode": f"guix-daemon mode: {' | '.join(DAEMON_MODES)}",
        "network": "container network: none (default) or bridge (to reach substitutes)",
        "dry_run": COMMON_HELP["dry_run"],
    }
)
@fwtask
def shell(c, image=None, mode="unprivileged", network="none", dry_run=False):
    """Open a shell in a builder container with guix-daemon running."""
    cfg, runner = context(dry_run)
    engine = engine_for(runner)
    ref = image or default_builder(cfg, runner, engine)
    spec = daemon_spec(ref, mode, network=network)
    # Interactive: the daemon starts in the background, then a login shell (docker CLI for a TTY).
    spec.entrypoint = ["sh", "-c", '"$@" >/var/log/guix-daemon.log 2>&1 & exec bash -l', "sh"]
    argv = spec.cli()
    argv.insert(2, "-it")
    runner.show(" ".join(argv))
    if not dry_run:
        raise SystemExit(subprocess.call(argv))  # noqa: S603 (argv list)


ns = Collection("guix")
ns.add_task(base)
ns.add_task(shell)
ns.add_task(pack)
ns.add_task(pin)
