"""Broken inputs give one line naming the file and line (fwenv.guix.errors), from REAL Guix
output produced in a builder container (offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.guix.errors import check, explain

from .conftest import GUIX_DIR, IN

pytestmark = pytest.mark.integration


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of guix/ to break."""
    dst = tmp_path / "guix"
    shutil.copytree(GUIX_DIR, dst)
    dst.chmod(0o755)
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst


def run(fresh_guix, src: Path, argv: list[str]) -> tuple[int, str]:
    with fresh_guix(src) as g:
        return g.exec(argv, check=False)


def test_bad_channels_file_names_file_and_line(fresh_guix, tree: Path):
    ch = tree / "channels.scm"
    ch.write_text(ch.read_text().replace("(commit", "(comit"))
    line = next(i for i, ln in enumerate(ch.read_text().splitlines(), 1) if "(list" in ln)
    code, out = run(fresh_guix, tree, ["guix", "time-machine", "-C", f"{IN}/channels.scm",
                                       "--", "describe"])
    assert code != 0
    msg = explain(out, [f"{IN}/channels.scm"])
    assert msg.startswith(f"{IN}/channels.scm:{line}: ") and "comit" in msg, msg
    assert "\n" not in msg


def test_unbalanced_channels_file(fresh_guix, tree: Path):
    ch = tree / "channels.scm"
    ch.write_text(ch.read_text().rstrip().removesuffix(")") + "\n")
    code, out = run(fresh_guix, tree, ["guix", "time-machine", "-C", f"{IN}/channels.scm",
                                       "--", "describe"])
    assert code != 0
    msg = explain(out, [f"{IN}/channels.scm"])
    assert msg.startswith(f"{IN}/channels.scm:") and "parenthes" in msg, msg


def test_unknown_package_names_manifest_line(fresh_guix, tree: Path):
    m = tree / "manifest.scm"
    m.write_text(m.read_text().replace('"bc" "ccache"', '"bc" "no-such-tool" "ccache"'))
    line = next(i for i, ln in enumerate(m.read_text().splitlines(), 1) if "no-such-tool" in ln)
    code, out = run(fresh_guix, tree, ["guix", "pack", "-d", "-m", f"{IN}/manifest.scm"])
    assert code != 0
    host = str(m)  # the pack step passes host paths; guixcheck matches path suffixes
    with pytest.raises(FwenvError) as e:
        check(code, out, [host], what="guix pack")
    assert f"{host}:{line}: unknown package \"no-such-tool\"" in str(e.value)


def test_module_syntax_error_names_module_file_and_line(fresh_guix, tree: Path):
    mod = tree / "modules/fwenv/packages/heads.scm"
    lines = mod.read_text().splitlines()
    broken = next(i for i, ln in enumerate(lines) if "(define-public musl-cross-heads" in ln)
    lines[broken] = lines[broken] + " (("
    mod.write_text("\n".join(lines) + "\n")
    code, out = run(fresh_guix, tree, ["guix", "pack", "-d", "-L", f"{IN}/modules",
                                       "-m", f"{IN}/manifest.scm"])
    assert code != 0
    msg = explain(out, [str(tree / "manifest.scm"), str(mod)])
    assert msg.startswith(f"{mod}:") and ("end of input" in msg or "parenthes" in msg), msg
    assert "\n" not in msg
