"""firmware.build --src DIR --board B on a Heads checkout, and --ccache's plan, without an engine
(detection, plans, one-line errors); the real runs are in test_heads_tree_integration and
test_tree_integration."""

from __future__ import annotations

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware import build as buildmod
from fwenv.firmware import ccache, heads_tree, srctree, tree
from fwenv.firmware.targets import get_target
from fwenv.firmware.workspace import Workspace
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine
from fwenv.release.smoke import firmware_smoke

from .test_tree import fake_tree


def heads_shaped(root, boards=("qemu-tiny",), arch_line="export CONFIG_TARGET_ARCH=x86\n"):
    root.mkdir(parents=True, exist_ok=True)
    (root / "Makefile").write_text("BOARD ?= qemu-tiny\nall:\n")
    for b in boards:
        (root / "boards" / b).mkdir(parents=True)
        (root / "boards" / b / f"{b}.config").write_text(arch_line)
    return root


def plan(cfg, src, board, **kw):
    r = Runner(dry_run=True)
    res = tree.build_tree(cfg, r, RecordingEngine(r.show), src, board, image="fwenv-test-img:1",
                          **kw)
    return res, r.printed


def test_a_heads_checkout_is_told_from_a_coreboot_tree(tmp_path):
    assert heads_tree.is_heads(heads_shaped(tmp_path / "heads"))
    assert not heads_tree.is_heads(fake_tree(tmp_path / "coreboot"))
    assert not heads_tree.is_heads(tmp_path / "nothing")


def test_heads_plan_copies_the_read_only_tree_and_runs_make_offline(cfg, tmp_path):
    src = heads_shaped(tmp_path / "my heads")
    res, printed = plan(cfg, src, "qemu-tiny", jobs=3)
    assert res == {"board": "qemu-tiny", "heads": True, "dry_run": True}
    [run] = [ln for ln in printed if "fwenv-heads-src" in ln]
    for part in ("--network=none", "--user 1000:1000", f"'type=bind,source={src},target=/in/src,readonly'",
                 "target=/heads", "-w /heads", "fwenv-heads-src x86 BOARD=qemu-tiny CPUS=3",
                 "--exclude=./build --exclude=./install --exclude=./crossgcc",
                 "-e SOURCE_DATE_EPOCH=0", "-e TZ=UTC", "-e LC_ALL=C"):
        assert part in run, part
    assert "target=/in/packages" not in run  # no fwenv Heads cache yet
    assert any(f"{cfg.output_dir}/firmware/qemu-tiny/" in ln for ln in printed)
    assert not cfg.output_dir.exists()


def test_heads_plan_seeds_packages_from_the_fwenv_cache_and_reads_the_arch(cfg, tmp_path):
    src = heads_shaped(tmp_path / "h", ["talos-2"], "CONFIG_TARGET_ARCH := ppc64\n")
    from fwenv.firmware import heads

    (heads.packages_root(Workspace.from_project(cfg)) / "ppc64").mkdir(parents=True)
    _, printed = plan(cfg, src, "talos-2")
    [run] = [ln for ln in printed if "fwenv-heads-src" in ln]
    assert f"source={heads.packages_root(Workspace.from_project(cfg))},target=/in/packages,readonly" in run
    assert "fwenv-heads-src ppc64 BOARD=talos-2" in run


def test_heads_check_builds_twice_at_two_paths_and_uids(cfg, tmp_path):
    _, printed = plan(cfg, heads_shaped(tmp_path / "h"), "qemu-tiny", check=True)
    runs = [ln for ln in printed if "fwenv-heads-src" in ln]
    assert len(runs) == 2
    assert "--user 1000:1000" in runs[0] and "target=/heads " in runs[0]
    assert "--user 1001:1001" in runs[1] and "target=/build/other/heads " in runs[1]


@pytest.mark.parametrize("board,kw,msg", [
    ("nope", {}, r"no boards/nope/nope.config in the Heads tree .*: pick a board of it"),
    ("../x", {}, "no boards/../x/"),
    ("qemu-tiny", {"config": "x.defconfig"}, "--config is for coreboot trees"),
    ("qemu-tiny", {"boot": True}, "--boot is for coreboot trees"),
    ("qemu-tiny", {"ccache": True}, "--ccache is for coreboot trees"),
])
def test_heads_bad_input_is_one_line(cfg, tmp_path, board, kw, msg):
    with pytest.raises(FwenvError, match=msg) as e:
        plan(cfg, heads_shaped(tmp_path / "h"), board, **kw)
    assert "\n" not in str(e.value)


def test_offline_failure_names_the_download_and_the_fix():
    log = ("make: wget -O packages/x86/musl.tar.gz https://example.org/musl.tar.gz\n"
           "Resolving example.org (example.org)... failed: Temporary failure in name "
           "resolution.\nwget: unable to resolve host address 'example.org'\nmake: *** Error 4\n")
    msg = heads_tree.diagnose("qemu-tiny", log)
    assert "needs a download" in msg and "--network=none" in msg
    assert "make BOARD=qemu-tiny packages" in msg and "\n" not in msg
    assert heads_tree.diagnose("b", "cc: error: x\nmake: *** [all] Error 1\n") == \
        "Heads build of b failed: make: *** [all] Error 1"


def test_ccache_plan_prepares_the_volume_as_root_then_builds_with_it(cfg, tmp_path):
    _, printed = plan(cfg, fake_tree(tmp_path), "acme/rocket", ccache=True)
    [prep] = [ln for ln in printed if "fwenv-ccache " in ln]
    assert "--user 0:0" in prep and "--network=none" in prep
    assert "type=volume,source=fwenv-ccache,target=/ccache" in prep
    assert prep.endswith("fwenv-ccache /ccache 1000:1000")
    [run] = [ln for ln in printed if "build-tree" in ln]
    assert "-e CCACHE_DIR=/ccache" in run and "CONFIG_CCACHE=y" in run
    assert "--user 1000:1000" in run


def test_ccache_volume_name_comes_from_the_config(tmp_path, session_cache):
    from .conftest import make_cfg

    cfg = make_cfg(tmp_path, session_cache, ccache_volume="my-cache")
    _, printed = plan(cfg, fake_tree(tmp_path / "t"), "acme/rocket", ccache=True)
    assert sum("source=my-cache,target=/ccache" in ln for ln in printed) == 2


def test_ccache_stats_are_read_from_the_log():
    log = ("ccache statistics of this build:\nCacheable calls:   420 /   431 (97.45%)\n"
           "  Hits:            400 /   420 (95.24%)\n    Direct:        400 /   400 (100.0%)\n"
           "  Misses:           20 /   420 ( 4.76%)\nLocal storage:\n  Hits:   1 / 2\n")
    assert ccache.stats(log) == {"hits": 400, "misses": 20}
    assert ccache.stats("no cache here") == {}


def test_no_ccache_in_check_or_release_builds(cfg, tmp_path):
    """--ccache is refused with --check; a release's smoke builds are named targets, which
    have no cache option at all, and their plan mounts no cache."""
    with pytest.raises(FwenvError, match="never uses a compiler cache"):
        plan(cfg, fake_tree(tmp_path), "acme/rocket", ccache=True, check=True)
    with pytest.raises(TypeError):
        buildmod.BuildOptions(image="x", ccache=True)  # type: ignore[call-arg]
    r = Runner(dry_run=True)
    smoke = firmware_smoke(Workspace.from_project(cfg), r, RecordingEngine(r.show),
                           [get_target(cfg, "qemu-q35")])
    smoke("fwenv-test-img:1")
    runs = [ln for ln in r.printed if "docker run" in ln]
    assert runs and not any("ccache" in ln.lower() for ln in runs)
    assert get_target(cfg, "qemu-q35").kind == "coreboot"


def test_identity_of_a_git_tree_writes_nothing_into_it(tmp_path):
    """`git status` refreshes .git/index when files' stat data changed: fwenv asks it with
    --no-optional-locks, so reading the tree's identity leaves the tree as it was."""
    import os
    import subprocess

    t = fake_tree(tmp_path / "t")
    git = ["git", "-C", str(t), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(t)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    os.utime(t / "Makefile", (1, 1))  # same bytes, new stat data: git would refresh its index
    before = (t / ".git" / "index").read_bytes(), (t / ".git" / "index").stat().st_mtime_ns
    assert srctree.tree_identity(t)["dirty"] is False
    after = (t / ".git" / "index").read_bytes(), (t / ".git" / "index").stat().st_mtime_ns
    assert after == before


def test_cli_refuses_ccache_for_named_targets_and_with_check(tmp_path):
    from .test_cli import invoke, one_error_line

    line = one_error_line(invoke("firmware.build", "--target", "qemu-q35", "--ccache",
                                 "--dry-run"))
    assert "--ccache is for --src builds" in line
    src = fake_tree(tmp_path / "t")
    line = one_error_line(invoke("firmware.build", "--src", str(src), "--board", "acme/rocket",
                                 "--ccache", "--check", "--dry-run"))
    assert "never uses a compiler cache" in line


def test_cli_builds_a_heads_tree_dry_run(tmp_path):
    from .test_cli import invoke

    src = heads_shaped(tmp_path / "h")
    p = invoke("firmware.build", "--src", str(src), "--board", "qemu-tiny", "--jobs", "2",
               "--image", "fwenv-test-img:1", "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "fwenv-heads-src x86 BOARD=qemu-tiny CPUS=2" in p.stdout
    assert not (tmp_path / "h" / "build").exists()
