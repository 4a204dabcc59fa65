"""Channels, read once: guix/channels.scm (the pin `guix time-machine -C` uses) and what
`guix describe -f channels` prints are the same S-expressions. One reader serves the pack's
provenance (guix.provenance.parse_channels) and `invoke guix.pin` (guix.pin.parse_channels),
and every error it raises names the line (`FILE:LINE: ...`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import FwenvError

HEX40 = re.compile(r"^[0-9a-f]{40}\Z")  # a full git commit

_TOKEN = re.compile(r'(?P<space>\s+|;[^\n]*|#\|.*?\|#|#;)|(?P<str>"(?:[^"\\]|\\.)*")|'
                    r"(?P<open>\()|(?P<close>\))|(?P<quote>')|"
                    r'(?P<atom>#\\.[^\s()";]*|[^\s()"\';]+)', re.S)


class Sym(str):
    """A Scheme symbol or atom (#f, #t, 'guix)."""


class Form(list):  # type: ignore[type-arg]
    """A parenthesised form and the line it opens on."""

    line = 0


def read_forms(text: str, shown: str, fix: str) -> list[Any]:
    """Every top-level datum of `text`: lists (Form), strings (str), atoms (Sym), 'x as
    [quote, x]. A syntax error raises `shown:LINE: malformed channels (...): fix`."""
    def fail(line: int, what: str) -> FwenvError:
        return FwenvError(f"{shown}:{line}: malformed channels ({what}): {fix}")

    stack: list[list[Any]] = [[]]
    quotes: list[bool] = []  # per open level: a 'x waiting for its datum
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise fail(line, f"cannot read {text[pos:pos + 12]!r}")
        pos, here = m.end(), line
        line += m.group(0).count("\n")
        item: Any
        if m["space"] is not None:
            continue
        if m["open"] or m["quote"]:
            form = Form([Sym("quote")] if m["quote"] else [])
            form.line = here
            stack.append(form)
            quotes.append(bool(m["quote"]))
            continue
        if m["close"]:
            if len(stack) == 1 or quotes[-1]:
                raise fail(here, "a ')' closes nothing")
            item = stack.pop()
            quotes.pop()
        elif m["str"] is not None:
            item = bytes(m["str"][1:-1], "utf-8").decode("unicode_escape")
        else:
            item = Sym(m["atom"])
        stack[-1].append(item)
        while quotes and quotes[-1] and len(stack[-1]) == 2:  # close a 'x
            quoted = stack.pop()
            quotes.pop()
            stack[-1].append(quoted)
    if len(stack) > 1:
        raise fail(getattr(stack[-1], "line", line), "a '(' here is never closed")
    return stack[0]


@dataclass(frozen=True)
class Channel:
    name: str
    url: str | None
    branch: str | None
    commit: str | None
    intro_commit: str | None = None
    intro_fingerprint: str | None = None
    line: int = field(default=0, compare=False)  # where (channel ...) opens
    commit_line: int = field(default=0, compare=False)  # where (commit ...) opens

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


def is_channel(form: Any) -> bool:
    return isinstance(form, list) and bool(form) and form[0] == "channel"


def _field(form: list[Any], key: str) -> Any:
    for item in form[1:]:
        if isinstance(item, list) and item and item[0] == key:
            return item
    return None


def _value(item: Any) -> str | None:
    v = item[1] if isinstance(item, list) and len(item) > 1 else None
    if isinstance(v, list) and v and v[0] == "quote":
        return str(v[1])
    if isinstance(v, Sym) and v in ("#f", "#false"):
        return None
    return None if v is None else str(v)


def channel(form: list[Any]) -> Channel:
    """The channel a (channel ...) form describes (fields it lacks are None)."""
    found = _field(form, "introduction")
    intro = found[1] if found is not None and len(found) > 1 else None
    ic = fp = None
    if isinstance(intro, list) and intro and intro[0] == "make-channel-introduction":
        ic = str(intro[1]) if len(intro) > 1 else None
        fpf = intro[2] if len(intro) > 2 else None
        fp = str(fpf[1]) if isinstance(fpf, list) and len(fpf) > 1 else None
    commit = _field(form, "commit")
    return Channel(_value(_field(form, "name")) or "", _value(_field(form, "url")),
                   _value(_field(form, "branch")), _value(commit), ic, fp,
                   line=getattr(form, "line", 0), commit_line=getattr(commit, "line", 0))


def channels_in(forms: list[Any]) -> list[Channel]:
    """Every (channel ...) form anywhere in `forms`, in order (a file may wrap them in
    `list`, `cons*` or anything else)."""
    found: list[Channel] = []
    for form in forms:
        if is_channel(form):
            found.append(channel(form))
        elif isinstance(form, list):
            found += channels_in(form)
    return found
