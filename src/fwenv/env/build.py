"""`env.build`: builder image → pack → import, each step skipped when up to date."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import Config, check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import output_lock
from ..guix.builder import BuilderOptions, build_builder_image
from ..guix.pack import PackOptions, PackResult, build_pack
from ..plan import Runner
from .bundle import import_bundle, unpack_bundle
from .importer import ImportResult, import_pack


@dataclass
class BuilderInfo:
    image: str
    image_id: str
    skipped: bool


@dataclass
class EnvOptions:
    pack: PackOptions
    tag: str = "latest"
    builder_image: str | None = None  # use this builder as is (skip guix.base)
    recipe: str | None = None
    force: bool = False
    bundle: Path | None = None  # an air-gapped rebuild from this release.bundle archive


@dataclass
class EnvResult:
    builder: BuilderInfo
    pack: PackResult
    imported: ImportResult
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"builder": vars(self.builder), "pack": self.pack.summary(),
                "image": self.imported.summary()}


def ensure_builder(runner: Runner, engine: Engine, opts: EnvOptions,
                   builder: BuilderOptions | None) -> BuilderInfo:
    """guix.base through fwenv.builder (with `builder`), or a given builder image used as is."""
    if opts.builder_image:
        check_image_ref(opts.builder_image)
        img = engine.image(opts.builder_image)
        if img is None and not runner.dry_run:
            raise FwenvError(f"builder image {opts.builder_image} not found: "
                             "run invoke guix.base or pass another --builder")
        runner.info(f"[green]✓[/] guix.base: skipped (using {opts.builder_image})")
        return BuilderInfo(opts.builder_image, img.id if img else "", True)
    assert builder is not None
    res = build_builder_image(builder, runner, engine)
    return BuilderInfo(res.image, res.image_id, bool(res.skipped))


def build_environment(cfg: Config, runner: Runner, engine: Engine,
                      opts: EnvOptions) -> EnvResult:
    """guix.base + guix.pack + env.import under one output-dir lock."""
    ref = f"{cfg.env_image}:{opts.tag}"
    check_image_ref(ref)
    bopts = None if opts.builder_image else BuilderOptions.from_project(
        cfg, recipe=opts.recipe, force=opts.force)
    lock = output_lock(cfg.output_dir) if not runner.dry_run else _nolock()
    with lock:
        if opts.bundle is not None:  # air-gapped: the bundle's builder, store and inputs
            top = unpack_bundle(cfg.output_dir, opts.bundle)
            firmware_cache = cfg.root / str(cfg.get("firmware.cache_dir", "cache"))
            popts, image, meta = import_bundle(runner, engine, top, opts.pack, firmware_cache)
            builder = BuilderInfo(image, "", True)
        else:
            builder = ensure_builder(runner, engine, opts, bopts)
            popts = replace(opts.pack, force=opts.pack.force or opts.force,
                            recipe=opts.pack.recipe or opts.recipe)
        pack = build_pack(runner, engine, builder.image, popts)
        if opts.bundle is not None and pack.derivation != meta["derivation"]:
            raise FwenvError(f"the rebuild's derivation {pack.derivation} is not the bundle's "
                             f"{meta['derivation']}: the builder or inputs differ")
        imported = import_pack(runner, engine, pack.tarball, ref, provenance=pack.provenance
                               if not runner.dry_run else None, pack_format=popts.format,
                               force=opts.force or not pack.skipped)
    return EnvResult(builder, pack, imported)


class _nolock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None
