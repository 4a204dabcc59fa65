"""What a release, an attestation or a rebuild is asked to do (resolved once, at the top)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine
from ..guix.builder import default_builder
from ..guix.options import PackOptions, check_options
from ..plan import Runner
from .sign import Signer, parse_signer
from .smoke import firmware_smoke

# Test hook type: called with the second build's archive before the comparison.
AfterBuild = Callable[[int, Path], None]


# -- building --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuildSpec:
    """How to build the environment pack (passed to fwenv.pack)."""

    builder_image: str
    pack_options: PackOptions


# -- release ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
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
    resume: bool = False  # go on from the two builds of a release that stopped after they agreed


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def release_options(cfg: Config, runner: Runner, engine: Engine, version: str,
                    **flags: Any) -> ReleaseOptions:
    """ReleaseOptions from the project and the task's flags (release, attest, verify --rebuild).

    The pack: the project's own (environment shape, daemon mode, recipe), always pinned by
    the channels file and in docker format; manifest, channels and load_path (comma-separated)
    are relative to the project root; compressor, substitute_urls, cores, jobs and
    entry_point as guix.pack takes them (empty: the project's default). Smoke targets:
    `smoke` (comma-separated), else [tool.fwenv.release] smoke_targets. Any other flag is a
    ReleaseOptions field.
    """
    root = cfg.root
    manifest, channels = flags.pop("manifest", ""), flags.pop("channels", "")
    pack_opts = PackOptions.from_project(
        cfg, manifest=root / manifest if manifest else None,
        channels=root / (channels or "guix/channels.scm"), format="docker",
        compressor=flags.pop("compressor", "") or None,
        substitute_urls=flags.pop("substitute_urls", "") or None,
        cores=flags.pop("cores", None), jobs=flags.pop("jobs", None),
        entry_point=flags.pop("entry_point", "") or None,
        substitutes=not flags.pop("no_substitutes", False),
        time_machine=not flags.pop("no_time_machine", False),
        load_path=[root / d for d in (_split(flags.pop("load_path", "")) or ["guix/modules"])],
        guix_options=flags.pop("guix_option", None))
    check_options(pack_opts)  # bad pack options fail before any preflight or build
    builder_image = flags.pop("builder", "") or default_builder(cfg, runner, engine)
    targets = _split(flags.pop("smoke", "")) or [str(t) for t in
                                                cfg.get("release.smoke_targets", [])]
    signer, name = flags.pop("signer", ""), flags.pop("name", "")
    return ReleaseOptions(
        version=version, build=BuildSpec(builder_image, pack_opts),
        signer=parse_signer(signer) if signer else None, signer_name=name or None,
        firmware=firmware_smoke(cfg, runner, engine, targets) if targets else None,
        firmware_image=flags.pop("firmware_image", "") or None, **flags)
