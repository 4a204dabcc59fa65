#!/usr/bin/env python3
"""Summarize a `mutmut run`: score over the given mutant-name globs, then every survivor's diff.

Usage (from the project root, after mutmut run): python scripts/mutants_report.py GLOB...
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from collections import Counter

KILLED = {"killed", "timeout", "caught by type check", "segfault"}


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
    survivors = sorted(n for n, s in status.items() if s not in KILLED)
    for name in survivors:
        diff = subprocess.run(["mutmut", "show", name], capture_output=True, text=True).stdout
        changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("---", "+++")]
        print(f"{status[name]}: {name}\n    " + "\n    ".join(changed))
    print(f"\nmutants: {len(status)}  " + "  ".join(f"{s}: {n}" for s, n in sorted(counts.items())))
    print(f"score: {killed}/{len(status)} killed = {100 * killed / len(status):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["*"]))
