"""Files: hashing, atomic outputs (temp path then rename), an output-dir lock, and the scripts
that run inside containers (package data)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib.resources
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import FwenvError

CHUNK = 1 << 20


def script(package: str, name: str) -> str:
    """The script `name` in `package`'s scripts/ dir, without its leading comment header
    (#!, # and ;; lines): the text a container runs (sh -c, guile -c, guix repl)."""
    text = (importlib.resources.files(package) / "scripts" / name).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith(("#", ";;")):
        lines.pop(0)
    return "".join(lines).rstrip("\n")


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _disk_full(path: Path, e: OSError) -> FwenvError:
    return FwenvError(f"disk full while writing {path}: free space on {path.parent} and retry")


@contextlib.contextmanager
def atomic_path(final: Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `final`; rename it into place only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.fchmod(fd, 0o644)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if directory and final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as e:
        remove(tmp)
        if e.errno == errno.ENOSPC:
            raise _disk_full(final, e) from None
        raise
    except BaseException:
        remove(tmp)
        raise


def write_text_atomic(final: Path, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o644)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale_temps(directory: Path) -> None:
    """Remove `.name.*.tmp` leftovers of a killed run (only ours: the lock is held)."""
    if directory.is_dir():
        for p in directory.glob(".*.tmp"):
            remove(p)


@contextlib.contextmanager
def output_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on an output dir; a second run fails at once with a clear line."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".fwenv.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FwenvError(
                f"another fwenv run holds {path}: wait for it to finish (or kill it) and retry"
            ) from None
        try:
            clean_stale_temps(directory)
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def free_bytes(path: Path) -> int:
    p = Path(path)
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free
