"""Build a coreboot target inside the environment image: --network=none, uid 1000, fixed paths.

The pristine source tree (cache) is mounted read-only at /in/src and copied into a fresh work
tree mounted at /src (or another path for the reproducibility check), the defconfig fragment at
/in/cfg/defconfig. Outputs land in output/firmware/<target>/ all at once (temp dir, rename).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock, sha256_file, write_text_atomic
from ..plan import Runner
from ..recording import engine_for
from . import boot as bootmod
from . import heads, repro, sources
from .container import (
    BUILD_USER,
    ROM,
    BuildRun,
    check_image,
    firmware_dir,
    run_build,
    work_dir,
)
from .targets import Target, all_targets, get_target
from .workspace import Workspace


def provenance(b: BuildRun, image: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    t, src = b.target, b.target.source
    assert src is not None
    return {
        "format": 1,
        "target": t.name, "kind": t.kind, "board": t.board,
        "rom": {"file": ROM, "sha256": b.rom_sha256, "size": b.rom.stat().st_size},
        "source": {"key": src.key, "kind": src.kind, **{k: v for k, v in src.data.items()
                                                       if k != "kind"},
                   "files": [vars(f) for f in sources.source_files(src)]},
        "defconfig": t.defconfig,
        "config_sha256": sha256_file(b.tree / ".config"),
        "environment_image": image,
        "container": {"network": "none", "user": f"{b.uid}:{b.uid}", "src": b.src_path,
                      "env": b.env(), "command": ["make", *b.make_args()],
                      "docker_run": b.argv},
        **extra,
    }


def collect(ws: Workspace, b: BuildRun, image: dict[str, Any], extra: dict[str, Any],
            extra_files: dict[str, str]) -> Path:
    """Write output/firmware/<target>/ atomically: ROM, hashes, CBFS listing, log, provenance."""
    final = firmware_dir(ws) / b.target.name
    with atomic_path(final, directory=True) as tmp:
        shutil.copyfile(b.rom, tmp / ROM)
        (tmp / "hashes.txt").write_text(f"{b.rom_sha256}  {ROM}\n", encoding="utf-8")
        shutil.copyfile(b.tree / "build" / "cbfs.txt", tmp / "cbfs.txt")
        shutil.copyfile(b.tree / ".config", tmp / "coreboot.config")
        (tmp / "build.log").write_text(b.log, encoding="utf-8")
        for name, text in extra_files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        doc = provenance(b, image, extra)
        (tmp / "provenance.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        for p in tmp.iterdir():
            os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)
    return final


@dataclass(frozen=True)
class BuildOptions:
    """How to build a target (see `invoke firmware.build --help`)."""

    image: str
    jobs: int = 2
    check: bool = False  # build twice (other path, uid, time), require identical ROMs
    boot: bool = False  # boot-check the ROM in QEMU
    timeout: float = 120
    timeless: bool = True


def build(cfg: Config, runner: Runner, engine: Engine, target: Target,
          **options: Any) -> dict[str, Any]:
    """`invoke firmware.build`: the one place that dispatches on the target's kind: Heads
    (fwenv.firmware.heads) or coreboot (here, optionally double-built and boot-checked).
    `options` are BuildOptions' fields."""
    return build_target(Workspace.from_project(cfg), runner, engine, target, **options)


def build_target(ws: Workspace, runner: Runner, engine: Engine, target: Target,
                 **options: Any) -> dict[str, Any]:
    """`build` in the workspace `ws` (release's smoke builds come here)."""
    opts = BuildOptions(**options)
    if target.kind == "heads":
        return heads.build(ws, runner, engine, target, image=opts.image, jobs=opts.jobs)
    return _coreboot(ws, runner, engine, target, opts)


def _coreboot(ws: Workspace, runner: Runner, engine: Engine, target: Target,
              opts: BuildOptions) -> dict[str, Any]:
    image, jobs, check, boot = opts.image, opts.jobs, opts.check, opts.boot
    timeout, timeless = opts.timeout, opts.timeless
    if jobs < 1 or jobs > 256:
        raise FwenvError(f"--jobs {jobs}: use 1..256")
    if boot and not target.qemu_machine:
        raise FwenvError(f"{target.name} does not boot in QEMU: drop --boot")
    assert target.source is not None
    img = check_image(engine, runner, image, ws)
    pristine = sources.ensure_tree(ws, runner, target.source)
    sde = ws.source_date_epoch
    logs = ws.cache_dir / "logs"
    out = firmware_dir(ws)
    lock = output_lock(out) if not runner.dry_run else _nothing()
    with lock, work_dir(ws, runner, target, BUILD_USER) as work:
        b = BuildRun(target, image, jobs, timeless=timeless, source_date_epoch=sde, work=work)
        run_build(engine, runner, b, pristine, logs)
        extra: dict[str, Any] = {}
        files: dict[str, str] = {}
        if check:
            report = repro.double_build(ws, runner, engine, b, pristine, logs)
            extra["reproducibility"] = report.as_dict()
            stale = out / f"{target.name}.repro.txt"
            if report.identical and not runner.dry_run:
                stale.unlink(missing_ok=True)
            elif not runner.dry_run:
                write_text_atomic(stale, report.text())
                raise FwenvError(f"{report.summary()} — report: {stale}")
        if boot:
            res = bootmod.boot_rom(runner, b.rom, target.qemu_machine, timeout)
            extra["boot"] = res.as_dict()
            files["boot.log"] = res.log
        if runner.dry_run:
            runner.show(f"# write {out / target.name}/ ({ROM}, hashes.txt, cbfs.txt, build.log, "
                        "coreboot.config, provenance.json) atomically")
            return {"target": target.name, "dry_run": True}
        final = collect(ws, b, img, extra, files)
    return {"target": target.name, "rom": str(final / ROM), "sha256": b.rom_sha256,
            "image": image, "image_id": img.get("id"), **extra}


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def fetch(cfg: Config, runner: Runner, target: Target, *, image: str) -> dict[str, Any]:
    """`invoke firmware.fetch`: the target's pinned sources into the cache (networked); Heads
    also runs its `make packages` in `image`."""
    ws = Workspace.from_project(cfg)
    if target.kind == "heads":
        return heads.fetch(ws, runner, engine_for(runner), target, image=image)
    assert target.source is not None
    tree = sources.ensure_tree(ws, runner, target.source)
    return {"target": target.name, "source": sources.describe(target.source), "tree": str(tree)}


def boot(cfg: Config, runner: Runner, *, target: str = "", rom: str = "", machine: str = "",
         timeout: float = 120) -> dict[str, Any]:
    """`invoke firmware.boot`: a built target's ROM (with its QEMU machine) or a ROM file."""
    if bool(target) == bool(rom):
        raise FwenvError("give exactly one of --target T or --rom FILE")
    if target:
        t = get_target(cfg, target)
        if not t.qemu_machine:
            raise FwenvError(f"{target} does not boot in QEMU: boot-check a QEMU target")
        rom = str(firmware_dir(Workspace.from_project(cfg)) / target / ROM)
        machine = machine or t.qemu_machine
    res = bootmod.boot_rom(runner, Path(rom), machine or "pc", timeout)
    return {"rom": rom, **res.as_dict(), "seconds": round(res.seconds, 2)}


def listing(cfg: Config) -> dict[str, dict[str, Any]]:
    """`invoke firmware.list`: every target with its board, source and what it needs."""
    return {name: {
        "kind": t.kind, "board": t.board, "description": t.description,
        "source": sources.describe(t.source) if t.source else
        f"Heads {heads.heads_pin(t)['commit'][:12]}",
        "boot_check": t.qemu_machine or None, "needs": t.needs(),
        "full_config_needs": list(t.full_config_needs),
    } for name, t in sorted(all_targets(cfg).items())}
