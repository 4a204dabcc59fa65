"""env.*: import a pack, build the whole environment, a shell in it, clean up."""

from __future__ import annotations

from pathlib import Path

from invoke import Collection, task

from fwenv.env.build import EnvOptions, build_environment, run_shell, shell_argv
from fwenv.env.importer import import_pack
from fwenv.errors import FwenvError
from fwenv.fsutil import output_lock, remove
from fwenv.guix.options import PackOptions
from fwenv.guix.pack import store_volumes
from fwenv.guix.provenance import load_provenance
from fwtasks.common import COMMON_HELP, context, emit, engine_for, fwtask
from fwtasks.pack import PACK_HELP


@task(help={"pack": "pack tarball (default output/coreboot-build-env-docker.tar.gz)",
            "tag": "image tag: coreboot-build-env:<tag> (default from pyproject)",
            "force": "re-import even if the image already holds this pack", **COMMON_HELP})
@fwtask
def import_(c, pack=None, tag=None, force=False, dry_run=False, json=False, verbose=False):
    """Load (docker format) or import (tarball format) a verified pack and tag it."""
    cfg, runner = context(dry_run, verbose)
    tarball = Path(pack) if pack else cfg.output_dir / "coreboot-build-env-docker.tar.gz"
    engine = engine_for(runner)
    with output_lock(cfg.output_dir) if not dry_run else _null():
        res = import_pack(runner, engine, tarball, f"{cfg.env_image}:{tag or cfg.env_tag}",
                          force=force)
    emit(res.summary(), json, runner)


@task(help={**PACK_HELP, "tag": "image tag: coreboot-build-env:<tag>",
            "recipe": "builder recipe for guix.base (debian|binary)",
            "force": "redo every step", **COMMON_HELP},
      iterable=["load_path", "guix_option"])
@fwtask
def build(c, manifest=None, channels=None, format="docker", compressor="gzip",
          substitute_urls=None, no_substitutes=False, cores=None, jobs=None,
          no_time_machine=False, load_path=None, guix_option=None, entry_point=None,
          name=None, builder=None, ephemeral=False, tag=None, recipe=None, force=False,
          dry_run=False, json=False, verbose=False):
    """guix.base + guix.pack + env.import; unchanged, verified steps are skipped."""
    cfg, runner = context(dry_run, verbose)
    popts = PackOptions.from_project(
        cfg, manifest=manifest, channels=channels, format=format, compressor=compressor,
        substitute_urls=substitute_urls, substitutes=not no_substitutes,
        cores=int(cores) if cores else None, jobs=int(jobs) if jobs else None,
        time_machine=not no_time_machine, load_path=load_path, guix_options=guix_option,
        entry_point=entry_point, name=name, ephemeral=ephemeral, force=force)
    engine = engine_for(runner)
    res = build_environment(cfg, runner, engine, EnvOptions(
        pack=popts, tag=tag or cfg.env_tag, builder_image=builder,
        recipe=recipe or cfg.get("builder.recipe"), force=force))
    emit(res.summary(), json, runner)


@task(help={"image": "environment image (default coreboot-build-env:<env_tag>)",
            "src": "source dir mounted at /src (read-write)",
            "shell": "shell inside the image (default /bin/sh)",
            "dry_run": COMMON_HELP["dry_run"]})
@fwtask
def shell(c, image=None, src=None, shell="/bin/sh", dry_run=False):
    """A shell in the environment, --network=none, source at /src."""
    cfg, runner = context(dry_run, False)
    argv = shell_argv(image or f"{cfg.env_image}:{cfg.env_tag}", Path(src) if src else None,
                      shell)
    code = run_shell(runner, argv)
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
    if not (store or images or output):
        raise FwenvError("nothing to clean: pass --store, --images and/or --output")
    engine = engine_for(runner) if (store or images) else None
    removed: list[str] = []
    if store:
        for v in store_volumes(engine) if engine else []:
            engine.remove_volume(v)
            removed.append(f"volume {v}")
        runner.show("docker volume rm $(docker volume ls -q -f label=org.fwenv.role=guix-store)")
    if images:
        for t in engine.image_tags(cfg.env_image) if engine else []:
            engine.remove_image(t, force=False)
            removed.append(f"image {t}")
        runner.show(f"docker rmi $(docker images -q {cfg.env_image})")
    if output:
        with output_lock(cfg.output_dir) if not dry_run else _null():
            for prov in sorted(cfg.output_dir.glob("*.provenance.json")):
                rec = load_provenance(prov)
                targets = [prov] + ([cfg.output_dir / rec["tarball"]["file"]] if rec else [])
                for t in targets:
                    runner.show(f"rm -f {t}")
                    if not dry_run and t.exists():
                        remove(t)
                        removed.append(str(t.relative_to(cfg.root)))
    emit({"removed": removed}, json, runner)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return None


ns = Collection("env")
ns.add_task(import_, name="import")
ns.add_task(build)
ns.add_task(shell)
ns.add_task(clean)
