"""The provenance record of a pack: every input by digest, every path as the project names it
(relative to the project root, else the file name; never a host path)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..fsutil import sha256_file
from .options import PackOptions, guix_argv
from .provenance import SCHEMA_ID, digest, tree_sha256


def shown_path(root: Path, path: Path) -> str:
    """A path as recorded: relative to the project root, else its name (never host-absolute)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return p.name


def pack_inputs(opts: PackOptions, builder_id: str) -> dict[str, Any]:
    chan = Path(opts.channels) if opts.channels else None
    return {
        "builder_content_digest": builder_id,
        "manifest": sha256_file(opts.manifest),
        "channels": sha256_file(chan) if chan and chan.is_file() else None,
        "load_path": [tree_sha256(Path(d)) for d in opts.load_path],
        "argv": guix_argv(opts),
        "recipe": opts.recipe,
    }


@dataclass(frozen=True)
class Packed:
    """What one `guix pack` run produced."""

    file: str  # the tarball's name in output/
    sha256: str
    size: int
    guix_version: str
    derivation: str
    store_path: str


def pack_record(opts: PackOptions, builder_image: str, inputs: dict[str, Any],
                channels: list[dict[str, str]], packed: Packed) -> dict[str, Any]:
    """The provenance record of a built pack: inputs by digest and project-relative name only
    (an input outside the project is recorded by its file name, never a host path)."""
    return {
        "schema": SCHEMA_ID,
        "name": opts.pack_name(),
        "format": opts.format,
        "compressor": opts.compressor,
        "tarball": {"file": packed.file, "sha256": packed.sha256, "size": packed.size},
        "derivation": packed.derivation,
        "store_path": packed.store_path,
        "guix": {"version": packed.guix_version, "time_machine": opts.time_machine,
                 "channels": channels,
                 "channels_file": shown_path(opts.root, Path(opts.channels)) if opts.channels else None,
                 "channels_sha256": inputs["channels"]},
        "manifest": {"file": shown_path(opts.root, Path(opts.manifest)), "sha256": inputs["manifest"]},
        "load_path": [{"dir": shown_path(opts.root, Path(d)), "sha256": h}
                      for d, h in zip(opts.load_path, inputs["load_path"], strict=False)],
        "builder": {"image": builder_image, "content_digest": inputs["builder_content_digest"],
                    "recipe": opts.recipe},
        "command": guix_argv(opts),
        "options": _recorded_options(opts),
        "inputs_digest": digest(inputs),
    }


def _recorded_options(opts: PackOptions) -> dict[str, Any]:
    d = asdict(opts)
    for k in ("manifest", "channels", "load_path", "force", "root", "output_dir", "store",
              "authorize"):
        d.pop(k, None)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
