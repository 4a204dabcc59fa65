"""cache.*: a team substitute cache (guix publish) and the guix offload machines file."""

from __future__ import annotations

from invoke import Collection

from fwenv.guix.cache import ServeOptions, write_machines
from fwenv.guix.cache import serve as serve_step

from .common import COMMON_HELP, context, emit, engine_for, fwtask, task, whole_number


@task(help={"address": "host address to bind (default 127.0.0.1: this machine only)",
            "port": "host port (default 8080)",
            "store": "store volume to serve (default: the builder's, fwenv-guix-store-<id>)",
            "builder": "builder image (default: the newest guix-pack-builder)",
            **COMMON_HELP})
@fwtask
def serve(c, address="127.0.0.1", port="8080", store=None, builder=None, dry_run=False,
          json=False, verbose=False):
    """Serve the Guix store with guix publish; export its key to output/cache/; Ctrl-C stops."""
    cfg, runner = context(dry_run, verbose)
    opts = ServeOptions.from_project(cfg, address=address, port=whole_number("port", port) or 0,
                                     store=store, builder=builder)
    emit(serve_step(runner, engine_for(runner), opts), json, runner)


@task(help={"output": "where to write it (default output/cache/machines.scm)", **COMMON_HELP})
@fwtask
def machines(c, output=None, dry_run=False, json=False, verbose=False):
    """Write the guix offload machines.scm from [tool.fwenv.offload] in pyproject.toml."""
    from pathlib import Path

    cfg, runner = context(dry_run, verbose)
    dest = write_machines(cfg.section("offload").get("machines", []),
                          Path(output) if output else cfg.output_dir / "cache" / "machines.scm",
                          runner)
    emit({"machines": str(dest)}, json, runner)


ns = Collection("cache")
ns.add_task(serve)
ns.add_task(machines)
