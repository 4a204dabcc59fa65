"""What every task shares: config, runner, engine, one-line errors and --json output."""

from __future__ import annotations

import errno
import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from invoke.exceptions import Exit

from fwenv.config import Config, load_config
from fwenv.errors import FwenvError
from fwenv.plan import Runner, Terminated
from fwenv.recording import engine_for  # noqa: F401 (the tasks' engine)

COMMON_HELP = {
    "dry_run": "print the exact commands, change nothing",
    "json": "print the result as JSON on stdout (human output goes to stderr)",
    "verbose": "stream the output of Guix, Docker and builds",
}


# What to do about an OSError that reached a task, by errno.
_OS_FIX = {
    errno.EACCES: "permission denied: run as a user who may use it, or fix its permissions",
    errno.EPERM: "operation not permitted: run as root (scripts/setup CMD does) or fix permissions",
    errno.EROFS: "read-only file system: choose a writable place (FWENV_OUTPUT_DIR)",
    errno.EISDIR: "is a directory: pass a file",
    errno.ENOTDIR: "not a directory: check the path",
    errno.ENOENT: "not found: check the path",
    errno.ENOSPC: "disk full: free space and retry",
}


def one_line(e: OSError) -> str:
    where = e.filename if e.filename is not None else ""
    fix = _OS_FIX.get(e.errno or 0, f"{e.strerror or e}: check the path and retry")
    return f"{where}: {fix}" if where else fix


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


def fwtask(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every failure into one line on stderr and a non-zero exit (FWENV_DEBUG=1: traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = os.environ.get("FWENV_DEBUG") == "1"
        signal.signal(signal.SIGTERM, _terminate)  # a CI cancel cleans up as ^C does
        try:
            return func(*args, **kwargs)
        except FwenvError as e:
            if debug:
                raise
            raise Exit(f"error: {e}", code=1) from None
        except KeyboardInterrupt as e:
            code = 143 if isinstance(e, Terminated) else 130
            said = str(e) or "nothing was left half-written"
            raise Exit(f"{'terminated' if code == 143 else 'interrupted'}: {said}",
                       code=code) from None
        except BrokenPipeError:
            # the reader went away (`invoke firmware.list --json | head`): stop quietly, as
            # a program killed by SIGPIPE does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise Exit(code=141) from None
        except OSError as e:
            if debug:
                raise
            raise Exit(f"error: {one_line(e)}", code=1) from None

    return wrapper


def required(**options: str) -> None:
    """Options a task cannot run without (Invoke options, not positionals, so --help works)."""
    for name, value in options.items():
        if not value:
            raise FwenvError(f"--{name.replace('_', '-')} is required (invoke --help TASK)")


def context(dry_run: bool = False, verbose: bool = False) -> tuple[Config, Runner]:
    return load_config(), Runner(dry_run=dry_run, verbose=verbose)


def emit(result: dict[str, Any], as_json: bool, runner: Runner) -> None:
    if as_json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    elif not runner.dry_run:
        for k, v in result.items():
            if isinstance(v, dict) and v:  # e.g. sums: one `sha256  name` line each
                runner.info(f"  {k}:")
                for name, value in v.items():
                    runner.info(f"    {value}  {name}" if k == "sums" else f"    {name}: {value}")
            elif isinstance(v, list) and v:
                runner.info(f"  {k}: {', '.join(map(str, v))}")
            else:
                runner.info(f"  {k}: {v}")


def whole_number(flag: str, value: Any) -> int | None:
    """An integer option given as text (empty: not given); anything else is one line."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise FwenvError(f"--{flag} {value!r} is not a whole number: pass e.g. --{flag} 2") \
            from None
