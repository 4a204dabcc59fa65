#!/usr/bin/env python3
"""Firmware build: container vs host, same toolchain, same tree; and the QEMU boot-check time.

"Host" = the very same stand-in rootfs (exported from the image) entered with chroot as uid 1000,
so only the container machinery differs. Both run the identical build script on the same
pristine tree (copied in, `make defconfig`, `make -jN BUILD_TIMELESS=1`). Rounds alternate.
Needs root (chroot, bind mounts). Without --image it uses the stand-in toolchain image
(`invoke firmware.standin`'s recipe, built here if missing, skipped when up to date). Usage:
  .venv/bin/python benchmarks/firmware_bench.py [--image IMG] [--target T] [--rounds N] [--jobs N]
  [--quick]   (CI: one round, one boot)
  .venv/bin/python benchmarks/firmware_bench.py --src [--ccache] [--quick] ...   (the same
      board as a named target and with --src; --ccache adds cold vs warm compiler cache)
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fwenv.config import load_config
from fwenv.engine import Engine
from fwenv.firmware import boot as bootmod
from fwenv.firmware import container as b
from fwenv.firmware import sources
from fwenv.firmware.targets import get_target
from fwenv.firmware.workspace import Workspace
from fwenv.fsutil import sha256_file
from fwenv.plan import Runner


def export_rootfs(engine: Engine, image: str, dest: Path) -> None:
    container = engine.client.containers.create(image, command=["true"])
    try:
        with subprocess.Popen(["tar", "-x", "-C", str(dest)], stdin=subprocess.PIPE) as tar:
            assert tar.stdin is not None
            for chunk in container.export():
                tar.stdin.write(chunk)
            tar.stdin.close()
            if tar.wait() != 0:
                sys.exit("tar -x of the exported rootfs failed")
    finally:
        container.remove(force=True)


@contextlib.contextmanager
def bind(src: Path, dst: Path, read_only: bool = False):
    dst.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(src), str(dst)], check=True)
    if read_only:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(dst)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(dst)], check=False)


def host_build(rootfs: Path, pristine: Path, run: b.BuildRun) -> float:
    """The same build script in a chroot of the same rootfs, as the same uid, same paths."""
    src = rootfs / run.src_path.lstrip("/")
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.chown(src, run.uid, run.uid)
    env = [f"{k}={v}" for k, v in run.env().items()]
    argv = ["chroot", f"--userspec={run.uid}:{run.uid}", str(rootfs), "/usr/bin/env", "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin", *env, "sh", "-c",
            f"cd {run.src_path} && {b.BUILD_SCRIPT}", "fwenv-build", *run.make_args()]
    with contextlib.ExitStack() as stack:
        stack.enter_context(bind(Path("/dev"), rootfs / "dev"))
        stack.enter_context(bind(Path("/proc"), rootfs / "proc"))
        stack.enter_context(bind(pristine, rootfs / b.IN_SRC.lstrip("/"), read_only=True))
        stack.enter_context(bind(run.work / "cfg", rootfs / b.IN_CFG.lstrip("/"), read_only=True))
        start = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, check=False)
        took = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"host build failed: {p.stdout[-2000:]}{p.stderr[-2000:]}")
    return took


def src_vs_named(cfg, runner: Runner, engine: Engine, a: argparse.Namespace) -> None:
    """The same board built as a named target (its pristine tree copied in, built in tree) and
    with --src (that tree read-only, out of tree), rounds alternating; with --ccache, a cold
    (fresh volume) against a warm --ccache build of the same --src board. Everything is made
    here: outputs under a temp root, a compiler-cache volume of this run's own, removed after."""
    import dataclasses
    import os

    from fwenv.firmware import build as buildmod
    from fwenv.firmware import tree as treemod

    t = get_target(cfg, a.target)
    pristine = sources.ensure_tree(Workspace.from_project(cfg), runner, t.source)
    volume = f"fwenv-bench-ccache-{os.getpid()}"
    times: dict[str, list[float]] = {"named target": [], "--src": []}
    hits: list[dict] = []
    scratch = b.work_root(Workspace.from_project(cfg)).parent
    with tempfile.TemporaryDirectory(prefix="fwbench-src-", dir=scratch) as d:
        data = {**cfg.data, "output_dir": str(Path(d) / "output"),
                "firmware": {**cfg.section("firmware"), "ccache_volume": volume}}
        cfg = dataclasses.replace(cfg, data=data)
        defconfig = Path(d) / "board.defconfig"
        defconfig.write_text(t.defconfig, encoding="utf-8")
        opts = {"image": a.image, "jobs": a.jobs, "config": str(defconfig)}
        roms: dict[str, set[str]] = {"named target": set(), "--src": set()}
        for _ in range(a.rounds):
            start = time.monotonic()
            res = buildmod.build(cfg, runner, engine, t, image=a.image, jobs=a.jobs)
            times["named target"].append(time.monotonic() - start)
            roms["named target"].add(res["sha256"])
            start = time.monotonic()
            res = treemod.build_tree(cfg, runner, engine, pristine, t.board, **opts)
            times["--src"].append(time.monotonic() - start)
            roms["--src"].add(res["sha256"])
        try:
            if a.ccache:
                times["--ccache cold"], times["--ccache warm"] = [], []
                for _ in range(a.rounds):
                    engine.remove_volume(volume)
                    for kind in ("cold", "warm"):
                        start = time.monotonic()
                        res = treemod.build_tree(cfg, runner, engine, pristine, t.board,
                                                 ccache=True, **opts)
                        times[f"--ccache {kind}"].append(time.monotonic() - start)
                        hits.append(res["ccache"])
        finally:
            engine.remove_volume(volume)
    print(f"\nfirmware_bench --src: {t.board} ({a.target}) in {a.image}, -j{a.jobs}, "
          f"{a.rounds} round(s), side by side")
    for k, v in times.items():
        print(f"  {k:14} median {statistics.median(v):6.1f} s  runs "
              f"{', '.join(f'{x:.1f}' for x in v)}")
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"  --src / named = {med['--src'] / med['named target']:.3f}  (goal within 5%)")
    print(f"  same ROM named vs --src: {roms['named target'] == roms['--src']} "
          f"({', '.join(sorted(r[:12] for r in roms['--src']))})")
    if a.ccache:
        print(f"  warm / cold = {med['--ccache warm'] / med['--ccache cold']:.3f}  (goal <= 0.35)")
        counts = ", ".join(f"{h.get('hits')}/{h.get('misses')}" for h in hits)
        print(f"  ccache hits/misses per build (cold, warm, ...): {counts}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", help="toolchain image (default: the stand-in, built if missing)")
    ap.add_argument("--target", default="qemu-q35")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="CI smoke run: one round, one boot")
    ap.add_argument("--src", action="store_true",
                    help="compare a named target with the same board built with --src")
    ap.add_argument("--ccache", action="store_true",
                    help="with --src: also a cold against a warm --ccache build")
    a = ap.parse_args()
    cfg, runner, engine = load_config(), Runner(), Engine.connect()
    if a.quick:
        a.rounds = 1
    if a.image is None:
        from fwenv.firmware.standin import build_standin

        a.image = build_standin(cfg, runner, engine).image
    if a.src or a.ccache:
        src_vs_named(cfg, runner, engine, a)
        return
    t = get_target(cfg, a.target)
    b.check_image(engine, runner, a.image)
    ws = Workspace.from_project(cfg)
    pristine = sources.ensure_tree(ws, runner, t.source)
    times: dict[str, list[float]] = {"container": [], "host (chroot)": []}
    roms: dict[str, set[str]] = {"container": set(), "host (chroot)": set()}
    with tempfile.TemporaryDirectory(prefix="fwbench-", dir=b.work_root(ws).parent) as d:
        rootfs = Path(d) / "rootfs"
        rootfs.mkdir()
        export_rootfs(engine, a.image, rootfs)
        rom_for_boot = Path(d) / "boot.rom"
        for _ in range(a.rounds):
            with b.work_dir(ws, runner, t, b.BUILD_USER) as work:
                run = b.BuildRun(t, a.image, a.jobs, work=work)
                start = time.monotonic()
                b.run_build(engine, runner, run, pristine, Path(d) / "logs")
                times["container"].append(time.monotonic() - start)
                roms["container"].add(run.rom_sha256)
                shutil.copyfile(run.rom, rom_for_boot)
            with b.work_dir(ws, runner, t, b.BUILD_USER) as work:
                run = b.BuildRun(t, a.image, a.jobs, work=work)
                times["host (chroot)"].append(host_build(rootfs, pristine, run))
                roms["host (chroot)"].add(sha256_file(rootfs / "src" / "build" / b.ROM))
        boots = []
        for _ in range(1 if a.quick else 3):
            res = bootmod.boot_rom(runner, rom_for_boot, t.qemu_machine or "pc", 120)
            boots.append(res.seconds)
    print(f"\nfirmware_bench: {a.target} in {a.image}, -j{a.jobs}, {a.rounds} round(s), "
          "same tree, same toolchain")
    for k, v in times.items():
        runs = ", ".join(f"{x:.1f}" for x in v)
        print(f"  {k:14} median {statistics.median(v):6.1f} s  runs {runs}"
              f"  rom {', '.join(s[:12] for s in sorted(roms[k]))}")
    ratio = statistics.median(times["container"]) / statistics.median(times["host (chroot)"])
    print(f"  ratio container/host = {ratio:.3f}  (goal <= 1.05)")
    print(f"  identical ROM container vs host: {roms['container'] == roms['host (chroot)']}")
    print(f"  QEMU boot check ({t.qemu_machine}, to 'Payload not loaded.'): median "
          f"{statistics.median(boots):.2f} s  runs {', '.join(f'{x:.2f}' for x in boots)}")


if __name__ == "__main__":
    main()
