"""Team cache and air-gapped bundle figures, side by side, on the offline test pack.

1. The pack in a fresh store B from a `cache.serve` of store A vs the cold pack in store A
   (goal <= 0.3x; with the tiny offline pack, Guix's own start-up dominates both).
2. The air-gapped rebuild (`env.build --bundle`, fresh store, --network=none) vs a normal
   `env.build --force` in a fresh store; the bundle's size (store archive, builder image).
Runs in a throw-away project dir; removes every volume, image and file it created.
Usage: .venv/bin/python benchmarks/scale_bench.py [--builder IMAGE] [--quick]
--quick (CI): every step once (default: the cache route three times, median).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import MAIN, builder_bench_args, timed  # first: puts the checkout on sys.path

from tests.conftest import _free_port  # noqa: E402
from tests.pack.conftest import invoke_argv, offline_args, run_invoke  # noqa: E402


def serve(root: Path, store: str, builder: str, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{MAIN / 'src'}:{MAIN}"}
    p = subprocess.Popen(invoke_argv("cache.serve", "--port", str(port), "--store", store,
                                     "--builder", builder), cwd=root, env=env, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nix-cache-info", timeout=2).close()
            return p
        except OSError:
            if p.poll() is not None or time.monotonic() > deadline:
                p.kill()
                raise SystemExit(f"cache.serve did not come up: {p.communicate()[1]}") from None
            time.sleep(0.5)


def main() -> None:
    a, engine, builder = builder_bench_args(__doc__, "CI smoke run: each step once")
    run = secrets.token_hex(3)
    vol = {k: f"fwenv-bench-{k}-{run}" for k in ("a", "env", "bundle")}
    env_image = f"fwenv-bench-scale-{run}"
    root = Path(tempfile.mkdtemp(prefix="fwenv-bench-scale-"))
    server = None
    warm_volumes: list[str] = []
    try:
        (root / "pyproject.toml").write_text(
            f'[tool.fwenv]\noutput_dir = "output"\nenv_image = "{env_image}"\n')
        shutil.copytree(MAIN / "tests" / "pack" / "offline", root / "offline")
        (root / "guix").mkdir()
        shutil.copy(MAIN / "guix" / "channels.scm", root / "guix" / "channels.scm")
        args = offline_args(builder, root)
        cold, r = timed(lambda: run_invoke(root, "guix.pack", *args, "--store", vol["a"],
                                           "--force", "--json"))
        sha = json.loads(r.stdout)["sha256"]
        port = _free_port()
        server = serve(root, vol["a"], builder, port)
        via = [x for x in args if x != "--no-substitutes"] + [
            "--substitute-urls", f"http://127.0.0.1:{port}",
            "--authorize", str(root / "output" / "cache" / "signing-key.pub"), "--force"]
        warm_t = []
        for i in range(1 if a.quick else 3):
            warm_volumes.append(f"fwenv-bench-b{i}-{run}")
            t, w = timed(lambda: run_invoke(root, "guix.pack", *via, "--store", warm_volumes[-1],
                                            "--json"))
            res = json.loads(w.stdout)
            assert res["sha256"] == sha and res["substitutes"]["would_build"] == [], res
            warm_t.append(t)
        warm = statistics.median(warm_t)
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
        server = None

        rel = ["--manifest", "offline/manifest.scm", "--load-path", "offline", *args[6:]]
        bundle_t, b = timed(lambda: run_invoke(root, "release.bundle", "--version", "bench",
                                               "--builder", builder, *rel, "--store",
                                               vol["a"], "--json"))
        bundle = Path(json.loads(b.stdout)["bundle"])
        with tarfile.open(bundle) as t:
            sizes = {Path(m.name).name: m.size for m in t.getmembers()}
        normal_t, _ = timed(lambda: run_invoke(root, "env.build", *args, "--store", vol["env"],
                                               "--force", "--tag", "normal", "--json"))
        gapped_t, g = timed(lambda: run_invoke(root, "env.build", "--bundle", str(bundle),
                                               "--store", vol["bundle"], "--tag", "gapped",
                                               "--json"))
        assert json.loads(g.stdout)["pack"]["sha256"] == sha
        mib = 2**20
        print(f"cold pack, store A:              {cold:6.2f} s")
        print(f"pack from the cache, store B:    {warm:6.2f} s   ratio {warm / cold:.2f} "
              "(goal <= 0.3)")
        print(f"release.bundle:                  {bundle_t:6.2f} s   {bundle.stat().st_size / mib:.1f}"
              f" MiB (store.nar {sizes.get('store.nar', 0) / mib:.1f} MiB, builder.tar "
              f"{sizes.get('builder.tar', 0) / mib:.1f} MiB)")
        print(f"env.build, fresh store:          {normal_t:6.2f} s")
        print(f"env.build --bundle (air-gapped): {gapped_t:6.2f} s   ratio "
              f"{gapped_t / normal_t:.2f}")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=60)
        for tag in ("normal", "gapped"):
            engine.remove_image(f"{env_image}:{tag}")
        for v in [*vol.values(), *warm_volumes]:
            for suffix in ("", "-var", "-publish-key"):
                engine.remove_volume(v + suffix)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
