"""Real builds of the contributor's own tree: Debian's coreboot source extracted to a path
with a space stands for it; boards that are not in coreboot/targets.toml build from it, an
emulation board boots, and nothing in the tree changes.

Boards chosen for the +dfsg tree and the Debian stand-in (x86 only: no crossgcc; boards with
native raminit, so no FSP/MRC/AMD blob; CONFIG_NO_GFX_INIT since libgfxinit needs GNAT; no
microcode in CBFS since 3rdparty/intel-microcode is removed). Costs ~4 builds of 30-60 s."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware import build as buildmod
from fwenv.firmware import matrix, srctree, tree
from fwenv.firmware.targets import get_target
from fwenv.plan import Runner

from .conftest import SHARED_CACHE, make_cfg, unique

pytestmark = pytest.mark.integration

ORIG = "coreboot_25.09+dfsg.orig.tar.xz"
BOARDS = {  # not in coreboot/targets.toml
    "lenovo/x200": ("LENOVO", "LENOVO_X200"),
    "lenovo/t420": ("LENOVO", "LENOVO_T420"),
    "intel/d945gclf": ("INTEL", "INTEL_D945GCLF"),
}


def tree_hash(root) -> str:
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)} {st.st_mode:o} {st.st_mtime_ns}\n".encode())
            if not os.path.islink(p):
                with open(p, "rb") as fh:
                    h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


@pytest.fixture(scope="module")
def user_tree(tmp_path_factory):
    if not (SHARED_CACHE / ORIG).is_file():
        pytest.skip(f"{ORIG} not in {SHARED_CACHE}")
    root = tmp_path_factory.mktemp("contrib tree")  # a space in the path
    with tarfile.open(SHARED_CACHE / ORIG) as tar:
        tar.extractall(root, filter="tar")
    src = root / "coreboot-25.09"
    return src, tree_hash(src)


@pytest.fixture(scope="module")
def out_cfg(tmp_path_factory, session_cache):
    return make_cfg(tmp_path_factory.mktemp("treeout"), session_cache)


def test_emulation_board_builds_from_the_tree_and_boots(user_tree, out_cfg, engine, standin):
    src, _ = user_tree
    res = tree.build_tree(out_cfg, Runner(), engine, src, "emulation/qemu-q35", image=standin,
                          boot=True)
    out = out_cfg.output_dir / "firmware" / "emulation" / "qemu-q35"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["coreboot.rom", "hashes.txt", "cbfs.txt", "build.log", "coreboot.config",
         "provenance.json", "boot.log"])
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["rom"]["sha256"] == res["sha256"]
    assert (out / "hashes.txt").read_text() == f"{res['sha256']}  coreboot.rom\n"
    assert prov["source"]["kind"] == "content"
    assert prov["source"]["sha256"] == srctree.content_hash(src)
    assert prov["container"]["src_read_only"] and prov["container"]["network"] == "none"
    assert prov["boot"]["passed"] and {"bootblock", "romstage", "ramstage"} <= set(
        prov["boot"]["stages"])


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_boards_not_in_targets_build_from_the_tree(board, user_tree, out_cfg, engine, standin,
                                                   tmp_path):
    src, _ = user_tree
    vendor, sym = BOARDS[board]
    config = tmp_path / "my board.defconfig"
    config.write_text(f"CONFIG_VENDOR_{vendor}=y\nCONFIG_BOARD_{sym}=y\nCONFIG_ANY_TOOLCHAIN=y\n"
                      "CONFIG_PAYLOAD_NONE=y\nCONFIG_NO_GFX_INIT=y\n"
                      "CONFIG_CPU_MICROCODE_CBFS_NONE=y\n")
    res = tree.build_tree(out_cfg, Runner(), engine, src, board, image=standin,
                          config=str(config))
    out = out_cfg.output_dir / "firmware" / board
    assert (out / "coreboot.rom").is_file() and "bootblock" in (out / "cbfs.txt").read_text()
    assert f"CONFIG_BOARD_{sym}=y" in (out / "coreboot.config").read_text()
    assert res["sha256"] == hashlib.sha256((out / "coreboot.rom").read_bytes()).hexdigest()


def test_board_default_config_names_the_source_limit(user_tree, out_cfg, engine, standin):
    """Without --config, lenovo/t420 wants libgfxinit: the error says it is GNAT, and how."""
    src, _ = user_tree
    with pytest.raises(FwenvError, match="source limit: needs GNAT.*CONFIG_NO_GFX_INIT=y"):
        tree.build_tree(out_cfg, Runner(), engine, src, "lenovo/t420", image=standin)
    assert not (out_cfg.output_dir / "firmware" / "lenovo" / "t420-new").exists()


MATRIX_BOARDS = [  # ten x86 boards (a board dir with variants is named by its variant)
    "emulation/qemu-i440fx", "emulation/qemu-q35", "LENOVO_X200", "lenovo/t420",
    "intel/d945gclf", "lenovo/x60", "LENOVO_T60", "ASUS_P5QC", "gigabyte/ga-g41m-es2l",
    "lenovo/x230",
]


def test_matrix_over_ten_boards(user_tree, tmp_path, engine, standin):
    src, _ = user_tree
    cfg = make_cfg(tmp_path / "m", tmp_path / "cache")
    boards = tmp_path / "boards.txt"
    boards.write_text("\n".join(MATRIX_BOARDS) + "\n")
    res = matrix.matrix(cfg, Runner(), engine, src, boards, image=standin, jobs=2)
    out = cfg.output_dir / "firmware" / "matrix"
    table = (out / "table.md").read_text()
    print(table)
    assert [r["board"] for r in res["rows"]] == MATRIX_BOARDS
    assert all(f"| {b} |" in table for b in MATRIX_BOARDS)
    rows = {r["board"]: r for r in res["rows"]}
    assert rows["emulation/qemu-q35"]["result"] == "pass"
    assert all(r["class"] in ("source", "environment") for r in res["rows"]
               if r["result"] == "fail")
    assert (out / "junit.xml").read_text().startswith("<testsuites")


def test_git_source_checked_out_0700_is_readable_by_the_build_user(user_tree, tmp_path, engine,
                                                                   standin):
    """Issue 10.7: a git source is checked out into a 0700 temp dir; the build user must still
    read it. A local repository of the tree stands for upstream (qemu-q35-upstream's shape)."""
    src, _ = user_tree
    repo = tmp_path / "coreboot.git"
    git = ["git", f"--git-dir={repo}", f"--work-tree={src}", "-c", "user.name=t",
           "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "25.09"], check=True)
    subprocess.run([*git, "tag", "25.09"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    targets = tmp_path / "targets.toml"
    targets.write_text(f"""
[sources.local]
kind = "git"
url = "{repo}"
tag = "25.09"
commit = "{commit}"

[targets.qemu-q35-local]
board = "emulation/qemu-q35"
source = "local"
qemu_machine = "q35"
defconfig = \"\"\"
CONFIG_VENDOR_EMULATION=y
CONFIG_BOARD_EMULATION_QEMU_X86_Q35=y
CONFIG_ANY_TOOLCHAIN=y
CONFIG_PAYLOAD_NONE=y
\"\"\"
""")
    cfg = make_cfg(tmp_path / "out", tmp_path / "cache", coreboot_targets=str(targets))
    t = get_target(cfg, "qemu-q35-local")
    res = buildmod.build(cfg, Runner(), engine, t, image=standin, jobs=2)
    assert (cfg.output_dir / "firmware" / "qemu-q35-local" / "coreboot.rom").is_file()
    assert res["sha256"]


def test_check_double_builds_a_src_board_identically(user_tree, out_cfg, engine, standin):
    """--check on the contributor's tree: a second build at another obj path as another uid
    gives the same ROM (emulation/qemu-i440fx, its default config)."""
    src, _ = user_tree
    res = tree.build_tree(out_cfg, Runner(), engine, src, "emulation/qemu-i440fx",
                          image=standin, jobs=2, check=True)
    rep = res["reproducibility"]
    assert rep["identical"] and [b["uid"] for b in rep["builds"]] == [1000, 1001]
    assert {b["sha256"] for b in rep["builds"]} == {res["sha256"]}
    assert rep["builds"][0]["obj"] != rep["builds"][1]["obj"]
    prov = json.loads((out_cfg.output_dir / "firmware" / "emulation" / "qemu-i440fx" /
                       "provenance.json").read_text())
    assert prov["reproducibility"] == rep and prov["container"]["ccache"] is None


def test_ccache_second_build_hits_the_cache(user_tree, tmp_path, session_cache, engine, standin):
    """--ccache with a fresh volume: the first build fills it (misses), the second hits it
    (coreboot's own per-build ccache statistics, printed into the log); same ROM both times."""
    src, _ = user_tree
    volume = unique("fwenv-test-ccache")
    cfg = make_cfg(tmp_path, session_cache, ccache_volume=volume)
    try:
        runs = []
        for _ in range(2):
            res = tree.build_tree(cfg, Runner(), engine, src, "emulation/qemu-i440fx",
                                  image=standin, jobs=2, ccache=True)
            log = (cfg.output_dir / "firmware" / "emulation" / "qemu-i440fx" /
                   "build.log").read_text()
            assert "ccache statistics of this build:" in log
            runs.append(res)
        cold, warm = runs[0]["ccache"], runs[1]["ccache"]
        print(f"ccache cold {cold}, warm {warm}")
        # A cold build hits too (some objects are compiled twice with the same flags); a warm
        # one misses at most a handful (measured: 1 of 585, a file generated anew per build).
        calls = cold["hits"] + cold["misses"]
        assert cold["misses"] > 100 and warm["hits"] + warm["misses"] == calls
        assert warm["misses"] <= calls // 100 and warm["hits"] > cold["hits"]
        assert runs[0]["sha256"] == runs[1]["sha256"]
        prov = json.loads((cfg.output_dir / "firmware" / "emulation" / "qemu-i440fx" /
                           "provenance.json").read_text())
        assert prov["container"]["ccache"] == volume and prov["ccache"] == warm
    finally:
        engine.remove_volume(volume)


def test_the_tree_is_unchanged(user_tree):
    """Last in this module: every build above mounted the tree read-only."""
    src, before = user_tree
    assert tree_hash(src) == before
