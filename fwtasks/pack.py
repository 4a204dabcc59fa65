"""guix.pack: the task function; the lead registers it in the `guix` namespace."""

from __future__ import annotations

from invoke import task

from fwenv.guix.options import PackOptions
from fwenv.guix.pack import pack as pack_step
from fwtasks.common import COMMON_HELP, context, emit, fwtask

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
    opts = PackOptions.from_project(
        cfg, manifest=manifest, channels=channels, format=format, compressor=compressor,
        substitute_urls=substitute_urls, substitutes=not no_substitutes,
        cores=int(cores) if cores else None, jobs=int(jobs) if jobs else None,
        time_machine=not no_time_machine, load_path=load_path, guix_options=guix_option,
        entry_point=entry_point, name=name, ephemeral=ephemeral, force=force)
    result = pack_step(cfg, runner, opts, builder=builder)
    if result is not None:
        emit(result, json, runner)
