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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from ..fsutil import write_text_atomic
from .channels import HEX40, Channel, channel, is_channel, read_forms

CHANNELS_FILE = "guix/channels.scm"

HEADER = """\
;; The Guix that builds the fwenv environment.  Used as
;;   guix time-machine -C guix/channels.scm -- pack ...
;; The introduction lets time-machine authenticate every commit up to the pin.
;; Written by `invoke guix.pin` from `guix describe -f channels`; see
;; docs/environment.md "The Guix pin" for how the pinned commit was checked.
"""

DESCRIBE_FIX = "pass the output of `guix describe -f channels`"


def parse_channels(text: str, shown: str = "channels text") -> list[Channel]:
    """The channels of a `guix describe -f channels` text: one (list (channel ...)) form.
    Errors name `shown` and the line."""
    forms = read_forms(text, shown, DESCRIBE_FIX)
    if len(forms) != 1:
        raise FwenvError(f"{shown}: expected one (list (channel ...)) form, found {len(forms)}: "
                         f"{DESCRIBE_FIX}")
    form = forms[0]
    if not (isinstance(form, list) and form and form[0] == "list"):
        raise FwenvError(f"{shown}:{getattr(form, 'line', 1)}: does not start with "
                         f"(list (channel ...)): {DESCRIBE_FIX}")
    out = []
    for ch in form[1:]:
        if not is_channel(ch):
            at = getattr(ch, "line", getattr(form, "line", 1))
            raise FwenvError(f"{shown}:{at}: expected (channel ...), got {str(ch)[:40]}: "
                             f"{DESCRIBE_FIX}")
        c = channel(ch)
        if not c.name:
            raise FwenvError(f"{shown}:{c.line}: a channel has no name: {DESCRIBE_FIX}")
        out.append(c)
    if not out:
        raise FwenvError(f"{shown}:{getattr(form, 'line', 1)}: lists no channel: {DESCRIBE_FIX}")
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
        if not HEX40.match(ch.commit):
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
    channels = parse_channels(text, source)
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

        ref = image or default_builder(cfg.builder_image, runner, engine)
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
