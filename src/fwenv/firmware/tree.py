"""`firmware.build --src DIR --board VENDOR/MODEL`: any board of the contributor's own coreboot
tree, built in the environment with the named targets' hermetic settings.

The tree is mounted read-only at /in/src and built out of tree (obj=) into a fresh work dir
under a 0700 parent; nothing is written into the tree. Outputs land in
output/firmware/<vendor>/<model>/ all at once: ROM, hashes, CBFS listing, .config, log and a
provenance naming the tree by its git commit, or by a content hash when it is no checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import ContainerSpec, Engine, Mount, run_interactive
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock, script, sha256_file, write_text_atomic
from ..plan import Runner, render
from . import boot as bootmod
from . import ccache as ccachemod
from . import heads_tree
from .container import (
    BUILD_USER,
    ROM,
    check_image,
    firmware_dir,
    private_work_root,
    run_container,
)
from .srctree import TreeOptions, tree_identity
from .workspace import Workspace

BUILD_TREE_SCRIPT = script(__package__, "build-tree.sh")  # $1 = obj dir; paths: /in/src, /in/cfg
IN_SRC, IN_CFG, OBJ = "/in/src", "/in/cfg", "/out/build"
OTHER_OBJ, OTHER_UID = "/build/other/obj", 1001  # the --check rebuild
BOARD_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.+-]*$")
QEMU_MACHINES = {"emulation/qemu-i440fx": "pc", "emulation/qemu-q35": "q35"}


def check_tree(src: Path, board: str) -> Path:
    """The tree is a coreboot checkout holding the board; returns its resolved path."""
    if not BOARD_RE.match(board):
        raise FwenvError(f"--board {board!r}: give VENDOR/MODEL as in src/mainboard/, "
                         "e.g. emulation/qemu-q35")
    tree = Path(src).resolve()
    if not (tree / "Makefile").is_file() or not (tree / "src" / "mainboard").is_dir():
        raise FwenvError(f"--src {src}: not a coreboot tree (no Makefile, src/mainboard/): "
                         "pass the top of your coreboot checkout")
    if not (tree / "src" / "mainboard" / board / "Kconfig").is_file():
        raise FwenvError(f"--board {board}: no src/mainboard/{board}/Kconfig in {tree}: "
                         "pick a board of this tree (ls src/mainboard/*/)")
    return tree


def board_defconfig(tree: Path, board: str) -> str:
    """A defconfig selecting the board (vendor and board Kconfig symbols read from the
    tree), with CONFIG_ANY_TOOLCHAIN and no payload, as the named targets use."""
    vendor, model = board.split("/")
    vendor_sym = _symbols(tree / "src" / "mainboard" / vendor / "Kconfig.name", "VENDOR_")
    board_syms = _symbols(tree / "src" / "mainboard" / board / "Kconfig.name", "BOARD_")
    wanted = "BOARD_" + re.sub(r"[^A-Z0-9]", "_", f"{vendor}_{model}".upper())
    pick = [s for s in board_syms if s == wanted] or (board_syms if len(board_syms) == 1 else [])
    if not vendor_sym or not pick:
        raise FwenvError(f"--board {board}: cannot tell its Kconfig symbol (found "
                         f"{', '.join(board_syms) or 'none'}): pass --config FILE (a defconfig)")
    return (f"CONFIG_{vendor_sym[0]}=y\nCONFIG_{pick[0]}=y\nCONFIG_ANY_TOOLCHAIN=y\n"
            "CONFIG_PAYLOAD_NONE=y\n")


def _symbols(path: Path, prefix: str) -> list[str]:
    if not path.is_file():
        return []
    return re.findall(rf"^config\s+({prefix}[A-Z0-9_]+)\s*$", path.read_text(errors="replace"),
                      re.MULTILINE)


# What a failed build's log says about the cause: a source limit (the tree lacks a blob or
# the config needs GNAT, which neither Guix nor this tree provides) or anything else.
SOURCE_LIMITS = (
    ("gnat1", "needs GNAT for libgfxinit (no Ada compiler in the environment): "
              "set CONFIG_NO_GFX_INIT=y in --config"),
    ("cpu_microcode_blob.bin", "needs CPU microcode from 3rdparty/intel-microcode (absent from "
                               "this tree): set CONFIG_CPU_MICROCODE_CBFS_NONE=y or add it"),
    ("3rdparty/blobs", "needs a vendor blob from 3rdparty/blobs (absent from this tree)"),
    ("3rdparty/fsp", "needs Intel FSP from 3rdparty/fsp (absent from this tree)"),
    ("3rdparty/amd_blobs", "needs AMD blobs from 3rdparty/amd_blobs (absent from this tree)"),
    ("/3rdparty/", "needs a part of 3rdparty/ absent from this tree (e.g. ffs, removed from "
                   "the +dfsg source)"),
)


def diagnose(log: str) -> str:
    """One line: the known source limit the log shows, else its first error line."""
    for marker, why in SOURCE_LIMITS:
        if marker in log:
            return f"source limit: {why}"
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    first = next((ln for ln in lines if re.search(r"error|\*\*\*", ln, re.IGNORECASE)
                  and "Waiting for unfinished" not in ln and "Default configuration" not in ln),
                 lines[-1] if lines else "(no output)")
    return first[:200]


def is_source_limit(log: str) -> bool:
    return any(marker in log for marker, _ in SOURCE_LIMITS)


@dataclass
class TreeBuild:
    """One out-of-tree build in a container."""

    image: str
    tree: Path
    work: Path
    jobs: int
    obj: str = OBJ
    uid: int = BUILD_USER
    ccache: Mount | None = None  # the compiler cache volume (--ccache)
    log: str = ""
    argv: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:  # mounted at obj's parent
        return self.work / "out"

    def env(self) -> dict[str, str]:
        env = {"SOURCE_DATE_EPOCH": "0", "TZ": "UTC", "LC_ALL": "C", "LANG": "C",
               "HOME": "/tmp", "BUILD_TIMELESS": "1"}
        return {**env, **(ccachemod.env() if self.ccache else {})}

    def make_args(self) -> list[str]:
        return [f"-j{self.jobs}", "BUILD_TIMELESS=1",
                *(ccachemod.make_args() if self.ccache else [])]

    def spec(self) -> ContainerSpec:
        cache = [self.ccache] if self.ccache else []
        return ContainerSpec(
            image=self.image,
            command=["sh", "-c", BUILD_TREE_SCRIPT, "fwenv-build-tree", self.obj,
                     *self.make_args()],
            mounts=[Mount(str(self.tree), IN_SRC, read_only=True),
                    Mount(str(self.work / "cfg"), IN_CFG, read_only=True),
                    Mount(str(self.out), str(Path(self.obj).parent)), *cache],
            network="none", user=f"{self.uid}:{self.uid}", env=self.env(), workdir=IN_SRC)

    def run(self, engine: Engine, runner: Runner, board: str, fail_log: Path) -> str:
        """Build; returns the ROM's sha256. On failure the log is kept at fail_log."""
        spec = self.spec()
        self.argv = spec.cli()
        if runner.dry_run:
            engine.run(spec)
            return ""
        with runner.step(f"build {board} from {self.tree} (obj={self.obj}, uid {self.uid})"):
            code, self.log = run_container(engine, spec, runner, f"build of {board}")
        rom = self.rom
        if code != 0 or not rom.is_file():
            fail_log.parent.mkdir(parents=True, exist_ok=True)
            fail_log.write_text(self.log, encoding="utf-8")
            raise FwenvError(f"coreboot build of {board} from {self.tree} failed (exit {code}): "
                             f"{diagnose(self.log)} — full log: {fail_log}")
        return sha256_file(rom)

    @property
    def obj_dir(self) -> Path:  # the host side of obj
        return self.out / Path(self.obj).name

    @property
    def rom(self) -> Path:
        return self.obj_dir / ROM


@contextmanager
def tree_work(ws: Workspace, runner: Runner, board: str, defconfig: str) -> Iterator[Path]:
    """A fresh work dir under the 0700 work root: cfg/defconfig and out/ for the build user."""
    if runner.dry_run:
        yield private_work_root(ws, create=False) / f"{board.replace('/', '-')}-XXXX"
        return
    work = Path(tempfile.mkdtemp(prefix=f"{board.replace('/', '-')}-",
                                 dir=private_work_root(ws)))
    try:
        os.chmod(work, 0o755)
        (work / "cfg").mkdir(mode=0o755)
        (work / "cfg" / "defconfig").write_text(defconfig, encoding="utf-8")
        os.chmod(work / "cfg" / "defconfig", 0o644)
        (work / "out").mkdir()
        try:
            os.chown(work / "out", BUILD_USER, BUILD_USER)
        except PermissionError:  # not root: the parent is 0700 and ours, so this is private
            os.chmod(work / "out", 0o777)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_tree(cfg: Config, runner: Runner, engine: Engine, src: Path, board: str,
               **options: Any) -> dict[str, Any]:
    """`invoke firmware.build --src DIR --board VENDOR/MODEL`; `options` are TreeOptions'."""
    opts, ws = TreeOptions(**options), Workspace.from_project(cfg)
    if opts.jobs < 1 or opts.jobs > 256:
        raise FwenvError(f"--jobs {opts.jobs}: use 1..256")
    if opts.ccache and opts.check:
        raise FwenvError("--ccache and --check: the double build never uses a compiler cache; "
                         "drop --ccache")
    if heads_tree.is_heads(src):
        return heads_tree.build(ws, runner, engine, src, board, opts)
    machine = QEMU_MACHINES.get(board, "")
    if opts.boot and not machine:
        raise FwenvError(f"{board} does not boot in QEMU: drop --boot (emulation boards: "
                         f"{', '.join(QEMU_MACHINES)})")
    tree = check_tree(src, board)
    if opts.config:
        cfile = Path(opts.config)
        if not cfile.is_file():
            raise FwenvError(f"--config {opts.config}: no such file: pass a defconfig "
                             "(e.g. from invoke firmware.menuconfig)")
        defconfig = cfile.read_text(encoding="utf-8", errors="replace")
    else:
        defconfig = board_defconfig(tree, board)
    img = check_image(engine, runner, opts.image, ws)
    if opts.ccache:
        ccachemod.prepare(ws, runner, engine, opts.image)
    ident = tree_identity(tree) if not runner.dry_run else {"kind": "(dry run)"}
    out = firmware_dir(ws)
    final = out / board
    lock = output_lock(out) if not runner.dry_run else _nothing()
    with lock, tree_work(ws, runner, board, defconfig) as work:
        b = TreeBuild(opts.image, tree, work, opts.jobs,
                      ccache=ccachemod.mount(ws) if opts.ccache else None)
        fail_log = final.parent / f"{final.name}.build.log"
        sha = b.run(engine, runner, board, fail_log)
        fail_log.unlink(missing_ok=True)
        extra: dict[str, Any] = {"ccache": ccachemod.stats(b.log)} if opts.ccache else {}
        files: dict[str, str] = {}
        if opts.check:
            extra["reproducibility"] = _double(ws, runner, engine, b, board, defconfig, sha,
                                               fail_log)
        if opts.boot:
            res = bootmod.boot_rom(runner, b.rom, machine, opts.timeout)
            extra["boot"] = res.as_dict()
            files["boot.log"] = res.log
        if runner.dry_run:
            runner.show(f"# write {final}/ ({ROM}, hashes.txt, cbfs.txt, build.log, "
                        "coreboot.config, provenance.json) atomically")
            return {"board": board, "dry_run": True}
        doc = {
            "format": 1, "kind": "coreboot-tree", "board": board,
            "rom": {"file": ROM, "sha256": sha, "size": b.rom.stat().st_size},
            "source": {"tree": str(tree), **ident},
            "defconfig": defconfig,
            "config_sha256": sha256_file(b.obj_dir / ".config"),
            "environment_image": img,
            "container": {"network": "none", "user": f"{b.uid}:{b.uid}", "src": IN_SRC,
                          "src_read_only": True, "obj": b.obj, "env": b.env(),
                          "ccache": ws.ccache_volume if opts.ccache else None,
                          "docker_run": b.argv},
            **extra,
        }
        _collect(final, b, doc, files)
    return {"board": board, "rom": str(final / ROM), "sha256": sha, "image": opts.image,
            "image_id": img.get("id"), "source": ident, **extra}


MENUCONFIG_SCRIPT = script(__package__, "menuconfig.sh")


def menuconfig(cfg: Config, runner: Runner, src: Path, board: str, config: Path,
               image: str) -> dict[str, Any]:
    """`invoke firmware.menuconfig`: menuconfig in the environment on this terminal, starting
    from FILE when it exists (else the board's defconfig); writes savedefconfig to FILE only."""
    tree = check_tree(src, board)
    config = Path(config)
    start = config.read_text(encoding="utf-8", errors="replace") if config.is_file() \
        else board_defconfig(tree, board)
    with tree_work(Workspace.from_project(cfg), runner, board, start) as work:
        argv = ["docker", "run", "--rm", "-it", "--network=none",
                "--user", f"{BUILD_USER}:{BUILD_USER}", "-e", "HOME=/tmp", "-e", "LC_ALL=C",
                "-e", f"TERM={os.environ.get('TERM', 'xterm')}",
                "--mount", f"type=bind,source={tree},target={IN_SRC},readonly",
                "--mount", f"type=bind,source={work / 'cfg'},target={IN_CFG},readonly",
                "--mount", f"type=bind,source={work / 'out'},target=/out",
                "-w", IN_SRC, "--entrypoint", "sh", image, "-c", MENUCONFIG_SCRIPT,
                "fwenv-menuconfig"]
        runner.show(render(argv))
        if runner.dry_run:
            return {"board": board, "config": str(config), "dry_run": True}
        code = run_interactive(argv)
        saved = work / "out" / "defconfig"
        if code != 0 or not saved.is_file():
            raise FwenvError(f"menuconfig exited with {code} and saved nothing: {config} is "
                             "unchanged")
        write_text_atomic(config, saved.read_text(encoding="utf-8"))
    return {"board": board, "config": str(config)}


def _double(ws: Workspace, runner: Runner, engine: Engine, first: TreeBuild, board: str,
            defconfig: str, sha: str, fail_log: Path) -> dict[str, Any]:
    """Build again at another obj path as another uid; the ROMs must be identical."""
    with tree_work(ws, runner, board, defconfig) as work:
        if not runner.dry_run:
            try:
                os.chown(work / "out", OTHER_UID, OTHER_UID)
            except PermissionError:
                pass
        second = TreeBuild(first.image, first.tree, work, first.jobs, obj=OTHER_OBJ,
                           uid=OTHER_UID)
        sha2 = second.run(engine, runner, board, fail_log)
    report = {"identical": sha == sha2 or runner.dry_run,
              "builds": [{"obj": first.obj, "uid": first.uid, "sha256": sha},
                         {"obj": second.obj, "uid": second.uid, "sha256": sha2}]}
    if not report["identical"]:
        raise FwenvError(f"{board}: the two builds differ ({sha[:12]} vs {sha2[:12]}): the tree "
                         "or its config is not reproducible (compare with diffoscope)")
    return report


def _collect(final: Path, b: TreeBuild, doc: dict[str, Any], files: dict[str, str]) -> None:
    obj = b.obj_dir
    with atomic_path(final, directory=True) as tmp:
        shutil.copyfile(b.rom, tmp / ROM)
        (tmp / "hashes.txt").write_text(f"{doc['rom']['sha256']}  {ROM}\n", encoding="utf-8")
        shutil.copyfile(obj / "cbfs.txt", tmp / "cbfs.txt")
        shutil.copyfile(obj / ".config", tmp / "coreboot.config")
        (tmp / "build.log").write_text(b.log, encoding="utf-8")
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        for p in tmp.iterdir():
            os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
