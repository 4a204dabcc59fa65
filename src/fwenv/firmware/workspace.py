"""Where firmware work reads and writes, resolved once from the project (Workspace.from_project):
everything below firmware's entry points takes a Workspace, never the project's Config."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config


@dataclass(frozen=True)
class Workspace:
    root: Path  # the project: image labels name provenance files relative to it
    output_dir: Path  # output/: results in output/firmware/, env.import's *.image.json
    cache_dir: Path  # [tool.fwenv.firmware] cache_dir: downloads, trees, Heads, work, logs
    # read-only cache dirs searched first: FWENV_FIRMWARE_CACHE_SEARCH (':'-separated), else
    # [tool.fwenv.firmware] cache_search (default ../shared/cache)
    search: tuple[Path, ...] = ()
    source_date_epoch: int = 0  # [tool.fwenv.firmware] source_date_epoch
    ccache_volume: str = "fwenv-ccache"  # [tool.fwenv.firmware] ccache_volume (--ccache)

    @classmethod
    def from_project(cls, cfg: Config, **overrides: Any) -> Workspace:
        fw = cfg.section("firmware")
        env = os.environ.get("FWENV_FIRMWARE_CACHE_SEARCH")
        extra = env.split(":") if env is not None else fw.get("cache_search", ["../shared/cache"])
        values: dict[str, Any] = {
            "root": cfg.root, "output_dir": cfg.output_dir,
            "cache_dir": (cfg.root / str(fw.get("cache_dir", "cache"))).resolve(),
            "search": tuple((cfg.root / d).resolve() for d in extra if d),
            "source_date_epoch": int(fw.get("source_date_epoch", 0)),
            "ccache_volume": str(fw.get("ccache_volume", "fwenv-ccache")),
        }
        return cls(**{**values, **{k: v for k, v in overrides.items() if v is not None}})

    @property
    def firmware_dir(self) -> Path:
        return self.output_dir / "firmware"

    @property
    def work_root(self) -> Path:
        return self.cache_dir / "work"
