"""What every task shares: config, runner, engine, one-line errors and --json output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

from invoke.exceptions import Exit

from fwenv.config import Config, load_config
from fwenv.errors import FwenvError
from fwenv.plan import Runner
from fwenv.recording import engine_for  # noqa: F401 (the tasks' engine)

COMMON_HELP = {
    "dry_run": "print the exact commands, change nothing",
    "json": "print the result as JSON on stdout (human output goes to stderr)",
    "verbose": "stream the output of Guix, Docker and builds",
}


def fwtask(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn FwenvError (and Ctrl-C) into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FwenvError as e:
            raise Exit(f"error: {e}", code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted: nothing was left half-written", code=130) from None

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
            runner.info(f"  {k}: {v}")
