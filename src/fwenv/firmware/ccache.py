"""`firmware.build --src … --ccache`: a compiler cache kept in a named volume (opt in).

coreboot finds ccache on PATH when CONFIG_CCACHE=y (its toolchain.mk prefixes CC and HOSTCC,
sets CCACHE_BASEDIR to the tree and writes per-build statistics to $(obj)/ccache.stats); the
build script prints those statistics (hits, misses) into the build log. Never used by
`--check` (the double build proves the compiler's output, not a cache's) nor by a release
(its smoke builds are named targets, which take no cache).
"""

from __future__ import annotations

import re
from typing import Any

from ..engine import ContainerSpec, Engine, Mount
from ..errors import FwenvError
from ..fsutil import script
from ..plan import Runner
from .container import BUILD_USER, MISSING_EXIT, run_container
from .workspace import Workspace

MOUNT = "/ccache"
PREPARE_SCRIPT = script(__package__, "ccache-prepare.sh")  # $1 mount, $2 uid:gid


def mount(ws: Workspace) -> Mount:
    return Mount(ws.ccache_volume, MOUNT, kind="volume")


def env() -> dict[str, str]:
    return {"CCACHE_DIR": MOUNT}


def make_args() -> list[str]:
    return ["CONFIG_CCACHE=y"]


def prepare(ws: Workspace, runner: Runner, engine: Engine, image: str) -> None:
    """The image has ccache, and the volume exists and belongs to the build user."""
    spec = ContainerSpec(image=image, mounts=[mount(ws)], user="0:0", network="none",
                         command=["sh", "-c", PREPARE_SCRIPT, "fwenv-ccache", MOUNT,
                                  f"{BUILD_USER}:{BUILD_USER}"])
    if runner.dry_run:
        engine.run(spec)
        return
    engine.ensure_volume(ws.ccache_volume, {"org.fwenv.ccache": "1"})
    code, out = run_container(engine, spec, runner, f"ccache check of {image}")
    if code == MISSING_EXIT:
        raise FwenvError(f"--ccache: image {image} has no ccache: drop --ccache or use the "
                         "environment image (it carries ccache)")
    if code != 0:
        raise FwenvError(f"--ccache: cannot prepare the {ws.ccache_volume} volume (exit {code}: "
                         f"{out.strip()[-160:]}): remove it (docker volume rm) and retry")


def stats(log: str) -> dict[str, Any]:
    """Hits and misses from the `ccache --show-log-stats` block the build script prints."""
    found: dict[str, int] = {}
    for k, n in re.findall(r"^\s*(Hits|Misses):\s+(\d+)", log, re.MULTILINE):
        found.setdefault(k.lower(), int(n))  # the first block: all of this build's calls
    return {"hits": found.get("hits", 0), "misses": found.get("misses", 0)} if found else {}
