"""config: every effective setting and where it came from."""

from __future__ import annotations

import json as jsonlib

from fwenv.config import settings

from .common import COMMON_HELP, context, emit, fwtask, task


@task(help={"json": COMMON_HELP["json"]})
@fwtask
def config(c, json=False):
    """Every effective setting, with its source (pyproject, guix/environment.toml, recipe and
    target files, FWENV_* variables, defaults); task options override them per run."""
    cfg, runner = context()
    rows = settings(cfg)
    if json:
        emit({"settings": [vars(r) for r in rows]}, True, runner)
        return
    width = min(40, max(len(r.key) for r in rows))
    for r in rows:
        print(f"{r.key:{width}} = {jsonlib.dumps(r.value)}  # {r.source}")
