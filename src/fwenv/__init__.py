"""fwenv: reproducible coreboot/Heads build environments with GNU Guix, as Docker images.

Layers (imports only point down, see docs/architecture.md): steps (guix -> env -> firmware ->
release) -> ground (config, engine, recording, plan, fsutil, errors). Nothing here knows about
Invoke.
"""

__version__ = "0.1.0"
