"""guix.* tasks: the builder image, a shell in it, and (from their modules) pack and pin."""

from __future__ import annotations

from invoke import Collection, task

from fwenv.guix.builder import RECIPES, BuilderOptions, build_builder, builder_shell
from fwenv.guix.daemon import DAEMON_MODES

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
    code = builder_shell(cfg, runner, engine_for(runner), image, mode, network)
    if not dry_run:
        raise SystemExit(code)


ns = Collection("guix")
ns.add_task(base)
ns.add_task(shell)
ns.add_task(pack)
ns.add_task(pin)
