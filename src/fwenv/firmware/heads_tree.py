"""`firmware.build --src DIR --board BOARD` when DIR is a Heads checkout (boards/BOARD/BOARD.config
and a top Makefile that takes BOARD=): `make BOARD=BOARD` in the environment, as hermetic as a
coreboot --src build (--network=none, uid 1000, SOURCE_DATE_EPOCH, TZ, LC_ALL).

Heads has no out-of-tree build (build/, packages/, crossgcc/ all live under $(pwd)), so the
read-only tree is copied inside the container into a fresh work dir under the 0700 work root,
without Heads' own outputs; nothing is written into the user's tree. ROMs, hashes, log and a
provenance (the tree's git commit, or a content hash without those outputs) land in
output/firmware/BOARD/ at once. A build that needs a download fails in one line saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from ..engine import ContainerSpec, Engine, Mount
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock, script, sha256_file
from ..plan import Runner
from . import heads
from .container import BUILD_USER, check_image, firmware_dir, private_work_root, run_container
from .srctree import TreeOptions, tree_identity
from .workspace import Workspace

SCRIPT = script(__package__, "heads-src.sh")  # $1 = arch, then make's arguments
IN_SRC, IN_PACKAGES, WORK = "/in/src", "/in/packages", "/heads"
OTHER_WORK, OTHER_UID = "/build/other/heads", 1001  # the --check rebuild
OUTPUTS = ("build", "install", "crossgcc")  # Heads' outputs in its tree: never copied, not hashed
BOARD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
OFFLINE_MARKERS = ("Temporary failure in name resolution", "unable to resolve host address",
                   "Could not resolve host", "Network is unreachable", "Name or service not known")


def is_heads(src: Path) -> bool:
    """A Heads checkout: boards/, a top Makefile that takes BOARD, no coreboot src/mainboard/."""
    tree = Path(src)
    mk = tree / "Makefile"
    return ((tree / "boards").is_dir() and mk.is_file() and not (tree / "src" / "mainboard").is_dir()
            and "BOARD" in mk.read_text(encoding="utf-8", errors="replace"))


def check_board(src: Path, board: str) -> tuple[Path, str]:
    """The tree and the board's CONFIG_TARGET_ARCH (x86 unless its config says otherwise)."""
    tree = Path(src).resolve()
    conf = tree / "boards" / board / f"{board}.config"
    if not BOARD_RE.match(board) or not conf.is_file():
        raise FwenvError(f"--board {board}: no boards/{board}/{board}.config in the Heads tree "
                         f"{tree}: pick a board of it (ls boards/)")
    m = re.search(r"^\s*(?:export\s+)?CONFIG_TARGET_ARCH\s*[:?]?=\s*(\w+)",
                  conf.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
    return tree, m.group(1) if m else "x86"


def spec(ws: Workspace, tree: Path, work: Path, image: str, make: list[str], arch: str, *,
         path: str = WORK, uid: int = BUILD_USER) -> ContainerSpec:
    pkgs = heads.packages_root(ws)
    cache = [Mount(str(pkgs), IN_PACKAGES, read_only=True)] if (pkgs / arch).is_dir() else []
    return ContainerSpec(
        image=image, command=["sh", "-c", SCRIPT, "fwenv-heads-src", arch, *make],
        mounts=[Mount(str(tree), IN_SRC, read_only=True), *cache, Mount(str(work), path)],
        network="none", user=f"{uid}:{uid}", workdir=path,
        env={"SOURCE_DATE_EPOCH": str(ws.source_date_epoch),
             "TZ": "UTC", "LC_ALL": "C", "LANG": "C", "HOME": "/tmp", "BUILD_TIMELESS": "1"})


def diagnose(board: str, log: str) -> str:
    offline = next((ln.strip() for ln in log.splitlines()
                    if any(m in ln for m in OFFLINE_MARKERS)), "")
    if offline:
        return (f"Heads build of {board} needs a download ({offline[:120]}) and builds run with "
                f"--network=none: fetch its packages where the network is reachable "
                f"(in your tree: make BOARD={board} packages), then build again")
    last = next((ln.strip() for ln in reversed(log.splitlines()) if ln.strip()), "(no output)")
    return f"Heads build of {board} failed: {last[:200]}"


@contextmanager
def _work(ws: Workspace, runner: Runner, board: str, uid: int) -> Iterator[Path]:
    if runner.dry_run:
        yield private_work_root(ws, create=False) / f"heads-{board}-XXXX"
        return
    work = Path(tempfile.mkdtemp(prefix=f"heads-{board}-", dir=private_work_root(ws)))
    try:
        try:
            os.chown(work, uid, uid)
        except PermissionError:  # not root: the parent is 0700 and ours
            os.chmod(work, 0o777)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(ws: Workspace, runner: Runner, engine: Engine, s: ContainerSpec, board: str,
         fail_log: Path) -> str:
    if runner.dry_run:
        engine.run(s)
        return ""
    with runner.step(f"Heads make BOARD={board} in a copy of the tree (uid {s.user})"):
        code, log = run_container(engine, s, runner, f"Heads build of {board}")
    if code != 0:
        fail_log.parent.mkdir(parents=True, exist_ok=True)
        fail_log.write_text(log, encoding="utf-8")
        raise FwenvError(f"{diagnose(board, log)} — exit {code}, full log: {fail_log}")
    return log


def _roms(work: Path, arch: str, board: str, log: str, fail_log: Path) -> dict[str, str]:
    out = next((d for d in (work / "build" / arch / board, work / "build" / board)
                if d.is_dir() and any(d.glob("*.rom"))), None)
    if out is None:
        fail_log.parent.mkdir(parents=True, exist_ok=True)
        fail_log.write_text(log, encoding="utf-8")
        raise FwenvError(f"Heads build of {board} made no ROM in build/{arch}/{board}/ — full "
                         f"log: {fail_log}")
    return {p.name: str(p) for p in sorted(out.glob("*.rom"))}


def build(ws: Workspace, runner: Runner, engine: Engine, src: Path, board: str,
          opts: TreeOptions) -> dict[str, Any]:
    """Build a board of a Heads tree (called by fwenv.firmware.tree.build_tree)."""
    for flag, bad in (("--config", opts.config), ("--boot", opts.boot), ("--ccache", opts.ccache)):
        if bad:
            raise FwenvError(f"{flag} is for coreboot trees: a Heads board is configured by its "
                             f"boards/{board}/{board}.config; drop {flag}")
    tree, arch = check_board(src, board)
    img = check_image(engine, runner, opts.image, ws)
    cross = heads.probe(engine, runner, opts.image) if not runner.dry_run else None
    make = [f"BOARD={board}", f"CPUS={opts.jobs}", *([f"CROSS={cross}"] if cross else [])]
    ident = tree_identity(tree, exclude=OUTPUTS) if not runner.dry_run else {"kind": "(dry run)"}
    out = firmware_dir(ws)
    final, fail_log = out / board, out / f"{board}.build.log"
    with output_lock(out) if not runner.dry_run else nullcontext(), \
            _work(ws, runner, board, BUILD_USER) as work:
        s = spec(ws, tree, work, opts.image, make, arch)
        log = _run(ws, runner, engine, s, board, fail_log)
        roms = _roms(work, arch, board, log, fail_log) if not runner.dry_run else {}
        shas = {n: sha256_file(p) for n, p in roms.items()}
        extra: dict[str, Any] = {}
        if opts.check:
            with _work(ws, runner, board, OTHER_UID) as work2:
                s2 = spec(ws, tree, work2, opts.image, make, arch, path=OTHER_WORK, uid=OTHER_UID)
                log2 = _run(ws, runner, engine, s2, board, fail_log)
                shas2 = {n: sha256_file(p) for n, p in
                         (_roms(work2, arch, board, log2, fail_log) if not runner.dry_run
                          else {}).items()}
            extra["reproducibility"] = {
                "identical": shas == shas2,
                "builds": [{"path": WORK, "uid": BUILD_USER, "sha256": shas},
                           {"path": OTHER_WORK, "uid": OTHER_UID, "sha256": shas2}]}
            if shas != shas2:
                raise FwenvError(f"{board}: the two Heads builds differ ({shas} vs {shas2}): the "
                                 "tree or its board is not reproducible (compare with diffoscope)")
        if runner.dry_run:
            runner.show(f"# write {final}/ (Heads ROMs, hashes.txt, build.log, provenance.json) "
                        "atomically")
            return {"board": board, "heads": True, "dry_run": True}
        fail_log.unlink(missing_ok=True)
        doc = {"format": 1, "kind": "heads-tree", "board": board, "arch": arch,
               "roms": {n: {"sha256": h, "size": Path(roms[n]).stat().st_size}
                        for n, h in shas.items()},
               "source": {"tree": str(tree), "not_copied": list(OUTPUTS), **ident},
               "environment_image": img,
               "container": {"network": "none", "user": s.user, "src": IN_SRC,
                             "src_read_only": True, "work": WORK, "env": s.env,
                             "make": ["make", *make], "docker_run": s.cli()}, **extra}
        with atomic_path(final, directory=True) as tmp:
            for n, rom in roms.items():
                shutil.copyfile(rom, tmp / n)
            (tmp / "hashes.txt").write_text("".join(f"{h}  {n}\n" for n, h in shas.items()))
            (tmp / "build.log").write_text(log, encoding="utf-8")
            (tmp / "provenance.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            for p in tmp.iterdir():
                os.chmod(p, 0o644)
            os.chmod(tmp, 0o755)
    return {"board": board, "heads": True, "output": str(final), "roms": shas,
            "image": opts.image, "image_id": img.get("id"), "source": ident, **extra}
