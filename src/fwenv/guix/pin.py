"""The Guix pin: guix/channels.scm, read from `guix describe -f channels`.

`invoke guix.pin` asks a running Guix for its channels (`guix describe -f channels` in a
builder container) or reads that output from a file (`--from`), checks that it pins
commits, shows the diff against guix/channels.scm and writes it atomically.

A Guix installed from a distribution package (Debian's guix, as in our builder) is not a
pulled Guix: `guix describe` knows no commit. Pinning from it fails with one line; run
`guix pull` first (networked) or pass `--from`.

Also here: `nix_base32()`, Guix's base32 for hashes (origin sha256 fields), to turn a
published sha256 hex digest into what a package definition needs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from ..fsutil import write_text_atomic

CHANNELS_FILE = "guix/channels.scm"
_HEX40 = re.compile(r"^[0-9a-f]{40}$")

HEADER = """\
;; The Guix that builds the fwenv environment.  Used as
;;   guix time-machine -C guix/channels.scm -- pack ...
;; The introduction lets time-machine authenticate every commit up to the pin.
;; Written by `invoke guix.pin` from `guix describe -f channels`; see
;; docs/environment.md "The Guix pin" for how the pinned commit was checked.
"""

# --- a small reader for the s-expressions `guix describe -f channels` prints ---------------

_TOKEN = re.compile(r'\s+|;[^\n]*|(?P<str>"(?:[^"\\]|\\.)*")|(?P<open>\()|(?P<close>\))|'
                    r"(?P<quote>')|(?P<atom>[^\s()\"';]+)")


def read_sexp(text: str) -> Any:
    """Read one s-expression: lists, strings (str), symbols/atoms (Sym), 'x -> [quote, x]."""
    stack: list[list[Any]] = [[]]
    quotes: list[int] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FwenvError(f"channels text: cannot read at offset {pos}: "
                             "pass the output of `guix describe -f channels`")
        pos = m.end()
        if m["str"] is not None:
            item: Any = bytes(m["str"][1:-1], "utf-8").decode("unicode_escape")
        elif m["atom"] is not None:
            item = Sym(m["atom"])
        elif m["open"]:
            stack.append([])
            quotes.append(-1)
            continue
        elif m["close"]:
            if len(stack) == 1:
                raise FwenvError("channels text: unbalanced ')': "
                                 "pass the output of `guix describe -f channels`")
            item = stack.pop()
            quotes.pop()
        elif m["quote"]:
            stack.append([Sym("quote")])
            quotes.append(1)
            continue
        else:
            continue
        stack[-1].append(item)
        while quotes and quotes[-1] == 1 and len(stack[-1]) == 2:  # close a 'x
            quoted = stack.pop()
            quotes.pop()
            stack[-1].append(quoted)
    if len(stack) != 1 or len(stack[0]) != 1:
        raise FwenvError("channels text: expected one complete (list (channel ...)) form: "
                         "pass the output of `guix describe -f channels`")
    return stack[0][0]


class Sym(str):
    """A Scheme symbol or atom (#f, #t, 'guix)."""


@dataclass(frozen=True)
class Channel:
    name: str
    url: str | None
    branch: str | None
    commit: str | None
    intro_commit: str | None = None
    intro_fingerprint: str | None = None

    def to_scheme(self) -> str:
        lines = ["(channel", f"  (name '{self.name})"]
        if self.url:
            lines.append(f'  (url "{self.url}")')
        if self.branch:
            lines.append(f'  (branch "{self.branch}")')
        if self.commit:
            lines += ["  (commit", f'    "{self.commit}")']
        if self.intro_commit:
            lines += ["  (introduction", "    (make-channel-introduction",
                      f'      "{self.intro_commit}"', "      (openpgp-fingerprint",
                      f'        "{self.intro_fingerprint}")))']
        lines[-1] += ")"
        return "\n".join(lines)


def _field(form: list[Any], key: str) -> Any:
    for item in form[1:]:
        if isinstance(item, list) and item and item[0] == key:
            return item[1] if len(item) > 1 else None
    return None


def _value(v: Any) -> str | None:
    if isinstance(v, list) and v and v[0] == "quote":
        return str(v[1])
    if isinstance(v, Sym) and v in ("#f", "#false"):
        return None
    return None if v is None else str(v)


def parse_channels(text: str) -> list[Channel]:
    """The channels of a `guix describe -f channels` text."""
    form = read_sexp(text)
    if not (isinstance(form, list) and form and form[0] == "list"):
        raise FwenvError("channels text does not start with (list (channel ...)): "
                         "pass the output of `guix describe -f channels`")
    out = []
    for ch in form[1:]:
        if not (isinstance(ch, list) and ch and ch[0] == "channel"):
            raise FwenvError(f"channels text: expected (channel ...), got {str(ch)[:40]}")
        intro = _field(ch, "introduction")
        ic = fp = None
        if isinstance(intro, list) and intro and intro[0] == "make-channel-introduction":
            ic = str(intro[1])
            fpf = intro[2] if len(intro) > 2 else None
            fp = str(fpf[1]) if isinstance(fpf, list) and len(fpf) > 1 else None
        name = _value(_field(ch, "name"))
        if not name:
            raise FwenvError("channels text: a channel has no name")
        out.append(Channel(name, _value(_field(ch, "url")), _value(_field(ch, "branch")),
                           _value(_field(ch, "commit")), ic, fp))
    if not out:
        raise FwenvError("channels text lists no channel")
    return out


def check_pinned(channels: Sequence[Channel], source: str) -> None:
    """Every channel must have a URL and a full commit, and the guix channel an intro."""
    for ch in channels:
        if not ch.commit:
            raise FwenvError(
                f"{source} reports no commit for channel '{ch.name}' (a Guix installed from "
                "a distribution package, not `guix pull`): pin from a pulled Guix, or pass "
                "--from FILE with `guix describe -f channels` output"
            )
        if not _HEX40.match(ch.commit):
            raise FwenvError(f"{source}: channel '{ch.name}' commit {ch.commit!r} is not a "
                             "40-hex git commit: pass `guix describe -f channels` output")
        if not ch.url:
            raise FwenvError(f"{source}: channel '{ch.name}' has no url")
        if ch.name == "guix" and not ch.intro_commit:
            raise FwenvError(f"{source}: the guix channel has no introduction, so "
                             "`guix time-machine` cannot authenticate it: use `-f channels`, "
                             "not `-f channels-sans-intro`")


def render(channels: Sequence[Channel]) -> str:
    body = "\n".join(_indent(ch.to_scheme(), 6 if i else 0) for i, ch in enumerate(channels))
    return f"{HEADER}(list {body})\n"


def _indent(text: str, n: int) -> str:
    first, *rest = text.splitlines()
    return "\n".join([" " * n + first, *(" " * 6 + ln for ln in rest)])


@dataclass
class PinResult:
    path: Path
    channels: list[Channel]
    diff: str
    changed: bool
    written: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "commits": {c.name: c.commit for c in self.channels},
            "changed": self.changed,
            "written": self.written,
            "diff": self.diff,
        }


def pin_from_text(text: str, path: Path, *, source: str, dry_run: bool) -> PinResult:
    """Check `text`, diff it against `path` and (unless dry_run) write it atomically."""
    channels = parse_channels(text)
    check_pinned(channels, source)
    new = render(channels)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    changed = _semantic(old) != channels if old else True
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        str(path), f"{path} (new)"))
    written = False
    if changed and not dry_run:
        write_text_atomic(path, new)
        written = True
    return PinResult(path, channels, diff if changed else "", changed, written)


def _semantic(text: str) -> list[Channel] | None:
    try:
        return parse_channels(text)
    except FwenvError:
        return None


# --- Guix/Nix base32 --------------------------------------------------------------------

NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"


def nix_base32(digest: bytes | str) -> str:
    """Guix's base32 (`guix hash` output, origin sha256 fields) of a digest or hex string."""
    data = bytes.fromhex(digest) if isinstance(digest, str) else digest
    n = (len(data) * 8 + 4) // 5
    out = []
    for k in range(n - 1, -1, -1):
        i, j = divmod(k * 5, 8)
        c = data[i] >> j
        if i + 1 < len(data):
            c |= data[i + 1] << (8 - j)
        out.append(NIX_BASE32[c & 0x1F])
    return "".join(out)


# --- the step -------------------------------------------------------------------------------

def describe_in_builder(engine: Any, runner: Any, image: str) -> str:
    """`guix describe -f channels` in a fresh builder container (no network needed)."""
    from .daemon import daemon_spec, guix_session

    with guix_session(engine, runner, daemon_spec(image)) as session:
        _, out = session.exec(["guix", "describe", "-f", "channels"],
                              what="guix describe -f channels",
                              fix="check the builder image (invoke guix.base)")
    # The daemon may chatter on the same stream; keep the s-expression only.
    start = out.find("(list")
    return out[start:] if start >= 0 else out


def pin(cfg: Any, runner: Any, engine: Any, *, from_file: str | None = None,
        image: str | None = None) -> PinResult:
    """Refresh guix/channels.scm from a file or from the Guix in a builder image."""
    path = cfg.root / CHANNELS_FILE
    if from_file:
        src = Path(from_file)
        try:
            text = src.read_text(encoding="utf-8")
        except OSError as e:
            raise FwenvError(f"cannot read {src}: {e.strerror}: pass the file written by "
                             "`guix describe -f channels > FILE`") from None
        source = str(src)
    else:
        from .builder import default_builder

        ref = image or default_builder(cfg, runner, engine)
        text = describe_in_builder(engine, runner, ref)
        source = f"guix describe in {ref}"
        if runner.dry_run:
            runner.info(f"would compare {path} with the channels of {ref}")
            return PinResult(path, [], "", False, False)
    result = pin_from_text(text, path, source=source, dry_run=runner.dry_run)
    if result.diff:
        runner.info(result.diff.rstrip("\n"))
    runner.info(f"{path}: " + ("unchanged" if not result.changed else
                               "updated" if result.written else "would change (dry run)"))
    return result
