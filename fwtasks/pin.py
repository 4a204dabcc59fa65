"""guix.pin: refresh guix/channels.scm from a pulled Guix (the lead registers it in guix.ns)."""

from __future__ import annotations

from invoke import task

from fwenv.guix.pin import pin as pin_step

from .common import COMMON_HELP, context, emit, engine_for, fwtask


@task(
    help={
        "from_": "read `guix describe -f channels` output from this file instead of a builder",
        "image": "builder image whose Guix to ask (default: the newest guix-pack-builder)",
        **COMMON_HELP,
    }
)
@fwtask
def pin(c, from_=None, image=None, dry_run=False, json=False, verbose=False):
    """Pin guix/channels.scm to the commits of a running Guix; print the diff."""
    cfg, runner = context(dry_run, verbose)
    engine = None if from_ else engine_for(runner)
    result = pin_step(cfg, runner, engine, from_file=from_, image=image)
    emit(result.as_dict(), json, runner)
