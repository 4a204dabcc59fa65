"""Invoke entry point: assembles the namespaces, nothing else."""

from invoke import Collection

from fwtasks import bundle, cache, config, env, firmware, guix, release

ns = Collection(config.config, guix.ns, env.ns, firmware.ns, release.ns, cache.ns)
release.ns.add_task(bundle.bundle)
