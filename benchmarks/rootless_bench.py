#!/usr/bin/env python3
"""Rootless vs root (issue 14), side by side in one run: Docker (root) against rootless Podman.

  pack      `guix.pack --stdout` of the offline test package (tests/pack/offline): Docker vs
            rootless Podman (FWENV_ENGINE=podman through `podman system service`); same sha256?
  firmware  `firmware.build --target qemu-q35` in the toolchain stand-in: Docker vs rootless
            Podman (the image moved with `docker save | podman load`); same ROM?
  base      `guix.base` as root (debootstrap, docker import) vs `guix.base --unprivileged` as the
            user (mmdebstrap --mode=unshare, podman import); same tarball?

Needs root: it creates a non-root user of its own (the code path of tests/rootless/conftest.py:
useradd, a venv, `podman system service`) and removes it afterwards with everything its Podman
holds; Docker images it builds carry names of their own and are removed; Guix store volumes it
creates are removed. Rounds alternate Docker/Podman. Usage:
  .venv/bin/python benchmarks/rootless_bench.py [--parts pack,firmware,base] [--rounds N]
      [--builder IMAGE] [--image STANDIN] [--quick]
--quick (CI): every step once. When `base` is not among the parts, Podman's builder is the
Docker one moved over with `docker save | podman load`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import MAIN, timed  # first: puts the checkout on sys.path

from fwenv.config import load_config  # noqa: E402
from fwenv.engine import Engine  # noqa: E402
from fwenv.firmware.workspace import Workspace  # noqa: E402
from fwenv.guix.builder import build_builder  # noqa: E402
from fwenv.guix.pack import store_volumes  # noqa: E402
from fwenv.plan import Runner  # noqa: E402
from tests.rootless.conftest import (  # noqa: E402
    User,
    missing_tools,
    offline_pack_args,
    podman_load,
    rootless_user,
    user_checkout,
)

PARTS = ("pack", "firmware", "base")
Times = dict[str, list[float]]



def ok(p: subprocess.CompletedProcess[bytes], what: str) -> subprocess.CompletedProcess[bytes]:
    if p.returncode != 0:
        sys.exit(f"{what} failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def as_root(args: list[str], env: dict[str, str], stdout: Path | None = None) -> bytes:
    """`python -m invoke ARGS` as root against Docker; stdout to a file when given."""
    full = {**os.environ, "FWENV_ENGINE": "docker", **env}
    argv = [sys.executable, "-m", "invoke", *args]
    if stdout is None:
        return ok(subprocess.run(argv, cwd=MAIN, env=full, capture_output=True), args[0]).stdout
    with open(stdout, "wb") as f:
        ok(subprocess.run(argv, cwd=MAIN, env=full, stdout=f, stderr=subprocess.PIPE), args[0])
    return b""


def as_user(user: User, args: list[str], stdout: Path | None = None) -> bytes:
    """`python -m invoke ARGS` as the non-root user against its rootless Podman."""
    argv = [str(user.home / "venv/bin/python"), "-m", "invoke", *args]
    if stdout is None:
        return ok(user.run(argv), f"{args[0]} (rootless)").stdout
    with open(stdout, "wb") as f:
        ok(user.run(argv, stdout=f.fileno()), f"{args[0]} (rootless)")
    return b""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bench_base(user: User, rounds: int, tmp: Path) -> tuple[Times, dict[str, set[str]], str]:
    """guix.base root vs --unprivileged; returns the times, each side's tarball sha256s and the
    last builder the user built (reused for the Podman pack)."""
    engine = Engine.connect("docker")
    times: Times = {"root (Docker)": [], "--unprivileged (Podman)": []}
    shas: dict[str, set[str]] = {"root": set(), "--unprivileged": set()}
    image = ""
    for i in range(rounds):
        name = f"fwenv-bench-builder-{secrets.token_hex(3)}"
        cfg = load_config(MAIN)
        cfg.data = {**cfg.data, "output_dir": str(tmp / f"base-root{i}"), "builder_image": name}
        t = time.monotonic()
        try:
            res = build_builder(cfg, Runner(), engine)
            times["root (Docker)"].append(time.monotonic() - t)
            shas["root"].add(res.tar_sha256)
        finally:
            for img in engine.client.images.list(name=name):  # the tag is the recipe's
                engine.remove_image(img.id)
        out = user.home / f"base{i}"
        u = User(user.name, user.uid, user.home, {**user.env, "FWENV_OUTPUT_DIR": str(out)})
        took, raw = timed(as_user, u, ["guix.base", "--unprivileged", "--force", "--json"])
        times["--unprivileged (Podman)"].append(took)
        got = json.loads(raw)
        shas["--unprivileged"].add(got["tar_sha256"])
        image = got["image"]
    return times, shas, image


def bench_pack(user: User, builders: tuple[str, str], rounds: int, tmp: Path
               ) -> tuple[Times, set[str]]:
    """guix.pack --stdout of the offline package: Docker (builders[0]) vs Podman (builders[1])."""
    times: Times = {"Docker (root)": [], "Podman (rootless)": []}
    shas: set[str] = set()
    for i in range(rounds):
        dest = tmp / f"pack-docker{i}.tar.xz"
        t, _ = timed(as_root, ["guix.pack", "--stdout", "--builder", builders[0],
                               *offline_pack_args()], {}, stdout=dest)
        times["Docker (root)"].append(t)
        shas.add(sha(dest))
        dest = user.home / f"pack{i}.tar.xz"
        t, _ = timed(as_user, user, ["guix.pack", "--stdout", "--builder", builders[1],
                                     *offline_pack_args()], stdout=dest)
        times["Podman (rootless)"].append(t)
        shas.add(sha(dest))
    return times, shas


def bench_firmware(user: User, image: str, rounds: int, tmp: Path) -> tuple[Times, set[str]]:
    """firmware.build qemu-q35 in the stand-in: Docker vs rootless Podman; the sources are
    fetched/extracted first on both sides (not timed), each build starts from a fresh output."""
    ws = Workspace.from_project(load_config(MAIN))
    search = ":".join(str(p) for p in (ws.cache_dir, *ws.search))
    os.environ["FWENV_FIRMWARE_CACHE_SEARCH"] = search  # the user's checkout reads the same files
    podman_load(user, image)
    checkout = user_checkout(user)
    build = ["firmware.build", "--target", "qemu-q35", "--image", image, "--jobs", "2", "--json"]
    as_root(["firmware.fetch", "--target", "qemu-q35"], {})
    as_user(checkout, ["firmware.fetch", "--target", "qemu-q35"])
    times: Times = {"Docker (root)": [], "Podman (rootless)": []}
    roms: set[str] = set()
    for i in range(rounds):
        env = {"FWENV_OUTPUT_DIR": str(tmp / f"fw{i}")}
        t, raw = timed(as_root, build, env)
        times["Docker (root)"].append(t)
        roms.add(json.loads(raw)["sha256"])
        u = User(checkout.name, checkout.uid, checkout.home,
                 {**checkout.env, "FWENV_OUTPUT_DIR": str(checkout.cwd / f"out{i}")},
                 cwd=checkout.cwd)
        t, raw = timed(as_user, u, build)
        times["Podman (rootless)"].append(t)
        roms.add(json.loads(raw)["sha256"])
    return times, roms


def report(title: str, times: Times, same: str) -> None:
    print(f"\n{title}")
    for k, v in times.items():
        print(f"  {k:24} median {statistics.median(v):7.1f} s  runs "
              f"{', '.join(f'{x:.1f}' for x in v)}")
    (a, va), (b, vb) = times.items()
    print(f"  ratio {b} / {a} = {statistics.median(vb) / statistics.median(va):.3f}")
    print(f"  {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--builder", help="Docker builder (default: guix.base's, built if missing)")
    ap.add_argument("--image", help="toolchain image (default: the stand-in, built if missing)")
    ap.add_argument("--quick", action="store_true", help="CI smoke run: every step once")
    a = ap.parse_args()
    parts = [p for p in a.parts.split(",") if p]
    if bad := [p for p in parts if p not in PARTS]:
        sys.exit(f"unknown part(s) {', '.join(bad)}: give --parts from {', '.join(PARTS)}")
    if why := missing_tools():
        sys.exit(why)
    rounds = 1 if a.quick else a.rounds
    engine = Engine.connect("docker")
    builder = a.builder or ("pack" in parts  # guix.base's, skipped when up to date
                            and build_builder(load_config(MAIN), Runner(), engine).image) or ""
    volumes_before = set(store_volumes(engine))
    name = f"fwrb{secrets.token_hex(3)}"
    try:
        with tempfile.TemporaryDirectory(prefix="fwenv-rbench-") as d, rootless_user(name) as user:
            tmp = Path(d)
            podman_builder = ""
            if "base" in parts:
                times, shas, podman_builder = bench_base(user, rounds, tmp)
                report(f"guix.base: root vs --unprivileged, {rounds} round(s)", times,
                       "tarball sha256 root " + ",".join(x[:12] for x in shas["root"])
                       + ", --unprivileged " + ",".join(x[:12] for x in shas["--unprivileged"])
                       + " (debootstrap vs mmdebstrap: not expected equal)")
            if "pack" in parts:
                if not podman_builder:
                    podman_builder = builder
                    podman_load(user, builder)
                times, packs = bench_pack(user, (builder, podman_builder), rounds, tmp)
                report(f"guix.pack --stdout (offline test package), {rounds} round(s)", times,
                       f"same pack Docker vs Podman: {len(packs) == 1}")
            if "firmware" in parts:
                image = a.image
                if not image:
                    from fwenv.firmware.standin import build_standin

                    image = build_standin(load_config(MAIN), Runner(), engine).image
                times, roms = bench_firmware(user, image, rounds, tmp)
                report(f"firmware.build qemu-q35 in {image}, -j2, {rounds} round(s)", times,
                       f"same ROM Docker vs Podman: {len(roms) == 1}")
    finally:
        for v in set(store_volumes(engine)) - volumes_before:  # only what this run created
            engine.remove_volume(v)


if __name__ == "__main__":
    main()
