#!/usr/bin/env python3
"""Summarize a `mutmut run`: score over the given mutant-name globs, then each survivor's change.

Usage (from the project root, after mutmut run): python scripts/mutants_report.py GLOB...
The changed lines are read from mutmut's own mutants/ copy (fast; `mutmut show NAME` gives the
same diff one mutant at a time).
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import subprocess
import sys
from collections import Counter
from pathlib import Path

KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def _functions(module: str) -> dict[str, str]:
    """Every function (mutant variants included) of a mutated module, by name, as source."""
    path = Path("mutants/src") / (module.replace(".", "/") + ".py")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
            out[node.name] = "\n".join(lines[node.lineno - 1:node.end_lineno])
    return out


def _change(name: str, cache: dict[str, dict[str, str]]) -> list[str]:
    module, _, func = name.rpartition(".")
    if module not in cache:
        cache[module] = _functions(module)
    funcs = cache[module]
    base = func.rsplit("__mutmut_", 1)[0]
    orig, mutant = funcs.get(base + "__mutmut_orig", ""), funcs.get(func, "")
    diff = difflib.unified_diff(orig.splitlines()[1:], mutant.splitlines()[1:], lineterm="", n=0)
    return [ln.strip() for ln in diff if ln[:1] in "+-" and ln[:3] not in ("---", "+++")]


def main(globs: list[str]) -> int:
    out = subprocess.run(["mutmut", "results", "--all", "true"], capture_output=True, text=True,
                         check=True).stdout
    status = {}
    for line in out.splitlines():
        name, sep, state = line.strip().rpartition(": ")
        if sep and any(fnmatch.fnmatchcase(name, g) for g in globs):
            status[name] = state
    if not status:
        print("no mutants matched", file=sys.stderr)
        return 1
    counts = Counter(status.values())
    killed = sum(n for s, n in counts.items() if s in KILLED)
    cache: dict[str, dict[str, str]] = {}
    for name in sorted(n for n, s in status.items() if s not in KILLED):
        print(f"{status[name]}: {name}\n    " + "\n    ".join(_change(name, cache)))
    print(f"\nmutants: {len(status)}  " + "  ".join(f"{s}: {n}" for s, n in sorted(counts.items())))
    print(f"score: {killed}/{len(status)} killed = {100 * killed / len(status):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["*"]))
