"""`env.shell`: an interactive shell in the environment image, no network, source at /src."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Config, check_image_ref
from ..engine import run_interactive
from ..errors import FwenvError
from ..plan import Runner, render

SRC_IN_CONTAINER = "/src"


def caller_ids() -> tuple[int, int]:
    """The uid:gid of the person running fwenv: under sudo, the one who ran sudo."""
    if os.geteuid() == 0 and os.environ.get("SUDO_UID", "").isdigit():
        return int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", "") or
                                                os.environ["SUDO_UID"])
    return os.getuid(), os.getgid()


def shell_argv(image: str, src: Path | None, shell: str = "/bin/sh",
               command: list[str] | None = None, tty: bool = True,
               user: bool = False) -> list[str]:
    """`docker run` for a shell in the environment: no network, source at /src; with `user`,
    as the caller's uid:gid (files made in /src belong to them)."""
    check_image_ref(image)
    argv = ["docker", "run", "--rm", "--network=none", "-e", "TZ=UTC", "-e", "LC_ALL=C",
            "-e", "SOURCE_DATE_EPOCH=0"]
    if user:
        uid, gid = caller_ids()
        argv += ["--user", f"{uid}:{gid}", "-e", "HOME=/tmp"]
    if tty:
        argv += ["-it"]
    if src is not None:
        if not Path(src).is_dir():
            raise FwenvError(f"source dir {src} not found: pass --src DIR")
        argv += ["--mount", f"type=bind,source={Path(src).resolve()},target={SRC_IN_CONTAINER}",
                 "-w", SRC_IN_CONTAINER]
    argv += ["--entrypoint", shell, image, *(["-c", " ".join(command)] if command else [])]
    return argv


def open_shell(cfg: Config, runner: Runner, image: str | None, src: Path | None,
               shell: str = "/bin/sh", user: bool = False) -> int:
    """`invoke env.shell`: an interactive shell in the environment; its exit code."""
    argv = shell_argv(image or f"{cfg.env_image}:{cfg.env_tag}", src, shell, user=user)
    runner.show(render(argv))
    return 0 if runner.dry_run else run_interactive(argv)
