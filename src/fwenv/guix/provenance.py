"""Pack provenance: `<name>.provenance.json` beside each pack (schema in schemas/)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from ..fsutil import sha256_file
from .channels import HEX40, channels_in, read_forms

SCHEMA_ID = "fwenv-pack-provenance/1"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "provenance.schema.json"


def parse_channels(path: Path, shown: str) -> list[dict[str, str]]:
    """The pinned channels' name/url/commit (guix.channels reads the file): each commit must
    be 40 hex digits. Errors name `shown` and the line; what Guile alone rejects is left to
    pack.check_channels_syntax. A channel without name or url is Guix's own."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FwenvError(f"{shown} not found: pass --channels FILE or pin one "
                         "(invoke guix.pin)") from None
    except UnicodeDecodeError:
        raise FwenvError(f"{shown} is not UTF-8 text: fix the file") from None
    chans: list[dict[str, str]] = []
    for ch in channels_in(read_forms(text, shown, "fix the syntax")):
        if ch.commit is None:
            continue
        if not HEX40.match(ch.commit):
            raise FwenvError(f"{shown}:{ch.commit_line}: commit {ch.commit!r} is not 40 "
                             "lowercase hex digits: pin a full commit (invoke guix.pin)")
        chans.append({"name": ch.name or "guix",
                      "url": ch.url or "https://codeberg.org/guix/guix.git",
                      "commit": ch.commit})
    if not chans:
        raise FwenvError(f"{shown}: no (commit \"...\") found: pin Guix to a commit "
                         "(invoke guix.pin) or pass --no-time-machine")
    return chans


def tree_sha256(directory: Path) -> str:
    """A digest of a directory's relative names, modes (x bit) and contents (sorted)."""
    h = hashlib.sha256()
    for p in sorted(directory.rglob("*")):
        parts = p.parts[len(directory.parts):]
        if any(part.startswith(".") or part == "__pycache__" for part in parts):
            continue
        rel = p.relative_to(directory).as_posix()
        if p.is_symlink():
            h.update(f"L {rel} {os.readlink(p)}\n".encode())
        elif p.is_file():
            x = "x" if os.access(p, os.X_OK) else "-"
            h.update(f"F {rel} {x} {sha256_file(p)}\n".encode())
    return h.hexdigest()


def digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def load_provenance(path: Path) -> dict[str, Any] | None:
    """The provenance record at `path`, or None when missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA_ID else None


def validate_provenance(record: dict[str, Any]) -> None:
    """Raise FwenvError if `record` does not match the JSON schema."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(record), key=str)
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        raise FwenvError(f"provenance invalid at {where}: {e.message}: rebuild the pack")


def provenance_path(tarball: Path) -> Path:
    """output/NAME.tar.gz -> output/NAME.provenance.json"""
    name = tarball.name
    for ext in (".tar.gz", ".tar.xz", ".tar.zst", ".tar"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return tarball.with_name(name + ".provenance.json")
