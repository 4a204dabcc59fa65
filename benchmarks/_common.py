"""What the benchmarks share: the checkout on sys.path (fwenv's src/ and tests/ helpers) and a
wall-clock timer. Import it first: `from _common import MAIN, timed` (benchmarks/ is the
script's own directory, so it is on sys.path already)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

MAIN = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(MAIN / "src"), str(MAIN)]

T = TypeVar("T")


def timed(fn: Callable[..., T], *args: Any, **kw: Any) -> tuple[float, T]:
    """(seconds, result) of fn(*args, **kw)."""
    t = time.monotonic()
    out = fn(*args, **kw)
    return time.monotonic() - t, out


def builder_bench_args(doc: str, quick_help: str) -> tuple[argparse.Namespace, Any, str]:
    """--builder/--quick parsed; the engine and the builder image (guix.base's, built if
    missing, when --builder is not given)."""
    from fwenv.config import load_config
    from fwenv.engine import Engine
    from fwenv.guix.builder import build_builder
    from fwenv.plan import Runner

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--builder", help="builder image (default: guix.base's, built if missing)")
    ap.add_argument("--quick", action="store_true", help=quick_help)
    a = ap.parse_args()
    engine = Engine.connect()
    return a, engine, a.builder or build_builder(load_config(MAIN), Runner(), engine).image
