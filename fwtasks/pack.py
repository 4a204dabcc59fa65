"""guix.pack: the task function; the lead registers it in the `guix` namespace."""

from __future__ import annotations

from pathlib import Path

from invoke import task

from fwenv.config import Config
from fwenv.guix.builder import builder_ref
from fwenv.guix.pack import DEFAULT_SYMLINKS, PackOptions, build_pack, environment_shape, pack_derivation
from fwtasks.common import COMMON_HELP, context, emit, engine_for, fwtask

PACK_HELP = {
    "manifest": "Guix manifest to pack (default guix/manifest.scm)",
    "channels": "channels file pinning Guix for time-machine (default guix/channels.scm)",
    "format": "pack format: docker (docker load, stable image ID) or tarball (docker import)",
    "compressor": "gzip, xz or zstd",
    "substitute_urls": "space-separated substitute server URLs (default: Guix's own)",
    "no_substitutes": "build everything from source, download no binaries",
    "cores": "CPU cores per build (guix --cores)",
    "jobs": "parallel builds (guix --max-jobs)",
    "no_time_machine": "use the builder's own Guix instead of the pinned commit",
    "load_path": "extra Guile module dir for packages (guix -L), repeatable",
    "guix_option": "extra option passed to `guix pack` as is, repeatable (e.g. --bootstrap)",
    "entry_point": "docker entry point inside the profile (default bin/bash)",
    "name": "output name (default coreboot-build-env-<format>)",
    "builder": "builder image (default: the newest guix-pack-builder built by guix.base)",
    "ephemeral": "throw-away store: do not use the persistent store volume",
    "force": "rebuild even if the pack in output/ is up to date",
}


def pack_options(c_manifest: str | None, channels: str | None, format: str, compressor: str,
                 substitute_urls: str | None, no_substitutes: bool, cores: int | None,
                 jobs: int | None, no_time_machine: bool, load_path: list[str] | None,
                 guix_option: list[str] | None, entry_point: str | None, name: str | None,
                 ephemeral: bool, force: bool, cfg: Config) -> PackOptions:
    """PackOptions from task options; the environment's own shape (guix/environment.toml)
    applies when packing the default manifest and no option overrides it."""
    root = cfg.root
    manifest = Path(c_manifest) if c_manifest else root / "guix" / "manifest.scm"
    shape = environment_shape(root) if manifest == root / "guix" / "manifest.scm" else {}
    return PackOptions(
        manifest=manifest,
        channels=None if (no_time_machine and not channels) else
        (Path(channels) if channels else root / "guix" / "channels.scm"),
        format=format, compressor=compressor,
        substitute_urls=tuple((substitute_urls or "").split()),
        substitutes=not no_substitutes, cores=cores, jobs=jobs,
        time_machine=not no_time_machine,
        load_path=tuple(Path(p) for p in (load_path or shape.get("load_path", []))),
        guix_options=tuple(guix_option or []),
        symlinks=tuple(shape.get("symlinks", DEFAULT_SYMLINKS)),
        entry_point=entry_point if entry_point is not None else shape.get("entry_point", "bin/bash"),
        name=name, ephemeral=ephemeral, force=force,
        daemon_mode=str(cfg.get("builder.daemon_mode", "unprivileged")),
        recipe=cfg.get("builder.recipe"),
    )


def default_builder(cfg, engine) -> str:  # type: ignore[no-untyped-def]
    """The newest fwenv-built builder; in a dry run (no engine), its name pattern."""
    return builder_ref(cfg, engine) if engine is not None else f"{cfg.builder_image}:<version>"


@task(
    help={**PACK_HELP, **COMMON_HELP},
    iterable=["load_path", "guix_option"],
)
@fwtask
def pack(c, manifest=None, channels=None, format="docker", compressor="gzip",
         substitute_urls=None, no_substitutes=False, cores=None, jobs=None,
         no_time_machine=False, load_path=None, guix_option=None, entry_point=None,
         name=None, builder=None, ephemeral=False, force=False, dry_run=False, json=False,
         verbose=False):
    """Pack guix/manifest.scm with guix pack (pinned Guix) into output/, with provenance."""
    cfg, runner = context(dry_run, verbose)
    opts = pack_options(manifest, channels, format, compressor, substitute_urls,
                        no_substitutes, int(cores) if cores else None,
                        int(jobs) if jobs else None, no_time_machine, load_path, guix_option,
                        entry_point, name, ephemeral, force, cfg)
    if dry_run:
        # Commands first (no engine needed); then the derivation if an engine answers.
        from fwenv.engine import Engine
        from fwenv.errors import FwenvError

        build_pack(cfg, runner, None, builder or default_builder(cfg, None), opts)
        try:
            engine = Engine.connect()
        except FwenvError:
            runner.info("derivation: not computed (no Docker engine)")
            return
        drv = pack_derivation(cfg, runner, engine, builder or default_builder(cfg, engine), opts)
        if json:
            emit({"derivation": drv, "commands": runner.printed}, True, runner)
        return
    engine = engine_for(runner)
    res = build_pack(cfg, runner, engine, builder or default_builder(cfg, engine), opts)
    emit(res.summary(), json, runner)
