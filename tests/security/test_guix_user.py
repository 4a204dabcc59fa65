"""guix commands in builder containers run as the unprivileged client user in every daemon mode
(issue 10 item 8): manifest and channel code never runs as uid 0. Real engine, real daemon.

That user has its Guix profile directory in every mode: `guix time-machine` keeps its cache of
pinned Guixes there, and without it stopped at once ("mkdir: Permission denied") under the
default, unprivileged daemon, before fetching anything. Here it gets as far as fetching the
pinned channel (which fails: no internet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fwenv.engine import Mount
from fwenv.guix.daemon import CLIENT_UID, DAEMON_MODES, daemon_spec, guix_session
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine

# Guile code as a manifest would run it: its uid, and whether it can write where root can.
PROBE = ('(display (getuid)) (display " ") '
         '(display (access? "/etc/passwd" W_OK))')


@pytest.mark.integration
@pytest.mark.parametrize("mode", sorted(DAEMON_MODES))
def test_guix_code_runs_unprivileged_in_every_mode(engine, builder_image, mode):
    pin = Mount(str(Path(__file__).resolve().parents[2] / "guix"), "/fwenv/pin", read_only=True)
    with guix_session(engine, Runner(), daemon_spec(builder_image, mode, mounts=[pin])) as guix:
        _, out = guix.exec(["guix", "repl", "--", "/dev/stdin"], check=False)
        _, probe = guix.exec(["guile", "-c", PROBE])
        _, drv = guix.exec(["guix", "build", "-d", "hello"])  # and guix still works
        code, travel = guix.exec(["guix", "time-machine", "-C", "/fwenv/pin/channels.scm"],
                                 check=False)
    assert probe.strip() == f"{CLIENT_UID} #f", probe
    assert drv.strip().splitlines()[-1].endswith("-hello-2.12.2.drv"), drv
    assert code != 0 and "Permission denied" not in travel, travel
    assert "Updating channel 'guix' from Git repository" in travel, travel


def test_dry_run_shows_the_user():
    shown: list[str] = []
    engine = RecordingEngine(shown.append)
    runner = Runner(dry_run=True)
    with guix_session(engine, runner, daemon_spec("b:1")) as guix:
        guix.exec(["guix", "--version"])
    execs = [s for s in shown if " exec " in s]
    assert "-u root" in execs[0] and "useradd" in execs[0]
    assert "-u root" in execs[1] and execs[1].endswith("sh fwenv-guix")  # its profile dir
    assert "-u fwenv-guix" in execs[2] and execs[2].endswith("guix --version")
