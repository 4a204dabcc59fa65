"""The output lock: re-entrant in one run, exclusive between runs; stale temps of dead runs only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.fsutil import atomic_path, clean_stale_temps, make_temp, output_lock

HOLD = """
import sys, time
from pathlib import Path
from fwenv.fsutil import output_lock
with output_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(30)
"""


def test_nested_lock_in_one_run_proceeds(tmp_path: Path) -> None:
    # env.build holds output/ and calls guix.base, which locks output/ again
    with output_lock(tmp_path), output_lock(tmp_path / "."), output_lock(tmp_path):
        pass
    with output_lock(tmp_path):  # released: taken again
        pass


def test_another_process_is_refused_in_one_line(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],  # noqa: S603
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FwenvError, match=r"another fwenv run holds .*\.fwenv\.lock: wait"):
            with output_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with output_lock(tmp_path):  # the holder died: free again
        pass


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    p.wait()
    return p.pid


def test_stale_temps_of_dead_runs_go_live_ones_stay(tmp_path: Path) -> None:
    dead = tmp_path / f".pack.{_dead_pid()}.abc123.tmp"
    dead.mkdir()
    (dead / "half-written").write_text("x")
    live = make_temp(tmp_path, "pack", is_dir=True)  # this process: alive
    foreign = tmp_path / ".not-ours.tmp"  # no pid: not fwenv's naming, left alone
    foreign.write_text("x")
    clean_stale_temps(tmp_path)
    assert not dead.exists()
    assert live.is_dir() and foreign.exists()


def test_atomic_path_temp_carries_the_pid(tmp_path: Path) -> None:
    import os

    with atomic_path(tmp_path / "out.json") as tmp:
        assert f".out.json.{os.getpid()}." in tmp.name and tmp.name.endswith(".tmp")
        tmp.write_text("{}")
    assert (tmp_path / "out.json").read_text() == "{}"
