"""What every task shares: config, runner, engine, one-line errors, --json output, the flags."""

from __future__ import annotations

import errno
import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import invoke
from invoke.exceptions import Exit

from fwenv.config import Config, load_config
from fwenv.errors import FwenvError
from fwenv.plan import Runner, Terminated
from fwenv.recording import engine_for  # noqa: F401 (the tasks' engine)

# The only short flags, the same in every task that has the option (no generated ones: Invoke
# would give `-v` to --version, `-j` to --json, `--` to --no-time-machine).
SHORT_FLAGS = {"verbose": "v", "jobs": "j"}


class FwTask(invoke.Task):  # type: ignore[type-arg]
    """An Invoke task with SHORT_FLAGS only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "auto_shortflags": False})

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        if name in SHORT_FLAGS:
            opts["names"] = [*opts["names"], SHORT_FLAGS[name]]
        return opts


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke.task for fwenv's tasks (FwTask: explicit short flags only)."""
    return invoke.task(*args, klass=FwTask, **kwargs)


_JSON = ContextVar("fwenv_json", default=False)  # this task was given --json

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
        as_json = bool(kwargs.get("json"))
        _JSON.set(as_json)
        try:
            return func(*args, **kwargs)
        except FwenvError as e:
            if debug:
                raise
            _json_error(as_json, str(e))
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
            _json_error(as_json, one_line(e))
            raise Exit(f"error: {one_line(e)}", code=1) from None

    return wrapper


def _json_error(as_json: bool, message: str) -> None:
    """With --json a failure is a JSON document too (the one line also goes to stderr)."""
    if as_json:
        json.dump({"ok": False, "error": message}, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        sys.stdout.flush()


def required(**options: str) -> None:
    """Options a task cannot run without (Invoke options, not positionals, so --help works)."""
    for name, value in options.items():
        if not value:
            raise FwenvError(f"--{name.replace('_', '-')} is required (invoke --help TASK)")


def context(dry_run: bool = False, verbose: bool = False) -> tuple[Config, Runner]:
    """The config and a runner that logs to output/logs/ (--json: stdout is the document's)."""
    cfg = load_config()
    return cfg, Runner(dry_run=dry_run, verbose=verbose, log_dir=cfg.output_dir / "logs",
                       quiet_stdout=_JSON.get())


def emit(result: dict[str, Any], as_json: bool, runner: Runner, next: str = "") -> None:
    """The end of a run: a short table and a `next:` line on stderr, or (--json) the same data
    as one JSON document on stdout (a dry run adds the commands it printed)."""
    data = {**result, **({"next": next} if next else {})}
    if runner.logs:
        data.setdefault("logs", runner.logs)
    if as_json:
        if runner.dry_run:
            data = {**data, "dry_run": True, "commands": runner.printed}
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
        sys.stdout.flush()
    elif not runner.dry_run:
        if runner.logs:
            result = {**result, "logs": f"{len(runner.logs)} in {os.path.dirname(runner.logs[0])}/"}
        for line in summary_table(result):
            runner.console.print(line, markup=False, highlight=False, soft_wrap=True)
        if next:
            runner.console.print(f"next: {next}", markup=False, highlight=False,
                                 soft_wrap=True)


def _cell(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def summary_table(result: dict[str, Any]) -> list[str]:
    """Two columns, `key  value`; a dict value gets a row per entry (`sums`: `sha256  name`)."""
    rows: list[tuple[str, str]] = []
    for key, value in result.items():
        if isinstance(value, dict) and value:
            for i, (name, v) in enumerate(value.items()):
                cell = f"{v}  {name}" if key == "sums" else f"{name}: {_cell(v)}"
                rows.append((key if i == 0 else "", cell))
        else:
            rows.append((key, _cell(value)))
    width = max((len(k) for k, _ in rows), default=0)
    return [f"  {k:{width}}  {v}" for k, v in rows]


def whole_number(flag: str, value: Any) -> int | None:
    """An integer option given as text (empty: not given); anything else is one line."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise FwenvError(f"--{flag} {value!r} is not a whole number: pass e.g. --{flag} 2") \
            from None
