"""guix.* tasks: the builder image, a shell in it, the pack and the channels pin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoke import Collection

from fwenv.guix.builder import RECIPES, BuilderOptions, build_builder, builder_shell
from fwenv.guix.daemon import DAEMON_MODES
from fwenv.guix.options import PackOptions
from fwenv.guix.pack import pack as pack_step
from fwenv.guix.pin import pin as pin_step
from fwenv.guix.service import pack_stdout

from .common import COMMON_HELP, context, emit, engine_for, fwtask, task, whole_number


@task(
    help={
        "recipe": f"builder recipe: {' | '.join(RECIPES)} (default from [tool.fwenv.builder])",
        "suite": "Debian suite to debootstrap (debian recipe: sid, the suite with guix)",
        "mirror": "Debian mirror URL",
        "snapshot": "snapshot.debian.org timestamp (e.g. 20261120T000000Z) pinning the mirror",
        "tag": "image tag (default: the installed Guix version)",
        "force": "rebuild even if an image with the same inputs exists",
        "unprivileged": "no root: mmdebstrap --mode=unshare instead of debootstrap + chroot "
                        "(needs /etc/subuid ranges; README \"Without root\")",
        **COMMON_HELP,
    }
)
@fwtask
def base(c, recipe=None, suite=None, mirror=None, snapshot=None, tag=None, force=False,
         unprivileged=False, dry_run=False, json=False, verbose=False):
    """Build the builder image guix-pack-builder:<version> (reproducible, bit for bit)."""
    cfg, runner = context(dry_run, verbose)
    opts = BuilderOptions.from_project(cfg, recipe=recipe, suite=suite, mirror=mirror,
                                       snapshot=snapshot, tag=tag, force=force,
                                       unprivileged=unprivileged)
    result = build_builder(cfg, runner, engine_for(runner), opts)
    emit(result.as_dict(), json, runner, next="invoke guix.pack")


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
    "substitute_urls": "space-separated substitute server URLs (default: Guix's own), e.g. a "
                       "team cache.serve",
    "authorize": "the substitute server's public key (cache.serve writes "
                 "output/cache/signing-key.pub): `guix archive --authorize` it first",
    "store": "store volume name (default fwenv-guix-store-<builder id>)",
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


def pack_flags(kw: dict[str, Any]) -> dict[str, Any]:
    """The pack flags of guix.pack and env.build (their locals()) as PackOptions.from_project
    takes them."""
    return {
        "manifest": kw["manifest"], "channels": kw["channels"], "format": kw["format"],
        "compressor": kw["compressor"], "substitute_urls": kw["substitute_urls"],
        "substitutes": not kw["no_substitutes"],
        "cores": whole_number("cores", kw["cores"]),
        "jobs": whole_number("jobs", kw["jobs"]),
        "time_machine": not kw["no_time_machine"], "load_path": kw["load_path"],
        "guix_options": kw["guix_option"], "entry_point": kw["entry_point"], "name": kw["name"],
        "ephemeral": kw["ephemeral"], "force": kw["force"],
        "authorize": Path(kw["authorize"]) if kw.get("authorize") else None,
        "store": kw.get("store") or None,
    }


@task(
    help={**PACK_HELP, **COMMON_HELP,
          "stdout": "the builder as a pack service: only the pack, on stdout (pipe it into "
                    "docker load / docker import -); no output/, no provenance"},
    iterable=["load_path", "guix_option"],
)
@fwtask
def pack(c, manifest=None, channels=None, format="docker", compressor="gzip",
         substitute_urls=None, no_substitutes=False, cores=None, jobs=None,
         no_time_machine=False, load_path=None, guix_option=None, entry_point=None,
         name=None, builder=None, ephemeral=False, force=False, dry_run=False, json=False,
         verbose=False, stdout=False, authorize=None, store=None):
    """Pack guix/manifest.scm with guix pack (pinned Guix) into output/, with provenance."""
    cfg, runner = context(dry_run, verbose)
    opts = PackOptions.from_project(cfg, **pack_flags(locals()))
    if stdout:
        pack_stdout(runner, opts, builder, builder_name=cfg.builder_image)
        return
    result = pack_step(cfg, runner, opts, builder=builder)  # None: dry run, no engine
    emit(result or {"derivation": None}, json, runner, next="invoke env.import")


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
    emit(result.as_dict(), json, runner, next="invoke guix.pack (then commit guix/channels.scm)")


ns = Collection("guix")
ns.add_task(base)
ns.add_task(shell)
ns.add_task(pack)
ns.add_task(pin)
