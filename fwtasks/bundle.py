"""release.bundle: one archive for an air-gapped rebuild (see fwenv.release.bundle)."""

from __future__ import annotations

from dataclasses import replace

from fwenv.release.bundle import write_bundle
from fwenv.release.options import release_options

from .common import COMMON_HELP, context, emit, engine_for, fwtask, required, task
from .guix import PACK_HELP
from .release import BUILD_HELP, BUILD_ITERABLE, _pack_flags


@task(iterable=BUILD_ITERABLE, help={
    "version": "the release version the bundle is for (output/fwenv-bundle-<V>.tar)",
    "store": PACK_HELP["store"],
    **BUILD_HELP, **COMMON_HELP,
})
@fwtask
def bundle(c, version="", manifest="", channels="", compressor="", substitute_urls="",
           no_substitutes=False, cores="", jobs="", no_time_machine=False, load_path=None,
           guix_option=None, entry_point="", builder="", smoke="", firmware_image="",
           store=None, dry_run=False, json=False, verbose=False):
    """Write one archive for an air-gapped rebuild: store closure, inputs, builder, sources."""
    required(version=version)
    cfg, runner = context(dry_run, verbose)
    engine = engine_for(runner)
    opts = release_options(cfg, runner, engine, version, **_pack_flags(locals()), smoke=smoke)
    targets = [t.strip() for t in smoke.split(",") if t.strip()] or [
        str(t) for t in cfg.get("release.smoke_targets", [])]
    emit(write_bundle(cfg, runner, engine, opts.build.builder_image,
                      replace(opts.build.pack_options, store=store), version, targets),
         json, runner)
