"""firmware.*: build coreboot/Heads targets in the environment image, boot-check them in QEMU."""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Collection

from fwenv.errors import FwenvError
from fwenv.firmware import build as buildmod
from fwenv.firmware import matrix as matrixmod
from fwenv.firmware import standin as standinmod
from fwenv.firmware import tree as treemod
from fwenv.firmware.targets import get_target

from .common import COMMON_HELP, context, emit, engine_for, fwtask, required, task

IMAGE_HELP = "environment image to build in (default: env_image:env_tag from pyproject.toml)"


def _image(cfg, image: str) -> str:
    return image or f"{cfg.env_image}:{cfg.env_tag}"


@task(help={
    "target": "target name (invoke firmware.list)",
    "src": "DIR: build a board of your own coreboot or Heads tree DIR instead (never written)",
    "board": "with --src: VENDOR/MODEL as in src/mainboard/, or a Heads board (boards/B/)",
    "config": "with --src: a defconfig FILE (default: the board with CONFIG_ANY_TOOLCHAIN)",
    "ccache": "with --src: keep a compiler cache in the fwenv-ccache volume (not with --check)",
    "image": IMAGE_HELP,
    "jobs": "parallel make jobs (default: the CPU count)",
    "check": "build twice (other path, uid and time) and require identical ROMs",
    "boot": "boot-check the ROM in QEMU (targets with a QEMU machine)",
    "boot_if_qemu": "boot-check only when the target has a QEMU machine (nox, CI)",
    "timeout": "boot-check timeout in seconds (default 120)",
    **COMMON_HELP,
})
@fwtask
def build(c, target="", src="", board="", config="", ccache=False, image="", jobs=0,
          check=False, boot=False, boot_if_qemu=False, timeout=120.0, dry_run=False, json=False,
          verbose=False):
    """Build a target (or --src DIR --board VENDOR/MODEL) in a --network=none container;
    results in output/firmware/<target or board>/."""
    cfg, runner = context(dry_run, verbose)
    jobs = int(jobs) or os.cpu_count() or 1
    if src or board:
        if target:
            raise FwenvError("give --target T or --src DIR --board VENDOR/MODEL, not both")
        required(src=src, board=board)
        boot = boot or (boot_if_qemu and board in treemod.QEMU_MACHINES)
        result = treemod.build_tree(cfg, runner, engine_for(runner), Path(src), board,
                                    image=_image(cfg, image), jobs=jobs, config=config,
                                    check=check, boot=boot, ccache=ccache,
                                    timeout=float(timeout))
        emit(result, json, runner, next="" if boot else
             f"invoke firmware.boot --rom output/firmware/{board}/coreboot.rom")
        return
    required(target=target)
    if ccache:
        raise FwenvError("--ccache is for --src builds: named targets build without a cache")
    t = get_target(cfg, target)
    boot = boot or (boot_if_qemu and bool(t.qemu_machine) and t.kind == "coreboot")
    result = buildmod.build(cfg, runner, engine_for(runner), t, image=_image(cfg, image),
                            jobs=jobs, check=check, boot=boot, timeout=float(timeout))
    emit(result, json, runner, next="" if boot or not t.qemu_machine else
         f"invoke firmware.boot --target {target}")


@task(help={
    "src": "your coreboot tree (read-only)",
    "boards": "FILE: one abuild target a line (VENDOR/MODEL)",
    "image": IMAGE_HELP,
    "jobs": "make jobs per board (default: the CPU count)",
    **COMMON_HELP,
})
@fwtask
def matrix(c, src="", boards="", image="", jobs=0, dry_run=False, json=False, verbose=False):
    """coreboot's util/abuild/abuild over a board list in the environment; a pass/fail table
    (source limits told from environment failures) and JUnit XML in output/firmware/matrix/."""
    required(src=src, boards=boards)
    cfg, runner = context(dry_run, verbose)
    res = matrixmod.matrix(cfg, runner, engine_for(runner), Path(src), Path(boards),
                           image=_image(cfg, image), jobs=int(jobs) or os.cpu_count() or 1)
    if not json and not dry_run:
        print(matrixmod.table(res["rows"]), end="")
    emit({k: v for k, v in res.items() if k != "rows" or json}, json, runner,
         next="attach output/firmware/matrix/junit.xml to your CI")


@task(help={
    "src": "your coreboot tree (read-only)",
    "board": "VENDOR/MODEL",
    "config": "FILE: start from it if it exists; savedefconfig output is written to it",
    "image": IMAGE_HELP,
    "dry_run": COMMON_HELP["dry_run"],
})
@fwtask
def menuconfig(c, src="", board="", config="", image="", dry_run=False):
    """coreboot's menuconfig in the environment on this terminal; writes savedefconfig to
    --config FILE only (nothing in the tree)."""
    required(src=src, board=board, config=config)
    cfg, runner = context(dry_run, False)
    treemod.menuconfig(cfg, runner, Path(src), board, Path(config), _image(cfg, image))


@task(name="boot", help={
    "target": "boot output/firmware/<target>/coreboot.rom with the target's QEMU machine",
    "rom": "boot this ROM file instead",
    "machine": "QEMU machine: pc or q35 (default: the target's, else pc)",
    "timeout": "seconds before the check fails (default 120); QEMU is always killed",
    **COMMON_HELP,
})
@fwtask
def boot_(c, target="", rom="", machine="", timeout=120.0, dry_run=False, json=False,
          verbose=False):
    """Boot a ROM in QEMU (software emulation) and wait for coreboot's stages and payload step."""
    cfg, runner = context(dry_run, verbose)
    res = buildmod.boot(cfg, runner, target=target, rom=rom, machine=machine,
                        timeout=float(timeout))
    emit(res, json, runner)


@task(name="list", help={"json": COMMON_HELP["json"]})
@fwtask
def list_(c, json=False):
    """The targets, with their board, source and what each needs."""
    cfg, runner = context()
    rows = buildmod.listing(cfg)
    if json:
        emit(rows, True, runner)
        return
    for name, r in rows.items():
        extra = f"; full config needs {', '.join(r['full_config_needs'])}" \
            if r["full_config_needs"] else ""
        print(f"{name:34} {r['kind']:8} {r['board']:36} boot:{r['boot_check'] or '-':4} "
              f"needs: {r['needs']}{extra}")


@task(help={"target": "target name (invoke firmware.list)",
            "image": "image for Heads' `make packages` (default: the environment image)",
            **COMMON_HELP})
@fwtask
def fetch(c, target="", image="", dry_run=False, json=False, verbose=False):
    """Download a target's pinned sources into the cache (networked; builds then run offline)."""
    required(target=target)
    cfg, runner = context(dry_run, verbose)
    result = buildmod.fetch(cfg, runner, get_target(cfg, target), image=_image(cfg, image))
    emit(result, json, runner, next=f"invoke firmware.build --target {target}")


@task(help={
    "suite": "Debian suite (default trixie)",
    "mirror": "Debian mirror URL (default: builder.mirror)",
    "snapshot": "snapshot.debian.org timestamp to pin the mirror, e.g. 20261120T000000Z",
    "force": "rebuild even when an image with the same inputs exists",
    **COMMON_HELP,
})
@fwtask
def standin(c, suite="", mirror="", snapshot=None, force=False, dry_run=False, json=False,
            verbose=False):
    """Build fwenv-toolchain-standin:<suite>, the Debian toolchain image CI builds firmware in."""
    cfg, runner = context(dry_run, verbose)
    res = standinmod.build_standin(cfg, runner, engine_for(runner), suite=suite or None,
                                   mirror=mirror or None, snapshot=snapshot, force=force)
    emit(res.as_dict(), json, runner,
         next=f"invoke firmware.build --image {res.as_dict().get('image', 'IMAGE')} "
              "--target qemu-q35")


ns = Collection("firmware")
for t in (build, menuconfig, matrix, boot_, list_, fetch, standin):
    ns.add_task(t)
