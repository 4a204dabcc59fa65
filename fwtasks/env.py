"""env.*: import a pack, build the whole environment, a shell in it, clean up."""

from __future__ import annotations

from pathlib import Path

from invoke import Collection

from fwenv.env.build import EnvOptions, build_environment
from fwenv.env.clean import clean as clean_step
from fwenv.env.importer import import_env
from fwenv.env.shell import open_shell
from fwenv.errors import FwenvError
from fwenv.guix.options import PackOptions
from fwenv.release.check import PullOptions, pull_release
from fwtasks.common import COMMON_HELP, context, emit, engine_for, fwtask, required, task, whole_number
from fwtasks.guix import PACK_HELP, pack_flags


@task(help={"pack": "pack tarball (default output/coreboot-build-env-docker.tar.gz)",
            "tag": "image tag: coreboot-build-env:<tag> (default from pyproject)",
            "force": "re-import even if the image already holds this pack", **COMMON_HELP})
@fwtask
def import_(c, pack=None, tag=None, force=False, dry_run=False, json=False, verbose=False):
    """Load (docker format) or import (tarball format) a verified pack and tag it."""
    cfg, runner = context(dry_run, verbose)
    res = import_env(cfg, runner, engine_for(runner), Path(pack) if pack else None, tag=tag,
                     force=force)
    emit(res.summary(), json, runner, next="invoke firmware.build --target qemu-q35 --boot")


@task(help={**PACK_HELP, "tag": "image tag: coreboot-build-env:<tag>",
            "recipe": "builder recipe for guix.base (debian|binary)",
            "force": "redo every step",
            "bundle": "air-gapped rebuild from this release.bundle archive (sums checked, "
                      "fresh store volume, builder on --network=none)", **COMMON_HELP},
      iterable=["load_path", "guix_option"])
@fwtask
def build(c, manifest=None, channels=None, format="docker", compressor="gzip",
          substitute_urls=None, no_substitutes=False, cores=None, jobs=None,
          no_time_machine=False, load_path=None, guix_option=None, entry_point=None,
          name=None, builder=None, ephemeral=False, tag=None, recipe=None, force=False,
          dry_run=False, json=False, verbose=False, authorize=None, store=None, bundle=None):
    """guix.base + guix.pack + env.import; unchanged, verified steps are skipped."""
    cfg, runner = context(dry_run, verbose)
    popts = PackOptions.from_project(cfg, **pack_flags(locals()))
    engine = engine_for(runner)
    res = build_environment(cfg, runner, engine, EnvOptions(
        pack=popts, tag=tag or cfg.env_tag, builder_image=builder,
        recipe=recipe or cfg.get("builder.recipe"), force=force,
        bundle=Path(bundle) if bundle else None))
    emit(res.summary(), json, runner, next="invoke firmware.build --target qemu-q35 --boot")


@task(help={"image": "environment image (default coreboot-build-env:<env_tag>)",
            "src": "source dir mounted at /src (read-write)",
            "shell": "shell inside the image (default /bin/sh)",
            "user": "run as your uid:gid (under sudo: the sudo caller's), so files made in "
                    "/src are yours",
            "dry_run": COMMON_HELP["dry_run"]})
@fwtask
def shell(c, image=None, src=None, shell="/bin/sh", user=False, dry_run=False):
    """A shell in the environment, --network=none, source at /src."""
    cfg, runner = context(dry_run, False)
    code = open_shell(cfg, runner, image, Path(src) if src else None, shell, user=user)
    if code:
        raise FwenvError(f"the shell exited with {code}")


@task(help={"store": "remove the persistent Guix store volumes (fwenv-guix-store-*)",
            "images": "remove coreboot-build-env images",
            "output": "remove packs and their provenance from output/", **COMMON_HELP})
@fwtask
def clean(c, store=False, images=False, output=False, dry_run=False, json=False,
          verbose=False):
    """Reclaim space: store volumes, environment images, packs in output/."""
    cfg, runner = context(dry_run, verbose)
    engine = engine_for(runner)  # connected only if volumes or images are asked for
    removed = clean_step(cfg, runner, engine, store=store, images=images, output=output)
    emit({"removed": removed}, json, runner, next="invoke env.build")


@task(help={"version": "the release version to pull (tagged coreboot-build-env:<version>)",
            "sigs": "the signatures tree: builder-keys/ and <version>/<signer>/ (release.verify's)",
            "registry": "pull from this registry (host[:port][/path]) instead of the recorded one",
            "release_dir": "the release directory (default release/<version>): signed SHA256SUMS "
                           "and provenance.json",
            "keys": "the trusted public keys (default DIR/builder-keys of --sigs)",
            "min_signers": "independent signers required (default [tool.fwenv.release] "
                           "min_signers)", **COMMON_HELP})
@fwtask
def pull(c, version="", sigs="", registry="", release_dir="", keys="", min_signers="",
         dry_run=False, json=False, verbose=False):
    """Pull the released image by digest once its signers verify; tag it only if its id matches."""
    required(version=version, sigs=sigs)
    cfg, runner = context(dry_run, verbose)
    res = pull_release(cfg, runner, engine_for(runner), PullOptions(
        version=version, sigs_dir=Path(sigs), registry=registry or None,
        release_dir=Path(release_dir) if release_dir else None,
        keys_dir=Path(keys) if keys else None,
        min_signers=whole_number("min-signers", min_signers)))
    emit(res, json, runner, next=f"invoke firmware.build --image {cfg.env_image}:{version} "
                                 "--target qemu-q35")


ns = Collection("env")
ns.add_task(import_, name="import")
ns.add_task(build)
ns.add_task(shell)
ns.add_task(clean)
ns.add_task(pull)
