"""`ContainerSpec` describes a container once; it yields both the engine call (fwenv.engine)
and the equivalent `docker run` line that `--dry-run` prints. No docker import here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Mount:
    source: str  # host path (bind) or volume name (volume)
    target: str
    read_only: bool = False
    kind: Literal["bind", "volume"] = "bind"

    def cli(self) -> str:
        ro = ",readonly" if self.read_only else ""
        return f"type={self.kind},source={self.source},target={self.target}{ro}"


@dataclass
class ContainerSpec:
    """Everything about a container we start. Defaults are the hermetic, least-privilege ones."""

    image: str
    command: Sequence[str] = ()
    mounts: Sequence[Mount] = ()
    network: str = "none"
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    security_opt: Sequence[str] = ()
    cap_add: Sequence[str] = ()
    entrypoint: Sequence[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    init: bool = True  # reap zombies, forward signals

    def cli(self, detach: bool = False, program: str = "docker") -> list[str]:
        """The equivalent `docker run` (or `podman run`) argv (for `--dry-run` and messages)."""
        a = [program, "run", "-d" if detach else "--rm", f"--network={self.network}"]
        if self.init:
            a.append("--init")
        for m in self.mounts:
            a += ["--mount", m.cli()]
        if self.user:
            a += ["--user", self.user]
        for k, v in self.env.items():
            a += ["-e", f"{k}={v}"]
        if self.workdir:
            a += ["-w", self.workdir]
        for s in self.security_opt:
            a += ["--security-opt", s]
        for c in self.cap_add:
            a += ["--cap-add", c]
        args = list(self.command)
        if self.entrypoint is not None:
            # The CLI's --entrypoint takes one program; its arguments go before the command.
            a += ["--entrypoint", self.entrypoint[0]]
            args = [*self.entrypoint[1:], *args]
        return [*a, self.image, *args]
