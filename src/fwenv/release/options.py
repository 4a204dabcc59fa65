"""What a release, an attestation or a rebuild is asked to do (resolved once, at the top)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine
from ..firmware.targets import get_target
from ..firmware.workspace import Workspace
from ..guix.builder import default_builder
from ..guix.options import PackOptions, check_options
from ..plan import Runner
from .sign import Signer, parse_signer
from .smoke import firmware_smoke

# Test hook type: called with the second build's archive before the comparison.
AfterBuild = Callable[[int, Path], None]


@dataclass(frozen=True)
class ReleaseProject:
    """What release, attest, verify and env.pull read from the project, resolved once."""

    root: Path
    output_dir: Path  # the builds' work dirs: output/{release,attest,verify}/<V>/
    env_image: str  # the released image's repository
    release_dir: Path  # release/<V>/ lands here ([tool.fwenv.release] dir)
    min_free_gib: float = 10
    source_date_epoch: int = 1  # the SBOM's timestamp
    min_signers: Any = 1  # checked where it is used (min_signers_of)

    @classmethod
    def from_project(cls, cfg: Config) -> ReleaseProject:
        r = cfg.section("release")
        return cls(root=cfg.root, output_dir=cfg.output_dir, env_image=cfg.env_image,
                   release_dir=cfg.root / str(r.get("dir", "release")),
                   min_free_gib=float(r.get("min_free_gib", 10)),
                   source_date_epoch=int(r.get("source_date_epoch", 1)),
                   min_signers=r.get("min_signers", 1))


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
        guix_options=flags.pop("guix_option", None),
        authorize=Path(flags.pop("authorize", "")) if flags.get("authorize") else None)
    flags.pop("authorize", None)
    check_options(pack_opts)  # bad pack options fail before any preflight or build
    builder_image = flags.pop("builder", "") or default_builder(cfg.builder_image, runner, engine)
    targets = _split(flags.pop("smoke", "")) or [str(t) for t in
                                                cfg.get("release.smoke_targets", [])]
    signer, name = flags.pop("signer", ""), flags.pop("name", "")
    return ReleaseOptions(
        version=version, build=BuildSpec(builder_image, pack_opts),
        signer=parse_signer(signer) if signer else None, signer_name=name or None,
        firmware=firmware_smoke(Workspace.from_project(cfg), runner, engine,
                                [get_target(cfg, t) for t in targets])  # unknown: fail now
        if targets else None,
        firmware_image=flags.pop("firmware_image", "") or None, **flags)
