"""env.clean reads file names from provenance JSON in output/: each must name a regular file
directly inside output/. A JSON naming `/`, `..`, a path outside or a symlink is refused in one
line and nothing at all is deleted (the real CLI, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _schema_id() -> str:
    from fwenv.guix.provenance import SCHEMA_ID

    return SCHEMA_ID


def _env_clean(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "invoke", "-r", str(ROOT), "env.clean", "--output"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "FWENV_OUTPUT_DIR": str(out)})


def _provenance(out: Path, name: str, file: object) -> Path:
    p = out / f"{name}.provenance.json"
    p.write_text(json.dumps({"schema": _schema_id(), "tarball": {"file": file}}))
    return p


def _tree(*dirs: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under dirs with its mode and content (or link target): nothing may change."""
    seen: dict[str, tuple[int, bytes | str]] = {}
    for d in dirs:
        for p in [d, *d.rglob("*")]:
            st = p.lstat()
            body: bytes | str = os.readlink(p) if p.is_symlink() else (
                p.read_bytes() if p.is_file() else b"")
            seen[str(p)] = (st.st_mode, body)
    return seen


@pytest.fixture()
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    out, outside = tmp_path / "output", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "victim").write_text("precious")
    (out / "good.tar.gz").write_bytes(b"pack")
    _provenance(out, "good", "good.tar.gz")  # a good record beside the bad one: kept too
    return out, outside


@pytest.mark.parametrize(("named", "why"), [
    ("../outside/victim", "outside"),
    ("..", "outside"),
    ("/", "outside"),
    ("sub/x", "outside"),
    ("", "outside"),
    (7, "outside"),
])
def test_json_naming_a_path_outside_output_is_refused(dirs: tuple[Path, Path], named: object,
                                                      why: str) -> None:
    out, outside = dirs
    bad = _provenance(out, "evil", named)
    before = _tree(out.parent)
    p = _env_clean(out)
    assert p.returncode == 1, p.stdout + p.stderr
    err = p.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in p.stdout + p.stderr
    assert err.startswith(f"error: {bad.name} names {named!r}, not a file in {out}:"), err
    assert "nothing was deleted" in err
    after = _tree(out.parent)
    after.pop(str(out / ".fwenv.lock"), None)
    assert after == before


def test_json_naming_a_symlink_is_refused(dirs: tuple[Path, Path]) -> None:
    out, outside = dirs
    (out / "link.tar.gz").symlink_to(outside / "victim")
    _provenance(out, "evil", "link.tar.gz")
    before = _tree(out.parent)
    p = _env_clean(out)
    assert p.returncode == 1
    assert p.stderr.strip().startswith(
        "error: evil.provenance.json names 'link.tar.gz', not a regular file in"), p.stderr
    after = _tree(out.parent)
    after.pop(str(out / ".fwenv.lock"), None)
    assert after == before


def test_provenance_json_that_is_a_symlink_is_refused(dirs: tuple[Path, Path]) -> None:
    out, outside = dirs
    real = outside / "x.provenance.json"
    real.write_text(json.dumps({"schema": _schema_id(), "tarball": {"file": "good.tar.gz"}}))
    (out / "x.provenance.json").symlink_to(real)
    before = _tree(out.parent)
    p = _env_clean(out)
    assert p.returncode == 1
    assert p.stderr.strip().startswith("error: x.provenance.json is not a regular file"), p.stderr
    after = _tree(out.parent)
    after.pop(str(out / ".fwenv.lock"), None)
    assert after == before


def test_good_records_are_cleaned(dirs: tuple[Path, Path]) -> None:
    out, outside = dirs
    p = _env_clean(out)
    assert p.returncode == 0, p.stderr
    assert not (out / "good.tar.gz").exists() and not (out / "good.provenance.json").exists()
    assert (outside / "victim").read_text() == "precious"
