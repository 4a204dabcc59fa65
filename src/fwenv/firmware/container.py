"""What every firmware build shares: the build container (image check, spec, run), its
work dirs and the image's provenance. coreboot builds (build), double builds (repro) and
Heads (heads) all use it; it uses none of them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import check_image_ref
from ..engine import ContainerSpec, Engine, EngineError, Mount
from ..env.pull import pull_missing
from ..errors import FwenvError
from ..fsutil import script, sha256_file
from ..plan import Runner
from .targets import Target
from .workspace import Workspace

SRC_PATH = "/src"
IN_SRC = "/in/src"
IN_CFG = "/in/cfg"
IN_PAYLOAD = "/in/payload"
PAYLOAD_ELF = "payload.elf"  # in the tree's top dir: CONFIG_PAYLOAD_FILE="payload.elf"
BUILD_USER = 1000
ROM = "coreboot.rom"


# What a coreboot build with CONFIG_ANY_TOOLCHAIN needs in the image.
TOOLCHAIN = ("sh", "cp", "make", "gcc", "ld", "as", "objcopy", "iasl", "nasm", "python3",
             "bison", "flex", "m4", "pkg-config", "awk", "xz")
BUILD_SCRIPT = script(__package__, "build.sh")  # paths: IN_SRC, IN_PAYLOAD, IN_CFG, ROM
CHECK_SCRIPT = script(__package__, "check-tools.sh")  # exits MISSING_EXIT
MISSING_EXIT = 3
FIX_IMAGE = ("build the environment (invoke env.build) or the Debian stand-in "
             "(invoke firmware.standin) and pass it with --image")


@dataclass
class BuildRun:
    """One coreboot build in a container: where, as whom, and what came out."""

    target: Target
    image: str
    jobs: int = 2
    src_path: str = SRC_PATH
    uid: int = BUILD_USER
    timeless: bool = True
    source_date_epoch: int = 0
    work: Path = Path()
    log: str = ""
    rom_sha256: str = ""
    argv: list[str] = field(default_factory=list)

    @property
    def tree(self) -> Path:
        return self.work / "tree"

    @property
    def rom(self) -> Path:
        return self.tree / "build" / ROM

    def make_args(self) -> list[str]:
        return [f"-j{self.jobs}", *(["BUILD_TIMELESS=1"] if self.timeless else [])]

    def env(self) -> dict[str, str]:
        env = {"SOURCE_DATE_EPOCH": str(self.source_date_epoch), "TZ": "UTC", "LC_ALL": "C",
               "LANG": "C", "HOME": "/tmp"}
        if self.timeless:
            env["BUILD_TIMELESS"] = "1"
        return env

    def spec(self, pristine: Path) -> ContainerSpec:
        return ContainerSpec(
            image=self.image,
            command=["sh", "-c", BUILD_SCRIPT, "fwenv-build", *self.make_args()],
            mounts=[Mount(str(pristine), IN_SRC, read_only=True),
                    Mount(str(self.work / "cfg"), IN_CFG, read_only=True),
                    *([Mount(self.target.payload, IN_PAYLOAD, read_only=True)]
                      if self.target.payload else []),
                    Mount(str(self.tree), self.src_path)],
            network="none", user=f"{self.uid}:{self.uid}", env=self.env(), workdir=self.src_path,
        )


def firmware_dir(ws: Workspace) -> Path:
    return ws.firmware_dir


def work_root(ws: Workspace) -> Path:
    return ws.work_root


def private_work_root(ws: Workspace, *, create: bool = True) -> Path:
    """The parent of every build's work tree, 0700: the trees are handed to the build uid
    (1000 in the image, often a real person on the host), who must not reach them from the
    host to edit sources mid-build or swap the ROM before it is hashed."""
    root = work_root(ws)
    if create:
        root.mkdir(parents=True, exist_ok=True)
        if root.is_symlink() or not root.is_dir():
            raise FwenvError(f"{root} is not a directory: remove it")
        os.chmod(root, 0o700)
    return root


def as_command(spec: ContainerSpec) -> ContainerSpec:
    """The spec's command run as itself, not as arguments of the image's entry point: a
    released environment image has one (`docker run IMAGE` starts bin/bash, or what its
    environment.toml names), which would take `sh -c …` as a script to read."""
    if spec.entrypoint is not None or not spec.command:
        return spec
    return replace(spec, entrypoint=[spec.command[0]], command=list(spec.command[1:]))


def run_container(
    engine: Engine, spec: ContainerSpec, runner: Runner, what: str
) -> tuple[int, str]:
    """Engine.run with docker API errors (e.g. no `sh` in the image) as one-line errors."""
    on_line = (lambda ln: runner.console.print(ln, markup=False, highlight=False)) \
        if runner.verbose else None
    try:
        return engine.run(as_command(spec), on_line)
    except EngineError as e:
        raise FwenvError(f"{what}: cannot start a container from {spec.image} ({e.reason}): "
                         f"{FIX_IMAGE}") from None


def check_image(engine: Engine, runner: Runner, image: str,
                ws: Workspace | None = None) -> dict[str, Any]:
    """The image exists and carries the toolchain; returns its id and org.fwenv.* labels."""
    check_image_ref(image)
    probe = as_command(ContainerSpec(image=image, command=["sh", "-c", CHECK_SCRIPT, "check",
                                                           *TOOLCHAIN],
                                     network="none", user=f"{BUILD_USER}:{BUILD_USER}"))
    if runner.dry_run:
        engine.run(probe)
        return {"ref": image, "id": None, "labels": {}}
    img = engine.image(image) or pull_missing(runner, engine, image)  # REF@sha256:… is pulled
    if img is None:
        raise FwenvError(f"image {image} not found: {FIX_IMAGE}")
    try:
        code, out = engine.run(probe)
    except EngineError as e:  # no sh at all (e.g. an environment without a shell)
        raise FwenvError(f"image {image} has no coreboot toolchain (it cannot run sh: "
                         f"{e.reason[:120]}): {FIX_IMAGE}") from None
    if code == MISSING_EXIT:
        names = out.split("missing:", 1)[-1].split() or ["(not reported)"]
        raise FwenvError(f"image {image} has no coreboot toolchain (missing "
                         f"{', '.join(names)}): {FIX_IMAGE}")
    if code != 0:
        last = next((ln for ln in reversed(out.splitlines()) if ln.strip()), f"exit {code}")
        raise FwenvError(f"image {image} has no coreboot toolchain (it cannot run sh: "
                         f"{last.strip()[:120]}): {FIX_IMAGE}")
    return image_provenance(img, ws)


def image_provenance(img: Any, ws: Workspace | None = None) -> dict[str, Any]:
    labels = {k: v for k, v in (img.labels or {}).items() if k.startswith("org.fwenv.")}

    def first(*keys: str) -> str | None:
        return next((labels[k] for k in keys if labels.get(k)), None)

    record = _provenance_file(ws, labels) or _pack_provenance(ws, img.id)
    doc = record.pop("doc", {})
    return {
        "ref": next(iter(img.tags), None), "id": img.id,
        "repo_digests": img.attrs.get("RepoDigests") or [],
        "layers": img.attrs.get("RootFS", {}).get("Layers", []),
        "derivation": first("org.fwenv.derivation", "org.fwenv.pack-derivation")
        or doc.get("derivation"),
        "channels_commit": first("org.fwenv.channels-commit", "org.fwenv.guix-commit",
                                 "org.fwenv.channels.commit") or doc.get("channels_commit"),
        "provenance_file": record or None,
        "pack_sha256": first("org.fwenv.pack-sha256", "org.fwenv.tar-sha256"),
        "labels": labels,
    }


def _provenance_file(ws: Workspace | None, labels: dict[str, str]) -> dict[str, Any]:
    """The image's provenance record on disk, if a label names one that exists here (the pack
    provenance, or the rootfs pipeline's packages.json beside its tarball)."""
    if ws is None:
        return {}
    names = [labels.get("org.fwenv.provenance", "")]
    tar = labels.get("org.fwenv.tar", "")
    if tar.endswith(".tar"):
        names.append(tar[: -len(".tar")] + ".packages.json")
    for name in filter(None, names):
        path = (ws.root / name).resolve()
        if path.is_file():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                doc = {}
            return {"file": name, "sha256": sha256_file(path),
                    "doc": doc if isinstance(doc, dict) else {}}
    return {}


def _pack_provenance(ws: Workspace | None, image_id: str) -> dict[str, Any]:
    """The pack provenance of an image env.import loaded (found via output/<name>.image.json)."""
    if ws is None:
        return {}
    for index in sorted(ws.output_dir.glob("*.image.json")):
        try:
            entry = json.loads(index.read_text(encoding="utf-8"))
            if entry.get("image_id") != image_id:
                continue
            path = index.with_name(entry["provenance"])
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, KeyError, OSError):
            continue
        commits = [c["commit"] for c in doc.get("guix", {}).get("channels", []) if c.get("name") == "guix"]
        return {"file": path.name, "sha256": sha256_file(path),
                "doc": {"derivation": doc.get("derivation"),
                        "channels_commit": commits[0] if commits else None}}
    return {}


@contextmanager
def work_dir(ws: Workspace, runner: Runner, target: Target, uid: int) -> Iterator[Path]:
    """A fresh host dir for one build (removed afterwards), writable by the build user, under
    the 0700 work root."""
    if runner.dry_run:
        yield work_root(ws) / f"{target.name}-XXXX"
        return
    work = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=private_work_root(ws)))
    try:
        (work / "cfg").mkdir()
        (work / "cfg" / "defconfig").write_text(target.defconfig, encoding="utf-8")
        os.chmod(work, 0o755)
        os.chmod(work / "cfg", 0o755)
        os.chmod(work / "cfg" / "defconfig", 0o644)
        (work / "tree").mkdir()
        try:
            os.chown(work / "tree", uid, uid)
        except PermissionError:  # not root: let the container user write anyway
            os.chmod(work / "tree", 0o777)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_build(engine: Engine, runner: Runner, b: BuildRun, pristine: Path,
              log_dir: Path) -> None:
    """Run one build; on success b.rom exists and b.rom_sha256 is set."""
    spec = as_command(b.spec(pristine))
    b.argv = spec.cli()
    if runner.dry_run:
        engine.run(spec)
        return
    with runner.step(f"build {b.target.name} in {b.image} at {b.src_path} as uid {b.uid}"):
        code, b.log = run_container(engine, spec, runner, f"build of {b.target.name}")
    if code != 0 or not b.rom.is_file():
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{b.target.name}-build.log"
        log.write_text(b.log, encoding="utf-8")
        last = next((ln for ln in reversed(b.log.splitlines()) if ln.strip()), "(no output)")
        raise FwenvError(f"coreboot build of {b.target.name} failed (exit {code}): "
                         f"{last.strip()[:200]} — full log: {log}")
    b.rom_sha256 = sha256_file(b.rom)
