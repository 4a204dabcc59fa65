"""The builder as a pack service (seed 002): `invoke guix.pack --stdout`.

The builder image's /usr/local/bin/pack (containers/guix-debian/pack) starts guix-daemon, runs
`guix pack` as the unprivileged client user and writes only the pack to stdout. This runs that
same entry point, with the manifest, channels and load path mounted read-only (the script stages
them as fwenv.guix.pack does), and copies the container's stdout byte for byte to ours:
`invoke guix.pack --stdout --no-time-machine … | docker load`. No provenance, no output/: the
pack is what goes down the pipe. Everything else goes to stderr.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from ..engine import Engine
from ..errors import FwenvError
from ..plan import Runner
from ..recording import engine_for
from .builder import default_builder
from .daemon import daemon_spec
from .options import PackOptions, check_options, guix_argv, pack_mounts, pack_network


def pack_stdout(runner: Runner, opts: PackOptions, builder: str | None, *, builder_name: str,
                out: BinaryIO | None = None) -> int:
    """Stream the pack to `out` (default: our stdout); the container's exit code. `builder`:
    the image, else the newest of repository `builder_name` ([tool.fwenv] builder_image)."""
    check_options(opts)
    if opts.time_machine:
        raise FwenvError("--stdout packs with the builder's own Guix (the pack entry point runs "
                         "no time-machine): add --no-time-machine")
    if out is None and not runner.dry_run and sys.stdout.isatty():
        raise FwenvError("--stdout writes the pack to a terminal: pipe it, e.g. "
                         "invoke guix.pack --stdout … | docker load")
    engine: Engine = engine_for(runner)
    spec = daemon_spec(builder or default_builder(builder_name, runner, engine), opts.daemon_mode,
                       mounts=pack_mounts(opts, None, None), network=pack_network(opts),
                       cores=None)
    spec.command = ["pack", *guix_argv(opts)[2:]]  # guix_argv: ["guix", "pack", …]
    spec.env = {**spec.env, "FWENV_DAEMON_MODE": opts.daemon_mode}
    code = engine.stream(spec, out or sys.stdout.buffer, sys.stderr.buffer)
    if code != 0:
        raise FwenvError(f"the pack service exited {code} (its output is above): "
                         "rerun without --stdout for a diagnosis")
    return code
