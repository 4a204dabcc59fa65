"""Turn Guix's error output into one line that names the file, the line and the fix.

`explain(output, files)` reads what `guix pack`, `guix build`, `guix time-machine` or
`guix lint` printed and returns e.g.

    guix/manifest.scm:31: unknown package "no-such-pkg" — check the name with `guix search`

`files` are the files the command was given (channels file, manifest, package modules,
as host or in-container paths): an error located in one of them is preferred, and an
"unknown package" error is located by searching them for the quoted name. Guix's own
modules (gnu/..., guix/..., ice-9/...) are never blamed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import FwenvError

# "/t/bad1.scm:5:1: missing closing parenthesis", "x.scm:1:6: error: ..."
_LOCATED = re.compile(r"^(?P<file>[^\s:]+\.scm):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")
_UNKNOWN = re.compile(
    r"error: (?P<name>[^\s:]+): (?:unknown package|package not found for version (?P<ver>\S+))"
)
_FAILED_MODULE = re.compile(r"warning: failed to load '\((?P<module>[^)]*)\)'")
_GUIX_INTERNAL = ("gnu/", "guix/", "ice-9/", "srfi/", "language/", "system/")
# Daemon/environment chatter that is never the cause.
_NOISE = ("failed to change owner of directory",)

FIXES = {
    "syntax": "fix the parentheses/quotes at that line",
    "field": "see the record's fields in the Guix manual (channel: name, url, branch, "
    "commit, introduction)",
    "unbound": "a misspelt procedure or a missing use-modules",
    "unknown": "check the name with `guix search NAME` (or `guix package -A`) "
    "in the pinned Guix",
}


@dataclass(frozen=True)
class Diagnosis:
    file: str
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message} — {self.fix}"


def _fix_for(msg: str) -> str:
    if "parenthesis" in msg or "end of input" in msg or "unexpected" in msg:
        return FIXES["syntax"]
    if "field" in msg:
        return FIXES["field"]
    if "unbound variable" in msg:
        return FIXES["unbound"]
    return "see that line"


def _matches(reported: str, given: str) -> bool:
    """Same file, allowing for host vs container prefixes (compare path suffixes)."""
    a, b = PurePosixPath(reported).parts, PurePosixPath(given).parts
    n = min(len(a), len(b))
    return n > 0 and a[-n:] == b[-n:]


def _display(reported: str, files: Sequence[str]) -> str:
    for f in files:
        if _matches(reported, f):
            return f
    return reported


def _find_name(name: str, files: Sequence[str]) -> tuple[str, int] | None:
    """The first file/line where "NAME" or "NAME@..." is written as a string."""
    pattern = re.compile(r'"' + re.escape(name) + r'(?:@[^"]*)?(?::[^"]*)?"')
    for f in files:
        try:
            text = Path(f).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if pattern.search(line.split(";", 1)[0]):
                return f, i
    return None


def diagnose(output: str, files: Sequence[str | Path] = ()) -> Diagnosis | None:
    """The most telling located error in `output`, or None if there is none."""
    names = [str(f) for f in files]
    lines = [ln.strip() for ln in output.splitlines()
             if ln.strip() and not any(n in ln for n in _NOISE)]
    located: list[Diagnosis] = []
    for ln in lines:
        m = _LOCATED.match(ln)
        if not m or m["file"].startswith(_GUIX_INTERNAL):
            continue
        msg = re.sub(r"^error: ", "", m["msg"])
        located.append(Diagnosis(_display(m["file"], names), int(m["line"]), msg,
                                 _fix_for(msg)))
    # 1. an error inside one of the given files
    for d in located:
        if any(_matches(d.file, f) for f in names):
            return d
    # 2. any located error outside Guix (e.g. a package module that failed to load)
    if located:
        return located[0]
    # 3. an unknown package, located by searching the given files
    for ln in lines:
        m = _UNKNOWN.search(ln)
        if m:
            what = f'"{m["name"]}"' + (f" at version {m['ver']}" if m["ver"] else "")
            where = _find_name(m["name"], names)
            file, line = where if where else ((names[0], 0) if names else ("(command line)", 0))
            return Diagnosis(file, line, f"unknown package {what}", FIXES["unknown"])
    return None


def explain(output: str, files: Sequence[str | Path] = ()) -> str:
    """One line for a failed Guix command: `file:line: message — fix`, else its last error."""
    d = diagnose(output, files)
    if d is not None:
        return str(d)
    lines = [ln.strip() for ln in output.splitlines()
             if ln.strip() and not any(n in ln for n in _NOISE)]
    for ln in reversed(lines):
        if "error:" in ln:
            return ln
    return lines[-1] if lines else "(no output)"


def check(code: int, output: str, files: Sequence[str | Path] = (), what: str = "guix") -> str:
    """Return `output` if `code` is 0, else raise the one-line FwenvError."""
    if code != 0:
        raise FwenvError(f"{what} failed: {explain(output, files)}")
    return output
