"""guix.base cold vs warm, measured side by side in one run (needs root and the engine).

cold: a full build (debootstrap, install, tar, import) under a builder name of its own;
warm: the same inputs with that image present, which must be skipped. Prints the times, their
ratio, and the image size; then removes the image it made (the user's builder is untouched).
Run: sudo .venv/bin/python benchmarks/base_bench.py [--quick]
(--quick is accepted for CI: one cold and one warm build is already the least this measures.)
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from fwenv.config import load_config
from fwenv.engine import Engine
from fwenv.guix.builder import build_builder
from fwenv.plan import Runner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI smoke run (same as a full run here)")
    ap.parse_args()
    engine = Engine.connect()
    name = f"fwenv-bench-builder-{secrets.token_hex(3)}"
    cold = None
    try:
        with tempfile.TemporaryDirectory() as out:
            cfg = load_config(Path(__file__).resolve().parents[1])
            cfg.data = {**cfg.data, "output_dir": out, "builder_image": name}
            t0 = time.monotonic()
            cold = build_builder(cfg, Runner(), engine)
            t1 = time.monotonic()
            warm = build_builder(cfg, Runner(), engine)
            t2 = time.monotonic()
            tar_mb = (Path(out) / Path(cold.tar).name).stat().st_size / 1e6
        size_mb = engine.image(cold.image).attrs["Size"] / 1e6
        assert not cold.skipped, "a fresh builder name must build cold"
        assert warm.skipped and warm.image_id == cold.image_id
        print(f"guix.base cold   {t1 - t0:8.2f} s   ({cold.image}, tar sha256 {cold.tar_sha256[:16]}…)")
        print(f"guix.base warm   {t2 - t1:8.2f} s   (skipped: {warm.skipped})")
        print(f"cold/warm ratio  {(t1 - t0) / (t2 - t1):8.0f} x")
        print(f"image size       {size_mb:8.0f} MB   tarball {tar_mb:.0f} MB")
    finally:
        if cold is not None:
            engine.remove_image(cold.image)


if __name__ == "__main__":
    main()
