"""Invoke entry point: assembles the namespaces, nothing else."""

from invoke import Collection

from fwtasks import env, firmware, guix, release

ns = Collection(guix.ns, env.ns, firmware.ns, release.ns)
