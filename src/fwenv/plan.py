"""Running commands: exact argv lists, `--dry-run` printing, progress, timing and logs (rich).

Human output goes to stderr, so stdout stays for dry-run commands and `--json` results.
Every command and container a step runs is logged in full to output/logs/<step>.log (written
beside it, renamed into place when the step ends; an error names the log). Without a terminal a
heartbeat line names the running step and its last output line at least every `heartbeat` s.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rich.console import Console

from .errors import FwenvError
from .fsutil import make_temp, remove

HEARTBEAT_S = 60.0


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI cancel): unwinds like ^C, so the same cleanup runs; exit 143."""


def render(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """One shell-quoted line for an argv (what `--dry-run` prints)."""
    prefix = [f"{k}={v}" for k, v in (env or {}).items()]
    return shlex.join([*(["env", *prefix] if prefix else []), *argv])


def log_name(title: str) -> str:
    """A step title as a file name: `build qemu-q35 in img:1` → `build-qemu-q35-in-img-1`."""
    slug = re.sub(r"[^a-z0-9._]+", "-", title.lower()).strip("-.")
    return slug[:80].rstrip("-.") or "step"


class StepLog:
    """One step's output: a temp file in the log dir (0644, never world-writable), renamed to
    <name>.log when the step ends; the last line seen, for heartbeats."""

    def __init__(self, title: str, final: Path | None) -> None:
        self.title, self.final = title, final
        self.last = ""
        self._partial = ""
        self._file: IO[str] | None = None
        self._tmp: Path | None = None
        self.lock = threading.Lock()

    def write(self, text: str) -> None:
        with self.lock:
            if self._file is None and self.final is not None:
                self.final.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                self._tmp = make_temp(self.final.parent, self.final.name)
                self._file = open(self._tmp, "w", encoding="utf-8", errors="replace")
            if self._file is not None:
                self._file.write(text)
            *lines, self._partial = (self._partial + text).split("\n")
            done = [ln.strip() for ln in lines if ln.strip()]
            if done:
                self.last = done[-1]
            elif self._partial.strip():
                self.last = self._partial.strip()

    def close(self, keep: bool = True) -> Path | None:
        """Rename the log into place (keep=False: drop it); its path, or None."""
        with self.lock:
            if self._file is None or self._tmp is None or self.final is None:
                return None
            self._file.close()
            self._file = None
            if not keep:
                remove(self._tmp)
                with contextlib.suppress(OSError):  # and logs/ itself, when that leaves it empty
                    self.final.parent.rmdir()
                return None
            try:
                os.replace(self._tmp, self.final)
            except OSError:
                remove(self._tmp)
                return None
            return self.final


@dataclass
class Runner:
    """Executes steps, or only prints them when `dry_run` is set."""

    dry_run: bool = False
    verbose: bool = False
    console: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))
    printed: list[str] = field(default_factory=list)
    log_dir: Path | None = None  # output/logs; None: no logs (library use, unit tests)
    heartbeat: float = HEARTBEAT_S
    quiet_stdout: bool = False  # --json: dry-run commands go to stderr, stdout is the document
    logs: list[str] = field(default_factory=list)  # the logs this run wrote
    _open: list[StepLog] = field(default_factory=list, init=False, repr=False)
    _names: set[str] = field(default_factory=set, init=False, repr=False)

    def show(self, line: str) -> None:
        """Record and print a command line (stdout; stderr with --json) in dry-run mode."""
        self.printed.append(line)
        if self.dry_run:
            print(line, flush=True, file=sys.stderr if self.quiet_stdout else sys.stdout)

    def info(self, message: str) -> None:
        self.console.print(message, soft_wrap=True)  # a digest or ref is never cut mid-line

    def output(self, text: str) -> None:
        """Output of a command or container (any chunk of text): into the open step's log."""
        if self._open:
            self._open[-1].write(text)

    @contextmanager
    def capture(self, title: str) -> Iterator[Callable[[str], None]]:
        """Where a command's or container's output goes: the open step's log, else a log of
        its own named `title` (the engine streams container output here)."""
        if self._open or self.dry_run:
            yield self.output
        else:
            with self.logged(title) as log:
                yield log.write

    def _log_path(self, title: str) -> Path | None:
        if self.log_dir is None or self.dry_run:
            return None
        name = base = log_name(title)
        n = 1
        while name in self._names:  # the same step twice in a run: pack-2.log
            n += 1
            name = f"{base}-{n}"
        self._names.add(name)
        return self.log_dir / f"{name}.log"

    @contextmanager
    def logged(self, title: str) -> Iterator[StepLog]:
        """Log what runs in the block to output/logs/<title>.log, heartbeat without a
        terminal, and name the log in an error that leaves the block."""
        log = StepLog(title, self._log_path(title))
        self._open.append(log)
        stop = threading.Event()
        beat = None
        if not self.dry_run and not self.verbose and not self.console.is_terminal:
            beat = threading.Thread(target=self._beat, args=(log, stop), daemon=True)
            beat.start()
        try:
            yield log
        except FwenvError as e:
            path = self._finish(log, stop, beat)
            if path is None or "full log:" in str(e):
                raise
            raise FwenvError(f"{e} (full log: {path})") from None
        except Exception:
            self._finish(log, stop, beat)
            raise
        except BaseException:  # ^C, a CI cancel: nothing is left behind, a log neither
            self._finish(log, stop, beat, keep=False)
            raise
        self._finish(log, stop, beat)

    def _finish(self, log: StepLog, stop: threading.Event, beat: threading.Thread | None,
                keep: bool = True) -> Path | None:
        stop.set()
        if beat is not None:
            beat.join()
        self._open.remove(log)
        path = log.close(keep)
        if path is not None:
            self.logs.append(str(path))
        return path

    def _beat(self, log: StepLog, stop: threading.Event) -> None:
        start = time.monotonic()
        while not stop.wait(self.heartbeat):
            self.console.print(
                f"… still running ({time.monotonic() - start:.0f} s): {log.title} — last output: "
                f"{log.last[-160:] or '(none yet)'}", markup=False, highlight=False,
                soft_wrap=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """A long step: a spinner while it runs (a heartbeat without a terminal), then its
        duration; its output logged to output/logs/."""
        if self.dry_run:
            yield
            return
        start = time.monotonic()
        with self.logged(title):
            if self.verbose or not self.console.is_terminal:
                self.console.print(f"[bold]→[/] {title}", soft_wrap=True)
                yield
            else:
                with self.console.status(f"{title} …"):
                    yield
        self.console.print(f"[green]✓[/] {title} ({time.monotonic() - start:.1f} s)",
                           soft_wrap=True)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        what: str = "",
        fix: str = "",
    ) -> str:
        """Run argv (never through a shell); return its output. Fails with its last line."""
        argv = [str(a) for a in argv]
        self.show(render(argv, env))
        if self.dry_run:
            return ""
        with self.capture(what or Path(argv[0]).name):
            return self._run(argv, env, cwd, what, fix)

    def _run(self, argv: list[str], env: Mapping[str, str] | None,
             cwd: str | os.PathLike[str] | None, what: str, fix: str) -> str:
        full_env = {**os.environ, **(env or {})}
        tail: collections.deque[str] = collections.deque(maxlen=400)
        try:
            # Its own process group: on ^C we stop it and everything it started (debootstrap's
            # dpkg, a chroot's apt-get) before cleaning up what they were writing.
            proc = subprocess.Popen(
                argv, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", start_new_session=True,
            )
        except FileNotFoundError:
            raise FwenvError(f"{argv[0]} not found: {fix or 'install it (see README)'}") from None
        assert proc.stdout is not None
        self.output(f"$ {render(argv, env)}\n")
        try:
            for line in proc.stdout:
                tail.append(line.rstrip("\n"))
                self.output(line)
                if self.verbose:
                    self.console.print(line.rstrip("\n"), markup=False, highlight=False)
            code = proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        output = "\n".join(tail)
        if code != 0:
            self.output(f"# exit {code}\n")
            last = next((ln for ln in reversed(tail) if ln.strip()), "(no output)")
            raise FwenvError(
                f"{what or argv[0]} failed (exit {code}): {last.strip()}"
                + (f" — {fix}" if fix else "")
            )
        return output
