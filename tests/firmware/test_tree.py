"""The contributor's own tree: firmware.build --src/--board and firmware.matrix, without an
engine (plans, parsing, the 0700 work root); the real builds are in test_tree_integration."""

from __future__ import annotations

import os
import subprocess

import pytest

from fwenv.errors import FwenvError
from fwenv.firmware import container, matrix, tree
from fwenv.firmware.workspace import Workspace
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine


def fake_tree(root, boards=("acme/rocket",)):
    (root / "Makefile").parent.mkdir(parents=True, exist_ok=True)
    (root / "Makefile").write_text("all:\n")
    for b in boards:
        vendor, model = b.split("/")
        d = root / "src" / "mainboard" / vendor
        (d / model).mkdir(parents=True, exist_ok=True)
        (d / "Kconfig.name").write_text(f"config VENDOR_{vendor.upper()}\n\tbool \"x\"\n")
        (d / model / "Kconfig").write_text("")
        (d / model / "Kconfig.name").write_text(
            f"config BOARD_{vendor.upper()}_{model.upper().replace('-', '_')}\n\tbool \"y\"\n")
    return root


def test_board_defconfig_reads_the_kconfig_symbols(tmp_path):
    t = fake_tree(tmp_path / "my tree", ["acme/rocket-2"])
    assert tree.board_defconfig(t, "acme/rocket-2").splitlines() == [
        "CONFIG_VENDOR_ACME=y", "CONFIG_BOARD_ACME_ROCKET_2=y", "CONFIG_ANY_TOOLCHAIN=y",
        "CONFIG_PAYLOAD_NONE=y"]


@pytest.mark.parametrize("board,msg", [
    ("acme", "give VENDOR/MODEL"), ("../etc/x", "give VENDOR/MODEL"),
    ("acme/nope", "no src/mainboard/acme/nope/Kconfig")])
def test_bad_board_is_one_line(tmp_path, board, msg):
    with pytest.raises(FwenvError, match=msg):
        tree.check_tree(fake_tree(tmp_path), board)


def test_not_a_tree(tmp_path):
    with pytest.raises(FwenvError, match="not a coreboot tree"):
        tree.check_tree(tmp_path, "acme/rocket")


def test_identity_is_the_git_commit_or_a_content_hash(tmp_path):
    t = fake_tree(tmp_path / "t")
    before = tree.tree_identity(t)
    assert before["kind"] == "content"
    (t / "Makefile").write_text("all:\n\ttrue\n")
    assert tree.tree_identity(t)["sha256"] != before["sha256"]
    git = ["git", "-C", str(t), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(t)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert tree.tree_identity(t) == {"kind": "git", "commit": head.strip(), "dirty": False}
    (t / "Makefile").write_text("changed\n")
    assert tree.tree_identity(t)["dirty"] is True


def plan(cfg, src, board, **kw):
    r = Runner(dry_run=True)
    tree.build_tree(cfg, r, RecordingEngine(r.show), src, board, image="fwenv-test-img:1", **kw)
    return [ln for ln in r.printed if "build-tree" in ln]


def test_plan_mounts_the_tree_read_only_and_builds_out_of_tree(cfg, tmp_path):
    t = fake_tree(tmp_path / "my tree")
    [run] = plan(cfg, t, "acme/rocket", jobs=3)
    for part in ("--network=none", "--user 1000:1000", f"source={t},target=/in/src,readonly",
                 "target=/out ", 'obj="$obj"', "/out/build -j3 BUILD_TIMELESS=1",
                 "-e SOURCE_DATE_EPOCH=0", "-e TZ=UTC"):
        assert part in run, part
    assert not (cfg.output_dir / "firmware").exists()


def test_jobs_default_to_the_cpu_count():
    assert tree.TreeOptions(image="x").jobs == (os.cpu_count() or 1)


def test_check_plan_builds_twice_at_two_obj_paths_and_uids(cfg, tmp_path):
    runs = plan(cfg, fake_tree(tmp_path), "acme/rocket", check=True)
    assert len(runs) == 2
    assert "--user 1000:1000" in runs[0] and " /out/build " in runs[0]
    assert "--user 1001:1001" in runs[1] and " /build/other/obj " in runs[1]


def test_ccache_is_opt_in_and_never_with_check(cfg, tmp_path):
    t = fake_tree(tmp_path)
    assert "fwenv-ccache" not in plan(cfg, t, "acme/rocket")[0]
    [run] = plan(cfg, t, "acme/rocket", ccache=True)
    assert "type=volume,source=fwenv-ccache,target=/ccache" in run and "CONFIG_CCACHE=y" in run
    with pytest.raises(FwenvError, match="never uses a compiler cache"):
        plan(cfg, t, "acme/rocket", ccache=True, check=True)


def test_boot_only_for_emulation_boards(cfg, tmp_path):
    with pytest.raises(FwenvError, match="does not boot in QEMU"):
        plan(cfg, fake_tree(tmp_path), "acme/rocket", boot=True)


def test_work_trees_are_private_to_root(cfg):
    """Issue 10.7: the build uid (1000) is often a real person on the host: the trees handed
    to it sit under a 0700 parent, so that person cannot reach them from the host."""
    with tree.tree_work(Workspace.from_project(cfg), Runner(), "acme/rocket", "CONFIG_X=y\n") as work:
        root = container.private_work_root(Workspace.from_project(cfg))
        assert work.parent == root and (root.stat().st_mode & 0o777) == 0o700
        if os.geteuid() == 0:
            assert (work / "out").stat().st_uid == container.BUILD_USER
            probe = subprocess.run(["ls", str(work / "out")], user=1000, group=1000,
                                   capture_output=True, text=True)
            assert probe.returncode != 0 and "Permission denied" in probe.stderr
    assert list(root.iterdir()) == []


def test_diagnose_tells_source_limits():
    gnat = "x86_64-linux-gnu-gcc: fatal error: cannot execute 'gnat1'\nmake: *** Error 1\n"
    assert tree.diagnose(gnat).startswith("source limit: needs GNAT")
    assert tree.diagnose("a\nld: x.c: error: boom\nmake: *** Waiting for unfinished jobs....") \
        == "ld: x.c: error: boom"


def test_matrix_board_file(tmp_path):
    f = tmp_path / "boards"
    f.write_text("# mine\nemulation/qemu-q35\n\nLENOVO_X200  # a variant\n")
    assert matrix.read_boards(f) == ["emulation/qemu-q35", "LENOVO_X200"]
    f.write_text("emulation/qemu-q35; rm -rf /\n")
    with pytest.raises(FwenvError, match="is not VENDOR/MODEL"):
        matrix.read_boards(f)


def test_matrix_classifies_and_writes_junit():
    ok = "<testsuite><testcase classname='board' name='A'/></testsuite>"
    bad = ("<testsuite><testcase classname='board' name='B'><failure type='BuildFailed'>"
           "make: *** [src/cpu/Makefile.mk:44: cpu_microcode_blob.bin] Error 1</failure>"
           "</testcase></testsuite>")
    rows = [matrix.classify("a/a", 0, ok, ""), matrix.classify("b/b", 1, bad, ""),
            matrix.classify("c/c", 1, "", "gcc: error: unrecognized option\n"),
            matrix.classify("d/d", 0, "", "skipping D because we're missing compilers for (arm)")]
    assert [(r["result"], r["class"]) for r in rows] == [
        ("pass", ""), ("fail", "source"), ("fail", "environment"), ("fail", "environment")]
    doc = matrix.junit(rows, {"a/a": ok, "b/b": bad})
    assert doc.startswith('<testsuites name="fwenv firmware.matrix" tests="4" failures="3"')
    assert "| b/b | fail | source | source limit: needs CPU microcode" in matrix.table(rows)
