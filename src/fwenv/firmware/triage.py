"""Mismatch triage for double builds: a diffoscope report (HTML and text) and a one-line
summary naming the first culprit, written to a `triage/` directory at once (temp, then rename).

diffoscope runs on the host (Debian's `diffoscope`, installed by scripts/setup); without it the
triage still names the culprit and says how to get the reports. The ROM triage is here; the
environment's (store items of two packs) is fwenv.release.triage, which uses `diffoscope_into`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..fsutil import atomic_path

SUMMARY = "summary.txt"
HTML, TEXT = "diffoscope.html", "diffoscope.txt"
TIMEOUT = 900  # seconds; diffoscope of a whole environment can take long
NO_DIFFOSCOPE = "diffoscope is not installed (scripts/setup installs it: apt-get install " \
                "--no-install-recommends diffoscope): no diffoscope report"


def diffoscope_into(a: Path, b: Path, out: Path, timeout: float = TIMEOUT) -> str:
    """diffoscope A B → out/diffoscope.html and out/diffoscope.txt; '' when written, else why
    not (also written to out/diffoscope.txt)."""
    if not shutil.which("diffoscope"):
        (out / TEXT).write_text(NO_DIFFOSCOPE + "\n", encoding="utf-8")
        return NO_DIFFOSCOPE
    argv = ["diffoscope", "--no-progress", "--html", str(out / HTML), "--text", str(out / TEXT),
            "--max-report-size", "50000000", "--exclude-directory-metadata", "yes",
            str(a), str(b)]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                           env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"})
    except subprocess.TimeoutExpired:
        return f"diffoscope timed out after {timeout:.0f} s"
    if p.returncode not in (0, 1) or not (out / TEXT).is_file():  # 1: differences found
        return f"diffoscope failed ({p.returncode}): {(p.stderr or '').strip()[-300:]}"
    return ""


def write_triage(final: Path, summary: str, files: Mapping[str, str],
                 compare: tuple[Path, Path] | None) -> Path:
    """final/ with SUMMARY (the one line first, then `files`' texts under their names) and
    diffoscope of `compare`, written atomically."""
    with atomic_path(final, directory=True) as tmp:
        note = diffoscope_into(*compare, tmp) if compare else ""
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        body = summary + "\n" + (f"\n{note}\n" if note else "")
        (tmp / SUMMARY).write_text(body, encoding="utf-8")
        os.chmod(tmp, 0o755)
        for p in tmp.iterdir():
            os.chmod(p, 0o644)
    return final


def rom_triage(final: Path, target: str, extracted: Path, differing: list[str],
               roms: tuple[Path, Path]) -> tuple[Path, str]:
    """Triage of two ROMs whose CBFS entries were extracted to extracted/{a,b} (listings in
    extracted/{a,b}.list, as compare-cbfs.sh writes them): the culprit is the first differing
    entry in CBFS order; diffoscope compares the entries (or the ROMs when no entry differs)."""
    if differing:
        rest = f" (and {len(differing) - 1} more: {', '.join(differing[1:])})" \
            if len(differing) > 1 else ""
        summary = f"{target}: first culprit: CBFS file {differing[0]}{rest}"
        only = extracted / "differing"
        for side in ("a", "b"):
            (only / side).mkdir(parents=True, exist_ok=True)
            for n in differing:
                src = extracted / side / n.replace("/", "_")
                if src.is_file():
                    shutil.copyfile(src, only / side / n.replace("/", "_"))
        compare = (only / "a", only / "b")
    else:
        summary = f"{target}: the ROMs differ outside every CBFS file (layout or padding)"
        compare = roms
    listings = {f"cbfs-{s}.txt": (extracted / f"{s}.list").read_text(errors="replace")
                for s in ("a", "b") if (extracted / f"{s}.list").is_file()}
    return write_triage(final, summary, listings, compare), summary
