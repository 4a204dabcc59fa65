"""env.build figures: full vs no-op, pack and import times, tarball verification vs sha256sum.

Runs the real offline test pack (tests/pack/offline) in a throw-away project dir.
Usage: .venv/bin/python benchmarks/env_bench.py [--builder IMAGE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(MAIN / "src"), str(MAIN)]

from fwenv.fsutil import sha256_file  # noqa: E402
from tests.pack.conftest import offline_args, run_invoke  # noqa: E402


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.monotonic()
    out = fn()
    return time.monotonic() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--builder", default="fwenv-test-offline-builder:64a387a15678")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fwenv-bench-"))
    try:
        (root / "pyproject.toml").write_text(
            '[tool.fwenv]\noutput_dir = "output"\nenv_image = "fwenv-test-env"\n')
        shutil.copytree(MAIN / "tests" / "pack" / "offline", root / "offline")
        args = offline_args(a.builder, root)
        full, r = timed(lambda: run_invoke(root, "env.build", *args, "--force", "--json"))
        noop, _ = timed(lambda: run_invoke(root, "env.build", *args, "--json"))
        res = json.loads(r.stdout)
        tar = Path(res["pack"]["tarball"])
        pack_t, _ = timed(lambda: run_invoke(root, "guix.pack", *args, "--force"))
        imp_t, _ = timed(lambda: run_invoke(root, "env.import", "--pack", str(tar), "--force"))
        big = root / "big.bin"
        with open(big, "wb") as f:  # 512 MiB: throughput, not the tiny pack
            for _ in range(512):
                f.write(bytes(range(256)) * 4096)
        ours, _ = timed(lambda: sha256_file(big))
        ref, _ = timed(lambda: subprocess.run(["sha256sum", str(big)], check=True,
                                              capture_output=True))
        mib = big.stat().st_size / 2**20
        print(f"env.build full (cold store): {full:6.2f} s")
        print(f"env.build no-op:             {noop:6.2f} s   (goal <= 2 s)")
        print(f"guix.pack --force:           {pack_t:6.2f} s")
        print(f"env.import --force:          {imp_t:6.2f} s")
        print(f"sha256 verify: fwenv {mib / ours:7.0f} MiB/s, sha256sum {mib / ref:7.0f} MiB/s, "
              f"ratio {ref / ours:.2f} (goal >= 0.9)")
    finally:
        run_invoke(root, "env.clean", "--images", "--output", check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
