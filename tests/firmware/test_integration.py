"""Real builds: coreboot from Debian's source in the toolchain stand-in, --network=none, QEMU.

Costs ~4 coreboot builds (30-45 s each on 2 cores) plus one stand-in image build per machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware import boot as bootmod
from fwenv.firmware import build as buildmod
from fwenv.firmware.targets import Source, Target, get_target
from fwenv.plan import Runner

from .conftest import REPO, make_cfg, mirror_reachable

pytestmark = pytest.mark.integration


def leftovers(cfg) -> set[str]:
    d = cfg.output_dir / "firmware"
    return {p.name for p in d.iterdir()} - {".fwenv.lock"} if d.exists() else set()


@pytest.fixture(scope="module")
def i440fx(engine, standin, session_cache, tmp_path_factory):
    """qemu-i440fx built and boot-checked (pc) through the library the task uses."""
    cfg = make_cfg(tmp_path_factory.mktemp("i440fx"), session_cache)
    t = get_target(cfg, "qemu-i440fx")
    res = buildmod.build(cfg, Runner(), engine, t, image=standin, jobs=2, boot=True)
    return cfg, res


def test_i440fx_built_offline_and_boots(i440fx, engine, standin):
    cfg, res = i440fx
    out = cfg.output_dir / "firmware" / "qemu-i440fx"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["coreboot.rom", "hashes.txt", "cbfs.txt", "build.log", "coreboot.config",
         "provenance.json", "boot.log"])
    assert (out / "hashes.txt").read_text() == f"{res['sha256']}  coreboot.rom\n"
    assert "fallback/romstage" in (out / "cbfs.txt").read_text()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["rom"]["sha256"] == res["sha256"]
    assert prov["environment_image"]["id"] == engine.image(standin).id
    assert prov["environment_image"]["labels"]["org.fwenv.role"] == "toolchain-standin"
    assert prov["container"]["network"] == "none" and prov["container"]["user"] == "1000:1000"
    assert prov["container"]["env"]["BUILD_TIMELESS"] == "1"
    assert prov["source"]["version"] == "25.09+dfsg-1"
    # coreboot hands over to the payload built in the container (coreboot/payloads/serial-exit)
    assert prov["boot"]["passed"] and prov["boot"]["payload"] == "FWENV-PAYLOAD-OK"
    assert {"bootblock", "romstage", "ramstage"} <= set(prov["boot"]["stages"])
    assert "fallback/payload" in (out / "cbfs.txt").read_text()
    log = (out / "boot.log").read_text()
    assert log.index("bootblock starting") < log.index("Jumping to boot code") < log.index(
        "FWENV-PAYLOAD-OK")


def test_q35_via_nox_session(standin, engine):
    """The CI path: `nox -s "firmware(target='qemu-q35')" -- --image <stand-in>` (repo output/)."""
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "firmware(target='qemu-q35')", "--", "--image",
         standin], cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = REPO / "output" / "firmware" / "qemu-q35"
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["environment_image"]["id"] == engine.image(standin).id
    assert prov["boot"]["passed"] and prov["boot"]["machine"] == "q35"
    assert prov["boot"]["payload"] == "Payload not loaded."  # CONFIG_PAYLOAD_NONE
    assert re.fullmatch(r"[0-9a-f]{64}  coreboot\.rom\n", (out / "hashes.txt").read_text())


def test_q35_double_build_identical(engine, standin, session_cache, tmp_path):
    """Two builds: /src as uid 1000, then /build/other as uid 1001, later: same sha256."""
    cfg = make_cfg(tmp_path, session_cache)
    res = buildmod.build(cfg, Runner(), engine, get_target(cfg, "qemu-q35"), image=standin,
                         jobs=2, check=True)
    rep = res["reproducibility"]
    assert rep["identical"], rep
    assert [(b["src"], b["uid"]) for b in rep["builds"]] == [("/src", 1000), ("/build/other", 1001)]
    assert rep["builds"][0]["sha256"] == rep["builds"][1]["sha256"] == res["sha256"]


def test_untimeless_double_build_triage_names_the_cbfs_file(engine, standin, session_cache,
                                                            tmp_path):
    """Injected non-determinism: BUILD_TIMELESS unset, so coreboot stamps the build time.
    The check fails in one line naming the differing CBFS files, and output/firmware/triage/
    holds diffoscope's HTML and text reports and a summary naming the first culprit."""
    import shutil

    cfg = make_cfg(tmp_path, session_cache)
    with pytest.raises(FwenvError) as e:
        buildmod.build(cfg, Runner(), engine, get_target(cfg, "qemu-q35"), image=standin,
                       jobs=2, check=True, timeless=False)
    msg = str(e.value)
    assert "\n" not in msg and "qemu-q35 is not reproducible" in msg
    triage = cfg.output_dir / "firmware" / "triage" / "qemu-q35"
    assert f"triage: {triage}" in msg
    summary = (triage / "summary.txt").read_text().splitlines()[0]
    culprit = re.fullmatch(r"qemu-q35: first culprit: CBFS file (\S+)( \(and .*)?", summary)
    assert culprit, summary
    assert f"differing CBFS entries: {culprit.group(1)}" in msg  # the same file, named first
    assert culprit.group(1) in (triage / "cbfs-a.txt").read_text()
    if shutil.which("diffoscope"):
        assert (triage / "diffoscope.html").stat().st_size > 0
        assert culprit.group(1).replace("/", "_") in (triage / "diffoscope.txt").read_text()
    else:
        assert "diffoscope is not installed" in (triage / "summary.txt").read_text()


def test_truncated_rom_does_not_boot(i440fx, tmp_path):
    cfg, res = i440fx
    rom = tmp_path / "truncated.rom"
    rom.write_bytes((cfg.output_dir / "firmware/qemu-i440fx/coreboot.rom").read_bytes()[:1 << 20])
    with pytest.raises(FwenvError) as e:
        bootmod.boot_rom(Runner(), rom, "pc", timeout=20)
    assert "boot check of truncated.rom failed" in str(e.value) and "\n" not in str(e.value)


def test_rom_of_other_machine_boots_with_own_only(i440fx, tmp_path):
    """A boot check that must fail: zeroed ROM (right size) never reaches coreboot."""
    rom = tmp_path / "zero.rom"
    rom.write_bytes(bytes(8 << 20))
    with pytest.raises(FwenvError, match="saw no coreboot stage"):
        bootmod.boot_rom(Runner(), rom, "q35", timeout=10)
    assert not any(p.name.startswith("qemu") for p in _children())


def _children():
    """Processes of ours still alive (QEMU must be gone after each check)."""
    import pathlib

    me = str(os.getpid())
    for d in pathlib.Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "stat").read_text().split()[3] == me:
                yield pathlib.Path((d / "comm").read_text().strip())
        except OSError:
            continue


def test_image_without_toolchain(engine, shell_only_image, empty_image, tmp_path, session_cache):
    cfg = make_cfg(tmp_path, session_cache)
    t = get_target(cfg, "qemu-q35")
    with pytest.raises(FwenvError) as e:
        buildmod.build(cfg, Runner(), engine, t, image=shell_only_image)
    assert "has no coreboot toolchain (missing" in str(e.value) and "make" in str(e.value)
    with pytest.raises(FwenvError) as e:
        buildmod.build(cfg, Runner(), engine, t, image=empty_image)
    assert "cannot run sh" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FwenvError, match="not found"):
        buildmod.build(cfg, Runner(), engine, t, image="fwenv-test-no-such-image:1")
    assert leftovers(cfg) == set()


def _with_source(t: Target, **over) -> Target:
    src = t.source
    return Target(t.name, t.kind, t.board, t.description, t.defconfig,
                  Source(src.key + "-test", src.kind, {**src.data, **over}), t.qemu_machine)


def test_source_sha256_mismatch_leaves_nothing(engine, standin, tmp_path):
    cfg = make_cfg(tmp_path, tmp_path / "cache")
    t = _with_source(get_target(cfg, "qemu-q35"), orig_sha256="1" * 64)
    with pytest.raises(FwenvError) as e:
        buildmod.build(cfg, Runner(), engine, t, image=standin)
    assert "the pin says 11111111" in str(e.value) or "does not list" in str(e.value)
    assert leftovers(cfg) == set()
    assert not (tmp_path / "cache" / "coreboot").exists()


@pytest.mark.skipif(not mirror_reachable(), reason="deb.debian.org unreachable")
def test_vanished_version_build_leaves_nothing(engine, standin, tmp_path):
    cfg = make_cfg(tmp_path, tmp_path / "cache")
    t = _with_source(get_target(cfg, "qemu-q35"), version="24.12+dfsg-1",
                     orig="coreboot_24.12+dfsg.orig.tar.xz", topdir="coreboot-24.12")
    with pytest.raises(FwenvError, match="HTTP 404"):
        buildmod.build(cfg, Runner(), engine, t, image=standin)
    assert leftovers(cfg) == set()


def test_unknown_target_leaves_nothing(cfg):
    with pytest.raises(FwenvError, match="unknown target"):
        get_target(cfg, "qemu-q36")
    assert leftovers(cfg) == set()


def test_x230_real_laptop_board_builds_offline(engine, standin, session_cache, tmp_path_factory):
    """lenovo/x230, a board Heads ships, from the same +dfsg source (no native graphics, no
    microcode blob: the free parts): a 12 MiB BIOS region with its CBFS."""
    cfg = make_cfg(tmp_path_factory.mktemp("x230"), session_cache)
    res = buildmod.build(cfg, Runner(), engine, get_target(cfg, "x230"), image=standin, jobs=2)
    out = cfg.output_dir / "firmware" / "x230"
    rom = out / "coreboot.rom"
    assert rom.stat().st_size == 12 * 1024 * 1024
    assert (out / "hashes.txt").read_text() == f"{res['sha256']}  coreboot.rom\n"
    cbfs = (out / "cbfs.txt").read_text()
    assert "fallback/romstage" in cbfs and "fallback/ramstage" in cbfs
