"""What a release, an attestation or a rebuild is asked to do (resolved once, at the top)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sign import Signer

# Test hook type: called with the second build's archive before the comparison.
AfterBuild = Callable[[int, Path], None]


# -- building --------------------------------------------------------------------------------------
@dataclass
class BuildSpec:
    """How to build the environment pack (passed to fwenv.pack)."""

    builder_image: str
    pack_options: Any  # fwenv.pack.PackOptions: manifest, channels, load_path, time_machine...


# -- release ---------------------------------------------------------------------------------------
@dataclass
class ReleaseOptions:
    version: str
    build: BuildSpec
    allow_dirty: bool = False
    registry: str | None = None
    signer: Signer | None = None
    signer_name: str | None = None
    sigs_dir: Path | None = None
    firmware: Callable[[str], dict[str, Any]] | None = None  # image ref -> {"roms": ..., ...}
    firmware_image: str | None = None
    after_build: AfterBuild | None = None  # test hook: alter a build's output
