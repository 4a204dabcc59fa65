"""Substitutes from a team cache (`invoke cache.serve`, or any `guix publish`), with Guix's own
machinery: `guix archive --authorize` the server's key into the builder's ACL, ask the daemon
what the pack would build and download (`guix build --dry-run` of its derivation), and refuse, in one line,
a server that holds what would be built but signs it with a key the builder does not trust
(Guix itself would silently ignore those substitutes and build everything)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from ..fsutil import script
from .daemon import GuixSession
from .options import IN_KEY, PackOptions

_AUTHORIZE = script(__package__, "authorize.sh")
_NARINFO_CHECK = script(__package__, "narinfo-check.scm")
_ITEM = re.compile(r"/gnu/store/[0-9a-z]{32}-[^\s'\"]+")
# Guix wraps messages at the terminal width; a wide one keeps each store item on one line.
WIDE = {"COLUMNS": "4096"}


@dataclass
class SubstitutePlan:
    """What the daemon said it would do: derivations to build, store items to substitute."""

    build: list[str] = field(default_factory=list)
    download: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"would_build": self.build, "would_download": self.download}


def parse_plan(text: str) -> SubstitutePlan:
    """`guix … --dry-run --verbosity=2` output → its two lists: the indented store items
    after each heading (anything else ends a list)."""
    plan = SubstitutePlan()
    into: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if "would be built" in line:
            into = plan.build
        elif "would be downloaded" in line:
            into = plan.download
        elif into is not None and raw[:1].isspace() and _ITEM.fullmatch(line):
            into.append(line)
        elif line:
            into = None
    return plan


def authorize_key(session: GuixSession, opts: PackOptions) -> None:
    """As root, a fixed script: `guix archive --authorize` the --authorize key (mounted at
    IN_KEY) into the builder's ACL, so the daemon accepts that server's substitutes."""
    if opts.authorize is not None:
        session.exec(["sh", "-c", _AUTHORIZE, "sh", IN_KEY], user="root",
                     what=f"guix archive --authorize {Path(opts.authorize).name}",
                     fix="pass the server's public key (cache.serve writes "
                         "output/cache/signing-key.pub)")


def dry_run(session: GuixSession, opts: PackOptions, drv: str) -> SubstitutePlan:
    """The daemon's own answer to "what would building the pack's derivation build and
    download?" (`guix build --dry-run` of the derivation: no manifest evaluated again)."""
    session.env.update(WIDE)
    try:
        _, out = session.exec(
            ["guix", "build", "--dry-run", "--verbosity=2",
             "--substitute-urls=" + " ".join(opts.substitute_urls), drv],
            what="guix build --dry-run (what the substitutes cover)")
    finally:
        for k in WIDE:
            session.env.pop(k, None)
    return parse_plan(out)


def check_authorized(session: GuixSession, urls: tuple[str, ...], drvs: list[str]) -> None:
    """Refuse a server that holds some of `drvs`' outputs signed by a key outside the ACL."""
    if not drvs:
        return
    _, out = session.exec(["guile", "--no-auto-compile", "-c", _NARINFO_CHECK,
                           " ".join(urls), *drvs], what="check the substitute signatures")
    for line in out.splitlines():
        m = re.fullmatch(r"(\S+) found=(\d+) authorized=(\d+)", line.strip())
        if m and int(m.group(2)) > int(m.group(3)):
            unauth = int(m.group(2)) - int(m.group(3))
            raise FwenvError(
                f"substitute server {m.group(1)} offers {unauth} of the {len(drvs)} items this "
                "pack would build, signed by a key the builder does not trust: pass --authorize "
                "KEYFILE (its public key; cache.serve writes output/cache/signing-key.pub)")


def plan_substitutes(session: GuixSession, opts: PackOptions,
                     drv: str) -> SubstitutePlan | None:
    """With --substitute-urls: authorize, ask the daemon, refuse an untrusted server."""
    if not (opts.substitutes and opts.substitute_urls):
        return None
    authorize_key(session, opts)
    plan = dry_run(session, opts, drv)
    check_authorized(session, opts.substitute_urls, plan.build)
    return plan
