"""What the benchmarks share: the checkout on sys.path (fwenv's src/ and tests/ helpers) and a
wall-clock timer. Import it first: `from _common import MAIN, timed` (benchmarks/ is the
script's own directory, so it is on sys.path already)."""

from __future__ import annotations

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
