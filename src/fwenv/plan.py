"""Running commands: exact argv lists, `--dry-run` printing, progress and timing (rich).

Human output goes to stderr, so stdout stays for dry-run commands and `--json` results.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console

from .errors import FwenvError


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI cancel): unwinds like ^C, so the same cleanup runs; exit 143."""


def render(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """One shell-quoted line for an argv (what `--dry-run` prints)."""
    prefix = [f"{k}={v}" for k, v in (env or {}).items()]
    return shlex.join([*(["env", *prefix] if prefix else []), *argv])


@dataclass
class Runner:
    """Executes steps, or only prints them when `dry_run` is set."""

    dry_run: bool = False
    verbose: bool = False
    console: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))
    printed: list[str] = field(default_factory=list)

    def show(self, line: str) -> None:
        """Record and print a command line (stdout) in dry-run mode."""
        self.printed.append(line)
        if self.dry_run:
            print(line, flush=True)

    def info(self, message: str) -> None:
        self.console.print(message, soft_wrap=True)  # a digest or ref is never cut mid-line

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """A long step: a spinner while it runs, then its duration."""
        if self.dry_run:
            yield
            return
        start = time.monotonic()
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
        try:
            for line in proc.stdout:
                tail.append(line.rstrip("\n"))
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
            last = next((ln for ln in reversed(tail) if ln.strip()), "(no output)")
            raise FwenvError(
                f"{what or argv[0]} failed (exit {code}): {last.strip()}"
                + (f" — {fix}" if fix else "")
            )
        return output
