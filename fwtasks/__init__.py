"""Invoke tasks: the thin face of fwenv. Each module exposes `ns`, a Collection."""
