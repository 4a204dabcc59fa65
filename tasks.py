"""Invoke entry point: assembles the namespaces, nothing else."""

from invoke import Collection

from fwtasks import config, env, firmware, guix, release

ns = Collection(config.config, guix.ns, env.ns, firmware.ns, release.ns)
