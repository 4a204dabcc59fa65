"""Faults that reach a task give one line naming the fix, never a traceback (the real CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args],  # noqa: S603
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_channels_given_a_directory(tmp_path: Path) -> None:
    p = invoke("guix.pack", "--channels", str(tmp_path), "--dry-run")
    assert p.returncode == 1
    assert p.stderr.strip() == f"error: {tmp_path}: is a directory: pass a file"
    assert "Traceback" not in p.stdout + p.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    p = invoke("guix.pack", "--channels", str(tmp_path), "--dry-run", env={"FWENV_DEBUG": "1"})
    assert p.returncode != 0 and "Traceback" in p.stderr and "IsADirectoryError" in p.stderr


def test_closed_pipe_stops_quietly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "-r", str(ROOT),  # noqa: S603
                             "firmware.list", "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away before the first byte (`| head -0`)
    err = proc.stderr.read()
    assert proc.wait(timeout=120) in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
