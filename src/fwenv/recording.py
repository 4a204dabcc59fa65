"""A dry run's engine: Engine's interface, nothing runs.

Every call that would change something is recorded as the `docker` command it stands for
(`show`: Runner.show, which prints it in a dry run); lookups answer as an empty engine would.
Library code never asks which engine it has: it checks `runner.dry_run` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from .engine import ContainerSpec, Engine
from .plan import Runner, render


class RecordingEngine(Engine):
    """A dry run's engine: Engine's interface, nothing runs. Every call that would change
    something is recorded (`show`, which prints it in a dry run) as the `docker` command it
    stands for; lookups answer as an empty engine would (no images, no volumes)."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(None)
        self.show = show

    def _docker(self, *argv: str) -> None:
        self.show(render(["docker", *argv]))

    def image(self, ref: str) -> Any | None:
        return None

    def images_labelled(self, key: str, value: str) -> list[Any]:
        return []

    def image_tags(self, name: str) -> list[str]:
        return []

    def layers(self, ref: str) -> list[str]:
        return []

    def untag(self, ref: str) -> None:
        self._docker("rmi", "--no-prune", ref)

    def push(self, repo: str, tag: str) -> str:
        self._docker("push", f"{repo}:{tag}")
        return ""

    def pull(self, ref: str) -> tuple[str, list[str]]:
        self._docker("pull", ref)
        return "", []

    def import_tar(self, path: Path, changes: Sequence[str] = ()) -> str:
        self._docker("import", *(a for c in changes for a in ("--change", c)), str(path))
        return ""

    def load_tar(self, path: Path) -> list[Any]:
        self._docker("load", "-i", str(path))
        return []

    def save_image(self, ref: str, dest: Path) -> None:
        self._docker("save", "-o", str(dest), ref)

    def tag(self, image_id: str, ref: str) -> None:
        self._docker("tag", image_id, ref)

    def remove_image(self, ref: str, force: bool = True) -> None:
        self._docker("rmi", *(["-f"] if force else []), ref)

    def remove_unused(self, image_id: str) -> None:
        return None

    def run(self, spec: ContainerSpec, on_line: Callable[[str], None] | None = None) -> tuple[int, str]:
        self.show(render(spec.cli()))
        return 0, ""

    def stream(self, spec: ContainerSpec, out: BinaryIO, err: BinaryIO) -> int:
        self.show(render(spec.cli()))
        return 0

    def create(self, spec: ContainerSpec, name: str | None = None) -> Any:
        argv = spec.cli(detach=True)
        self.show(render([*argv[:2], *(["--name", name] if name else []), *argv[2:]]))
        return None

    @contextmanager
    def started(self, spec: ContainerSpec) -> Iterator[Any]:
        self.create(spec)
        yield None

    def remove_container(self, name: str) -> None:
        self._docker("rm", "-f", "-v", name)

    def exec(self, container: Any, argv: Sequence[str], *, env: dict[str, str],
             workdir: str | None = None, user: str | None = None,
             on_text: Callable[[str], None] | None = None) -> tuple[int, str]:
        self._docker("exec", *(["-u", user] if user else []), *(["-w", workdir] if workdir else []),
                     str(container), *argv)
        return 0, ""

    @staticmethod
    def running(container: Any) -> tuple[bool, str]:
        return True, ""

    @staticmethod
    def put_archive(container: Any, path: str, data: bytes) -> None:
        return None

    @staticmethod
    def get_archive(container: Any, path: str) -> Iterator[bytes]:
        yield from ()

    def volume_exists(self, name: str) -> bool:
        return False

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        self._docker("volume", "create", *(f"--label={k}={v}" for k, v in labels.items()), name)

    def volumes_labelled(self, key: str, value: str) -> list[str]:
        return []

    def remove_volume(self, name: str) -> bool:
        self._docker("volume", "rm", "-f", name)
        return True


def engine_for(runner: Runner) -> Engine:
    """The engine a run uses: connected on first use (bad input is refused first), or in a dry
    run a RecordingEngine (a dry run needs no engine)."""
    if runner.dry_run:
        return RecordingEngine(runner.show)
    engine = Engine.on_demand()
    engine.capture = runner.capture  # container output into output/logs/, heartbeats
    return engine
