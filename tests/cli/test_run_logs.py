"""Runner: every command's full output in output/logs/<step>.log (atomic, 0644), errors name
the log, a heartbeat without a terminal, the end-of-run table with a `next:` line. Real
processes (sh), a real engine only in the container test."""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path

import pytest
from rich.console import Console

from fwenv.errors import FwenvError
from fwenv.plan import Runner

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from fwtasks.common import emit  # noqa: E402

sys.path.remove(str(ROOT))


def _runner(tmp_path: Path, *, terminal: bool = False, heartbeat: float = 60.0) -> tuple[Runner, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=200, highlight=False)
    return Runner(console=console, log_dir=tmp_path / "logs", heartbeat=heartbeat), out


def test_a_step_logs_all_its_output_and_its_error_names_the_log(tmp_path: Path) -> None:
    runner, _ = _runner(tmp_path)
    script = "for i in $(seq 1 1000); do echo line $i; done; echo broken >&2; exit 3"
    with pytest.raises(FwenvError) as e, runner.step("make board X/Y"):
        runner.run(["sh", "-c", script], what="make")
    log = tmp_path / "logs" / "make-board-x-y.log"
    assert f"(full log: {log})" in str(e.value)
    text = log.read_text()
    assert "line 1\n" in text and "line 1000\n" in text and "broken" in text  # in full
    assert stat.S_IMODE(log.stat().st_mode) == 0o644
    assert [p.name for p in log.parent.iterdir()] == [log.name]  # no temp left


def test_a_command_outside_a_step_has_a_log_of_its_own(tmp_path: Path) -> None:
    runner, _ = _runner(tmp_path)
    runner.run(["sh", "-c", "echo hello"], what="git rev-parse")
    runner.run(["sh", "-c", "echo again"], what="git rev-parse")
    logs = tmp_path / "logs"
    assert "hello" in (logs / "git-rev-parse.log").read_text()
    assert "again" in (logs / "git-rev-parse-2.log").read_text()  # never overwritten in a run
    assert runner.logs == [str(logs / "git-rev-parse.log"), str(logs / "git-rev-parse-2.log")]


def test_a_dry_run_writes_no_log(tmp_path: Path) -> None:
    runner, _ = _runner(tmp_path)
    runner.dry_run = True
    with runner.step("guix pack"):
        runner.run(["sh", "-c", "echo never"])
    assert not (tmp_path / "logs").exists()


def test_without_a_terminal_a_heartbeat_names_the_step_and_its_last_line(tmp_path: Path) -> None:
    runner, out = _runner(tmp_path, heartbeat=0.05)
    with runner.step("build qemu-q35"):
        runner.run(["sh", "-c", "echo compiling romstage.c; sleep 0.3; echo done"])
    beats = [ln for ln in out.getvalue().splitlines() if "still running" in ln]
    assert beats, out.getvalue()
    assert "build qemu-q35" in beats[0] and "compiling romstage.c" in beats[0], beats


def test_on_a_terminal_there_is_no_heartbeat_line(tmp_path: Path) -> None:
    runner, out = _runner(tmp_path, terminal=True, heartbeat=0.05)
    with runner.step("build qemu-q35"):
        runner.run(["sh", "-c", "echo compiling; sleep 0.5"])
    assert "still running" not in out.getvalue()


def test_the_summary_is_a_table_with_a_next_line(tmp_path: Path, capsys) -> None:
    runner, out = _runner(tmp_path)
    result = {"target": "qemu-q35", "rom": "output/firmware/qemu-q35/coreboot.rom",
              "sums": {"coreboot.rom": "ab" * 32}, "boot": {"passed": True}, "warnings": []}
    emit(result, False, runner, next="invoke firmware.boot --target qemu-q35")
    lines = out.getvalue().splitlines()
    assert lines[-1] == "next: invoke firmware.boot --target qemu-q35"
    assert "{'" not in out.getvalue()  # not a Python dict
    assert lines[0].split() == ["target", "qemu-q35"]
    assert lines[2].split() == ["sums", "ab" * 32, "coreboot.rom"]
    assert lines[1].index("output/") == lines[0].index("qemu-q35")  # one value column
    assert capsys.readouterr().out == ""  # human output is stderr's
    emit(result, True, runner, next="invoke firmware.boot --target qemu-q35")
    assert json.loads(capsys.readouterr().out) == {**result,
                                                   "next": "invoke firmware.boot --target qemu-q35"}


@pytest.mark.integration
def test_container_output_goes_to_the_step_log(tmp_path: Path, builder_image: str) -> None:
    """The engine streams a container's output into the open step's log (real engine; the
    session's builder image, which every engine run builds, has sh and seq)."""
    from fwenv.engine import ContainerSpec
    from fwenv.recording import engine_for

    runner, _ = _runner(tmp_path)
    engine = engine_for(runner)
    image = builder_image
    spec = ContainerSpec(image=image, command=["sh", "-c", "seq 1 500; echo make: *** [all] Error 2; exit 2"],
                         network="none", entrypoint=[])
    with pytest.raises(FwenvError) as e, runner.step("make in container"):
        code, _ = engine.run(spec)
        raise FwenvError(f"make failed (exit {code})")
    log = tmp_path / "logs" / "make-in-container.log"
    assert f"full log: {log}" in str(e.value)
    text = log.read_text()
    assert "\n1\n" in text and "500" in text and "Error 2" in text
    # and outside a step, a docker run has a log of its own
    engine.run(ContainerSpec(image=image, command=["echo", "alone"], network="none", entrypoint=[]))
    from fwenv.plan import log_name

    assert "alone" in (tmp_path / "logs" / f"{log_name(f'docker run {image}')}.log").read_text()


def test_an_interrupted_step_leaves_no_log(tmp_path: Path) -> None:
    """^C promises nothing half-written: the partial log goes too (an error keeps it)."""
    runner, _ = _runner(tmp_path)
    with pytest.raises(KeyboardInterrupt), runner.step("guix pack"):
        runner.run(["sh", "-c", "echo started"])
        raise KeyboardInterrupt
    assert not (tmp_path / "logs").exists()
