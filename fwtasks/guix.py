"""guix.* tasks: the builder image, a shell in it, the pack and the channels pin."""

from __future__ import annotations

from invoke import Collection, task

from fwenv.guix.builder import RECIPES, BuilderOptions, build_builder, builder_shell
from fwenv.guix.daemon import DAEMON_MODES
from fwenv.guix.options import PackOptions
from fwenv.guix.pack import pack as pack_step
from fwenv.guix.pin import pin as pin_step

from .common import COMMON_HELP, context, emit, engine_for, fwtask


@task(
    help={
        "recipe": f"builder recipe: {' | '.join(RECIPES)} (default from [tool.fwenv.builder])",
        "suite": "Debian suite to debootstrap (debian recipe: sid, the suite with guix)",
        "mirror": "Debian mirror URL",
        "snapshot": "snapshot.debian.org timestamp (e.g. 20261120T000000Z) pinning the mirror",
        "tag": "image tag (default: the installed Guix version)",
        "force": "rebuild even if an image with the same inputs exists",
        **COMMON_HELP,
    }
)
@fwtask
def base(c, recipe=None, suite=None, mirror=None, snapshot=None, tag=None, force=False,
         dry_run=False, json=False, verbose=False):
    """Build the builder image guix-pack-builder:<version> (reproducible, bit for bit)."""
    cfg, runner = context(dry_run, verbose)
    opts = BuilderOptions.from_project(cfg, recipe=recipe, suite=suite, mirror=mirror,
                                       snapshot=snapshot, tag=tag, force=force)
    result = build_builder(cfg, runner, engine_for(runner), opts)
    emit(result.as_dict(), json, runner)


@task(
    help={
        "image": "builder image (default: the newest guix-pack-builder)",
        "mode": f"guix-daemon mode: {' | '.join(DAEMON_MODES)}",
        "network": "container network: none (default) or bridge (to reach substitutes)",
        "dry_run": COMMON_HELP["dry_run"],
    }
)
@fwtask
def shell(c, image=None, mode="unprivileged", network="none", dry_run=False):
    """Open a shell in a builder container with guix-daemon running."""
    cfg, runner = context(dry_run)
    code = builder_shell(cfg, runner, engine_for(runner), image, mode, network)
    if not dry_run:
        raise SystemExit(code)


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


@task(
    help={
        "from_": "read `guix describe -f channels` output from this file instead of a builder",
        "image": "builder image whose Guix to ask (default: the newest guix-pack-builder)",
        **COMMON_HELP,
    }
)
@fwtask
def pin(c, from_=None, image=None, dry_run=False, json=False, verbose=False):
    """Pin guix/channels.scm to the commits of a running Guix; print the diff."""
    cfg, runner = context(dry_run, verbose)
    engine = engine_for(runner)  # connected only when asking a builder
    result = pin_step(cfg, runner, engine, from_file=from_, image=image)
    emit(result.as_dict(), json, runner)


ns = Collection("guix")
ns.add_task(base)
ns.add_task(shell)
ns.add_task(pack)
ns.add_task(pin)
