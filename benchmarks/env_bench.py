"""env.build figures: full vs no-op, pack and import times, tarball verification vs sha256sum.

Runs the real offline test pack (tests/pack/offline) in a throw-away project dir, under an
image name of its own; it removes that image and any Guix store volume it created.
The builder is the one guix.base makes (built here if missing; skipped when up to date).
Usage: .venv/bin/python benchmarks/env_bench.py [--builder IMAGE] [--quick]
--quick (CI): every step once, no repeated pack, a 16 MiB hash instead of 512 MiB.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import MAIN, builder_bench_args, timed  # first: puts the checkout on sys.path

from fwenv.fsutil import sha256_file  # noqa: E402
from fwenv.guix.pack import store_volumes  # noqa: E402
from tests.pack.conftest import offline_args, run_invoke  # noqa: E402


def main() -> None:
    a, engine, builder = builder_bench_args(__doc__, "CI smoke run: each step once, small hash")
    volumes_before = set(store_volumes(engine))
    env_image = f"fwenv-bench-env-{secrets.token_hex(3)}"
    root = Path(tempfile.mkdtemp(prefix="fwenv-bench-"))
    try:
        (root / "pyproject.toml").write_text(
            f'[tool.fwenv]\noutput_dir = "output"\nenv_image = "{env_image}"\n')
        shutil.copytree(MAIN / "tests" / "pack" / "offline", root / "offline")
        args = offline_args(builder, root)
        full, r = timed(lambda: run_invoke(root, "env.build", *args, "--force", "--json"))
        noop, _ = timed(lambda: run_invoke(root, "env.build", *args, "--json"))
        res = json.loads(r.stdout)
        tar = Path(res["pack"]["tarball"])
        if not a.quick:
            pack_t, _ = timed(lambda: run_invoke(root, "guix.pack", *args, "--force"))
        imp_t, _ = timed(lambda: run_invoke(root, "env.import", "--pack", str(tar), "--force"))
        big = root / "big.bin"
        with open(big, "wb") as f:  # throughput, not the tiny pack
            for _ in range(16 if a.quick else 512):
                f.write(bytes(range(256)) * 4096)
        ours, _ = timed(lambda: sha256_file(big))
        ref, _ = timed(lambda: subprocess.run(["sha256sum", str(big)], check=True,
                                              capture_output=True))
        mib = big.stat().st_size / 2**20
        print(f"env.build full:              {full:6.2f} s   ({builder})")
        print(f"env.build no-op:             {noop:6.2f} s   (goal <= 2 s)")
        if not a.quick:
            print(f"guix.pack --force:           {pack_t:6.2f} s")
        print(f"env.import --force:          {imp_t:6.2f} s")
        print(f"sha256 verify ({mib:.0f} MiB): fwenv {mib / ours:7.0f} MiB/s, sha256sum "
              f"{mib / ref:7.0f} MiB/s, ratio {ref / ours:.2f} (goal >= 0.9)")
    finally:
        run_invoke(root, "env.clean", "--images", "--output", check=False)
        for v in set(store_volumes(engine)) - volumes_before:  # only what this run created
            engine.remove_volume(v)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
