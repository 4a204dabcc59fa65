"""Real runs of firmware.build --src on a Heads checkout in the Debian stand-in.

A full Heads build needs the internet (musl-cross-make, coreboot, Linux and every module are
downloads), which this machine lacks. So the tree is a small local git checkout in Heads' shape
made here: boards/<B>/<B>.config, a top Makefile taking BOARD= that builds into
build/<arch>/<B>/ with the image's compiler, and a board whose module is a download (as every
real Heads module is). What is exercised: detection, the copy of the read-only tree without its
build outputs, make offline as uid 1000, --check, outputs and provenance, the tree unchanged,
the one-line error when the build needs the network. Not exercised: Heads' real Makefile."""

from __future__ import annotations

import json
import subprocess

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware import tree
from fwenv.plan import Runner

from .conftest import make_cfg
from .test_tree_integration import tree_hash

pytestmark = pytest.mark.integration

MAKEFILE = r"""# Heads' shape, none of its modules: BOARD=, boards/$(BOARD)/$(BOARD).config,
# build/<arch>/<board>/, packages/<arch>/ (downloads, fetched with wget as Heads does).
BOARD ?= qemu-tiny
CONFIG := $(shell pwd)/boards/$(BOARD)/$(BOARD).config
include $(CONFIG)
pwd := $(shell pwd)
build := $(pwd)/build/$(CONFIG_TARGET_ARCH)
packages := $(pwd)/packages/$(CONFIG_TARGET_ARCH)
board_build := $(build)/$(BOARD)
CPUS ?= 1

all: $(board_build)/heads-$(BOARD).rom

$(packages)/$(CONFIG_MODULE_TAR):
	mkdir -p $(packages)
	wget -O $@ $(CONFIG_MODULE_URL)

$(board_build)/payload.o: payload.c $(if $(CONFIG_MODULE_TAR),$(packages)/$(CONFIG_MODULE_TAR))
	mkdir -p $(board_build)
	$(CC) -O2 -ffreestanding -c payload.c -o $@

$(board_build)/heads-$(BOARD).rom: $(board_build)/payload.o
	head -c 65536 /dev/zero > $@.tmp
	dd if=$< of=$@.tmp conv=notrunc status=none
	printf 'BOARD=%s GIT=%s\n' $(BOARD) "$$(git rev-parse --short HEAD)" > $(board_build)/id
	dd if=$(board_build)/id of=$@.tmp bs=1 seek=61440 conv=notrunc status=none
	mv $@.tmp $@
	cd $(board_build) && sha256sum heads-$(BOARD).rom > hashes.txt
"""


@pytest.fixture(scope="module")
def heads_checkout(tmp_path_factory):
    root = tmp_path_factory.mktemp("my heads") / "heads"  # a space in the path
    root.mkdir()
    (root / "Makefile").write_text(MAKEFILE)
    (root / "payload.c").write_text("int payload(int x) { return x * 3 + 1; }\n")
    (root / ".gitignore").write_text("build/\ncrossgcc/\ninstall/\npackages/\n")
    for board, extra in (("qemu-tiny", ""), ("qemu-net", (
            "CONFIG_MODULE_TAR=musl-cross-make.tar.gz\nCONFIG_MODULE_URL=https://github.com/"
            "richfelker/musl-cross-make/archive/refs/heads/master.tar.gz\n"))):
        (root / "boards" / board).mkdir(parents=True)
        (root / "boards" / board / f"{board}.config").write_text(
            f"export CONFIG_TARGET_ARCH=x86\n{extra}")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "heads-shaped"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stale = root / "build" / "x86" / "qemu-tiny"  # an old build of the user's: never copied
    stale.mkdir(parents=True)
    (stale / "heads-qemu-tiny.rom").write_bytes(b"stale")
    return root, head, tree_hash(root)


def test_heads_board_builds_from_a_copy_of_the_tree_twice_identically(
        heads_checkout, tmp_path, session_cache, engine, standin):
    src, head, before = heads_checkout
    cfg = make_cfg(tmp_path, session_cache)
    res = tree.build_tree(cfg, Runner(), engine, src, "qemu-tiny", image=standin, jobs=2,
                          check=True)
    out = cfg.output_dir / "firmware" / "qemu-tiny"
    assert sorted(p.name for p in out.iterdir()) == [
        "build.log", "hashes.txt", "heads-qemu-tiny.rom", "provenance.json"]
    rom = (out / "heads-qemu-tiny.rom").read_bytes()
    assert len(rom) == 65536 and f"GIT={head[:7]}".encode() in rom  # built, not the stale one
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["kind"] == "heads-tree" and prov["source"]["commit"] == head
    assert prov["source"]["kind"] == "git" and not prov["source"]["dirty"]
    assert prov["container"]["network"] == "none" and prov["container"]["src_read_only"]
    assert prov["container"]["make"] == ["make", "BOARD=qemu-tiny", "CPUS=2"]
    assert prov["reproducibility"]["identical"] and len(prov["reproducibility"]["builds"]) == 2
    sha = res["roms"]["heads-qemu-tiny.rom"]
    assert (out / "hashes.txt").read_text() == f"{sha}  heads-qemu-tiny.rom\n"
    assert tree_hash(src) == before  # nothing in the user's tree changed


def test_heads_board_that_needs_a_download_fails_in_one_line(heads_checkout, tmp_path,
                                                            session_cache, engine, standin):
    src, _, before = heads_checkout
    cfg = make_cfg(tmp_path, session_cache)
    with pytest.raises(FwenvError) as e:
        tree.build_tree(cfg, Runner(), engine, src, "qemu-net", image=standin, jobs=2)
    msg = str(e.value)
    assert "\n" not in msg and "needs a download" in msg and "--network=none" in msg
    assert "make BOARD=qemu-net packages" in msg
    log = cfg.output_dir / "firmware" / "qemu-net.build.log"
    assert f"full log: {log}" in msg and "wget" in log.read_text()
    assert not (cfg.output_dir / "firmware" / "qemu-net").exists()
    assert tree_hash(src) == before
