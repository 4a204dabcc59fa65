"""fwenv: reproducible coreboot/Heads build environments with GNU Guix, as Docker images.

Layers (imports only point down): steps (builder, pack, importer, firmware, release)
-> ground (config, engine, guixd, plan, fsutil, errors). Nothing here knows about Invoke.
"""

__version__ = "0.1.0"
