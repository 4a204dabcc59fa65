"""Mismatch triage for two environment packs that should be identical.

The two packs are compared store item by store item (NAR sha256, fwenv.release.storeinfo); the
first culprits are the differing items none of whose references differ (where a difference
starts). For each, the `guix build --check --keep-failed` command that rebuilds it and keeps the
differing output (`<item>-check`) for inspection. diffoscope compares the culprit items
(extracted from both packs), or the archives when no item differs (the image config, layout).

    triage/summary.txt       one line naming the first culprit, then the details
    triage/items.txt         every differing store item with both NAR hashes
    triage/reproduce.txt     the guix build --check --keep-failed command per culprit
    triage/diffoscope.html, diffoscope.txt
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..firmware.triage import write_triage
from .storeinfo import ItemInfo, differing_items, extract_item, first_culprits, store_info

MAX_EXTRACTED = 4  # culprit items diffoscope compares
KEEP_FAILED_NOTE = (
    "# Run in a builder whose store holds the item (e.g. after guix build -m MANIFEST).\n"
    "# The daemon rebuilds the derivation; when the output differs it keeps the new one as\n"
    "# <item>-check (compare the two with diffoscope). fwenv's unprivileged daemon cannot\n"
    "# move it into the store: the command then ends with `renaming ... <item>-check':\n"
    "# Permission denied, which the daemon only attempts when the outputs differ.\n")


def check_command(item: str, derivations: Mapping[str, str]) -> str:
    """The command, run where the store holds `item` (a builder after the pack), that rebuilds
    it and keeps the differing output as `<item>-check`."""
    drv = derivations.get(item)
    target = drv if drv else f"$(guix gc --derivers {item})"
    return f"guix build --check --keep-failed {target}"


def _nar(info: ItemInfo | None) -> str:
    return info.nar_sha256[:16] if info else "(absent)"


def triage_packs(first: Path, second: Path, final: Path,
                 derivations: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """Write final/ (see the module doc); return it and the one-line summary."""
    derivations = derivations or {}
    a, b = store_info(first), store_info(second)
    diff = differing_items(a, b)
    culprits = first_culprits(a, b)
    if culprits:
        c = culprits[0]
        more = f" ({len(culprits)} culprits, {len(diff)} differing store items)" \
            if len(diff) > 1 else ""
        summary = (f"first culprit: {c} (NAR sha256 {_nar(a.get(c))}… vs {_nar(b.get(c))}…)"
                   f"{more}; reproduce: {check_command(c, derivations)}")
    elif diff:
        summary = f"{len(diff)} store items differ, each through another: {diff[0]} first"
    else:
        summary = ("every store item is identical: the packs differ outside the store "
                   "(image config, layer metadata or compression); see diffoscope.txt")
    items = "".join(f"{'culprit ' if p in culprits else 'follows '}{p}  "
                    f"{_nar(a.get(p))}  {_nar(b.get(p))}\n" for p in diff)
    commands = "".join(f"# {p}\n{check_command(p, derivations)}\n" for p in culprits)
    if commands:
        commands = KEEP_FAILED_NOTE + commands
    files = {"items.txt": items or "no store item differs\n",
             "reproduce.txt": commands or "# no culprit store item\n"}
    with tempfile.TemporaryDirectory(prefix="fwenv-triage-") as tmp:
        compare = (first, second)
        if culprits:
            sides = (Path(tmp) / "a", Path(tmp) / "b")
            for p in culprits[:MAX_EXTRACTED]:
                for side, archive, info in zip(sides, (first, second), (a, b), strict=True):
                    side.mkdir(exist_ok=True)
                    if p in info:
                        extract_item(archive, p, side)
            compare = sides
        return write_triage(final, summary, files, compare), summary
