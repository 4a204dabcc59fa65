"""Heads boards: fetch (networked, Heads' own `make packages`) and build (--network=none).

Cache layout (under the firmware cache dir):
  heads/heads-<commit>/         git checkout of Heads at the pinned commit (HEAD verified)
  heads/packages/<arch>/        Heads' download cache (its `packages/<arch>/` convention)
The build copies the checkout into a fresh work tree at /heads, mounts the packages read-only
and runs `make BOARD=<board>` with no network. With a musl-cross toolchain in the image
(x86_64-linux-musl-gcc on PATH) Heads uses it (CROSS=...) instead of building its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..config import check_image_ref
from ..engine import ContainerSpec, Engine, Mount
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock, script, sha256_file
from ..plan import Runner, render
from .container import BUILD_USER, private_work_root, run_container
from .targets import Target
from .workspace import Workspace

HEADS_PATH = "/heads"
IN_HEADS = "/in/heads"
IN_PACKAGES = "/in/packages"
MUSL_CROSS = "x86_64-linux-musl-gcc"
HEADS_TOOLS = ("sh", "cp", "make", "gcc", "g++", "bison", "flex", "m4", "patch", "cpio", "xz",
               "bzip2", "perl", "python3", "git", "wget", "rsync", "sha256sum", "file", "bc")
PROBE = script(__package__, "heads-probe.sh")  # prints the MUSL_CROSS path
MAKE = script(__package__, "heads-make.sh")  # IN_HEADS


def heads_pin(target: Target) -> dict[str, Any]:
    return dict(target.extra["heads"])


def checkout_dir(ws: Workspace, target: Target) -> Path:
    return ws.cache_dir / "heads" / f"heads-{heads_pin(target)['commit']}"


def packages_root(ws: Workspace) -> Path:
    """Heads' download cache, one dir per arch (firmware.fetch fills it)."""
    return ws.cache_dir / "heads" / "packages"


def packages_dir(ws: Workspace, target: Target) -> Path:
    return packages_root(ws) / heads_pin(target).get("arch", "x86")


def missing_files(ws: Workspace, target: Target) -> list[str]:
    """What the cache lacks for `target` (a wrong sha256 counts as missing)."""
    pin = heads_pin(target)
    missing = []
    if not (checkout_dir(ws, target) / "Makefile").is_file():
        missing.append(f"heads-{pin['commit'][:12]} (git checkout of {pin['url']})")
    pkgs = packages_dir(ws, target)
    for name in target.packages:
        p = pkgs / name
        want = target.extra["package_pins"][name]["sha256"]
        if not p.is_file():
            missing.append(f"packages/{pkgs.name}/{name}")
        elif sha256_file(p) != want:
            missing.append(f"packages/{pkgs.name}/{name} (sha256 mismatch)")
    return missing


def check_cache(ws: Workspace, target: Target) -> None:
    missing = missing_files(ws, target)
    if missing:
        raise FwenvError(
            f"Heads cache for {target.name} is incomplete in {ws.cache_dir / 'heads'}: "
            f"missing {', '.join(missing)}: run `invoke firmware.fetch --target {target.name}` "
            "where the network is reachable (the build itself runs offline)"
        )


def build_spec(ws: Workspace, target: Target, image: str, work: Path, jobs: int,
               cross: str | None) -> ContainerSpec:
    arch = heads_pin(target).get("arch", "x86")
    make = [f"BOARD={target.board}", f"packages={IN_PACKAGES}/{arch}", f"CPUS={jobs}"]
    if cross:
        make.append(f"CROSS={cross}")
    return ContainerSpec(
        image=image,
        command=["sh", "-c", MAKE, "fwenv-heads", *make],
        mounts=[Mount(str(checkout_dir(ws, target)), IN_HEADS, read_only=True),
                Mount(str(packages_dir(ws, target).parent), IN_PACKAGES, read_only=True),
                Mount(str(work), HEADS_PATH)],
        network="none", user=f"{BUILD_USER}:{BUILD_USER}", workdir=HEADS_PATH,
        env={"TZ": "UTC", "LC_ALL": "C", "LANG": "C", "HOME": "/tmp", "BUILD_TIMELESS": "1",
             "SOURCE_DATE_EPOCH": str(ws.source_date_epoch)},
    )


def fetch_spec(ws: Workspace, target: Target, image: str, work: Path) -> ContainerSpec:
    """Networked: Heads' own `make packages` fills packages/<arch>/ (its sha256 checks apply)."""
    arch = heads_pin(target).get("arch", "x86")
    return ContainerSpec(
        image=image,
        command=["sh", "-c", MAKE, "fwenv-heads",
                 f"BOARD={target.board}", f"packages={IN_PACKAGES}/{arch}", "packages"],
        mounts=[Mount(str(checkout_dir(ws, target)), IN_HEADS, read_only=True),
                Mount(str(packages_dir(ws, target).parent), IN_PACKAGES),
                Mount(str(work), HEADS_PATH)],
        network="bridge", user=f"{BUILD_USER}:{BUILD_USER}", workdir=HEADS_PATH,
        env={"TZ": "UTC", "LC_ALL": "C", "HOME": "/tmp"},
    )


def fetch(ws: Workspace, runner: Runner, engine: Engine, target: Target, *,
          image: str) -> dict[str, Any]:
    """Heads checkout at the pinned commit, then its downloads, verified against the pins."""
    check_image_ref(image)
    pin = heads_pin(target)
    final = checkout_dir(ws, target)
    if not (final / "Makefile").is_file():
        with (atomic_path(final, directory=True) if not runner.dry_run
              else contextlib.nullcontext(final)) as tmp:
            runner.run(["git", "clone", "--no-checkout", pin["url"], str(tmp)],
                       what=f"git clone {pin['url']}", fix="check the network")
            runner.run(["git", "-C", str(tmp), "checkout", "--detach", pin["commit"]],
                       what="git checkout", fix="the pinned Heads commit is not in that repository")
            head = runner.run(["git", "-C", str(tmp), "rev-parse", "HEAD"], what="git rev-parse")
            if not runner.dry_run and head.strip() != pin["commit"]:
                raise FwenvError(f"Heads checkout is at {head.strip()[:12]}, "
                                 f"not {pin['commit'][:12]}: delete it and retry")
    pkgs = packages_dir(ws, target)
    with tempfile.TemporaryDirectory(prefix="fwenv-heads-") as d:
        spec = fetch_spec(ws, target, image, Path(d))
        if runner.dry_run:
            engine.run(spec)
        else:
            pkgs.mkdir(parents=True, exist_ok=True)
            for p in (Path(d), pkgs):
                _writable(p)
            with runner.step(f"Heads make packages for {target.board}"):
                code, out = run_container(engine, spec, runner, "Heads make packages")
            if code != 0:
                last = next((ln for ln in reversed(out.splitlines()) if ln.strip()), "")
                raise FwenvError(f"Heads `make packages` failed (exit {code}): {last[:160]}")
    if not runner.dry_run:
        check_cache(ws, target)
    return {"target": target.name, "heads": str(final), "packages": str(pkgs)}


def build(ws: Workspace, runner: Runner, engine: Engine, target: Target, *, image: str,
          jobs: int = 2) -> dict[str, Any]:
    check_image_ref(image)
    missing = missing_files(ws, target)
    if missing and not runner.dry_run:
        check_cache(ws, target)
    if missing:
        runner.show(f"# cache check: missing {', '.join(missing)} (run firmware.fetch first)")
    cross = None
    if not runner.dry_run:
        cross = probe(engine, runner, image)
    out = ws.firmware_dir
    with tempfile.TemporaryDirectory(prefix="fwenv-heads-", dir=_tmp_root(ws, runner)) as d:
        work = Path(d)
        spec = build_spec(ws, target, image, work, jobs,
                          cross or f"<dir of {MUSL_CROSS} if the image has it>/x86_64-linux-musl-")
        if runner.dry_run:
            engine.run(spec)
            runner.show(f"# write {out / target.name}/ (Heads ROMs, hashes.txt, provenance.json)")
            return {"target": target.name, "dry_run": True, "missing": missing}
        spec = build_spec(ws, target, image, work, jobs, cross)
        runner.show(render(spec.cli()))
        _writable(work)
        with output_lock(out), runner.step(f"Heads make BOARD={target.board}"):
            code, log = run_container(engine, spec, runner, f"Heads build of {target.board}")
            if code != 0:
                last = next((ln for ln in reversed(log.splitlines()) if ln.strip()), "")
                raise FwenvError(f"Heads build of {target.board} failed (exit {code}): "
                                 f"{last[:160]}")
            board_out = work / "build" / heads_pin(target).get("arch", "x86") / target.board
            with atomic_path(out / target.name, directory=True) as tmp:
                for f in sorted(board_out.glob("*.rom")) + [board_out / "hashes.txt"]:
                    shutil.copyfile(f, tmp / f.name)
                (tmp / "build.log").write_text(log, encoding="utf-8")
    return {"target": target.name, "output": str(out / target.name)}


def probe(engine: Engine, runner: Runner, image: str) -> str | None:
    """Check Heads' build tools in the image; return CROSS for its musl-cross, if any."""
    if engine.image(image) is None:
        raise FwenvError(f"image {image} not found: build it (invoke env.build) or pass --image")
    spec = ContainerSpec(image=image, command=["sh", "-c", PROBE, "probe", *HEADS_TOOLS],
                         network="none", user=f"{BUILD_USER}:{BUILD_USER}")
    runner.show(render(spec.cli()))
    _, out = run_container(engine, spec, runner, f"tool check of {image}")
    missing = [w.split(":", 1)[1] for w in out.split() if w.startswith("missing:")]
    if missing:
        raise FwenvError(f"image {image} lacks Heads build tools ({', '.join(missing)}): "
                         "use an environment image with Heads' dependencies")
    gcc = next((w for w in out.split() if w.endswith("/" + MUSL_CROSS)), None)
    return gcc[: -len("gcc")] if gcc else None


def _writable(p: Path) -> None:
    try:
        os.chown(p, BUILD_USER, BUILD_USER)
    except PermissionError:
        os.chmod(p, 0o777)


def _tmp_root(ws: Workspace, runner: Runner) -> str | None:
    if runner.dry_run:
        return None
    return str(private_work_root(ws))
