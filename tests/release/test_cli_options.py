"""release, release.attest and release.verify take guix.pack's pack options on the command line
(the real `invoke` CLI in a subprocess, --dry-run: no engine is needed, none is asked), and
docs/release.md's offline commands parse and plan as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import invoke

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ["--manifest", "tests/pack/offline/manifest.scm", "--load-path", "tests/pack/offline",
           "--no-time-machine", "--no-substitutes", "--guix-option=--bootstrap"]


def doc_commands() -> list[list[str]]:
    """The `invoke …` lines of docs/release.md's offline section, as argv lists."""
    text = (ROOT / "docs" / "release.md").read_text(encoding="utf-8")
    section = text.split("## The offline test environment, step by step", 1)[1].split("\n## ")[0]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None, "docs/release.md lost its offline command block"
    return [shlex.split(ln) for ln in block.group(1).splitlines() if ln.startswith("invoke ")]


def expand(argv: list[str], values: dict[str, str]) -> list[str]:
    return [re.sub(r"\$(\w+)", lambda m: values[m.group(1)], a) for a in argv[1:]]


def test_doc_commands_plan_with_their_pack_options(tmp_path: Path) -> None:
    commands = doc_commands()
    assert [c[1] for c in commands] == ["release", "release.attest", "release.verify"]
    values = {"V": "0.0.1", "FWENV_TEST_OFFLINE_BUILDER": "guix-pack-builder:none",
              "KEY": "ssh:" + str(tmp_path / "key"), "KEY2": "ssh:" + str(tmp_path / "key"),
              "SIGS": str(tmp_path / "sigs")}
    (tmp_path / "key").write_text("not used by a dry run\n")
    for argv in commands[:2]:
        proc = invoke(*expand(argv, values), "--dry-run",
                      env={"FWENV_OUTPUT_DIR": str(tmp_path / "out")})
        assert proc.returncode == 0, proc.stderr
        packs = [ln for ln in proc.stdout.splitlines() if " guix pack " in ln]
        assert packs and all(" -C xz " in ln and "--entry-point=bin/hello" in ln
                             and "--bootstrap" in ln for ln in packs), proc.stdout
    assert not (ROOT / "release" / "0.0.1").exists()


@pytest.mark.parametrize("task", ["release", "release.attest", "release.verify --rebuild"])
def test_bootstrap_without_xz_is_one_line_naming_the_option(task: str, tmp_path: Path) -> None:
    extra = {"release": [], "release.attest": ["--signer", "x", "--sigs", str(tmp_path)],
             "release.verify --rebuild": ["--sigs", str(tmp_path)]}[task]
    proc = invoke(*task.split(), "--version", "1", *extra, *OFFLINE, "--builder", "b:1",
                  "--dry-run")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: --guix-option=--bootstrap always writes xz, not gzip: add --compressor=xz"]


def test_pack_options_reach_guix_pack(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("not used by a dry run\n")
    proc = invoke("release.attest", "--version", "1", "--sigs", str(tmp_path / "sigs"),
                  "--signer", f"ssh:{tmp_path / 'key'}", "--name", "bob", *OFFLINE,
                  "--compressor=xz", "--cores", "2", "--jobs", "1",
                  "--builder", "b:1", "--dry-run",
                  env={"FWENV_OUTPUT_DIR": str(tmp_path / "out")})
    assert proc.returncode == 0, proc.stderr
    pack = next(ln for ln in proc.stdout.splitlines() if " guix pack " in ln)
    assert "--cores=2" in pack and "--max-jobs=1" in pack and " -C xz " in pack, pack


def test_non_integer_cores_is_one_line() -> None:
    proc = invoke("release", "--version", "1", "--cores", "two", "--dry-run")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: --cores 'two' is not a whole number: pass e.g. --cores 2"



def test_smoke_on_a_heads_board_is_one_line() -> None:
    proc = invoke("release", "--version", "1", "--smoke", "heads-qemu-fbwhiptail-tpm2-hotp",
                  "--builder", "b:1", "--dry-run")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: --smoke heads-qemu-fbwhiptail-tpm2-hotp: a Heads board is not a release smoke "
        "target (smoke builds are coreboot ROMs); choose a coreboot target (invoke "
        "firmware.list) or build it with invoke firmware.build"]


@pytest.mark.parametrize("push", ["http://127.0.0.1:5000/x", "https://Registry.Example/"])
def test_push_with_a_scheme_is_one_line_naming_the_fix(push: str) -> None:
    proc = invoke("release", "--version", "1", "--push", push, "--builder", "b:1", "--dry-run")
    assert proc.returncode == 1
    scheme, _, rest = push.partition("://")
    assert proc.stderr.strip().splitlines() == [
        f"error: --push {push}: drop the scheme ({scheme}://) and give host[:port][/path], "
        f"e.g. --push {rest.rstrip('/')}"]


def test_registry_is_normalized_the_same_for_preflight_and_push(tmp_path: Path) -> None:
    proc = invoke("release", "--version", "1", "--push", "Registry.Example:5000/Team/",
                  "--builder", "b:1", "--allow-dirty", "--dry-run",
                  env={"FWENV_OUTPUT_DIR": str(tmp_path / "out")})
    assert proc.returncode == 0, proc.stderr
    pushes = [ln for ln in proc.stdout.splitlines() if "registry.example:5000/team/" in ln]
    assert any(ln.startswith("docker tag ") for ln in pushes), proc.stdout
    assert any(ln.startswith("docker push ") for ln in pushes), proc.stdout


def test_verify_format_other_than_text_or_markdown_is_one_line() -> None:
    proc = invoke("release.verify", "--version", "1", "--format", "html")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["error: --format html: use text or markdown"]
