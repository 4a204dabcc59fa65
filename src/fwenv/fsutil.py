"""Files: hashing, atomic outputs (temp path then rename), an output-dir lock, and the scripts
that run inside containers (package data)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib.resources
import os
import re
import shutil
import stat
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


# Temporaries are `.<name>.<pid>.<random>.tmp`: the pid tells a dead run's leftovers from a live one's.
_TEMP_PID = re.compile(r"\.(\d+)\.[^.]+\.tmp$")


def make_temp(directory: Path, name: str, *, is_dir: bool = False) -> Path:
    """A new temporary file (0644) or directory (0700) in `directory`, named after this process."""
    prefix, suffix = f".{name}.{os.getpid()}.", ".tmp"
    if is_dir:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=directory))
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    os.fchmod(fd, 0o644)
    os.close(fd)
    return Path(path)


@contextlib.contextmanager
def atomic_path(final: Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `final`; rename it into place only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp(final.parent, final.name, is_dir=directory)
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(directory: Path) -> None:
    """Remove the `.name.<pid>.*.tmp` leftovers of runs that are dead; a live run's are kept."""
    if directory.is_dir():
        for p in directory.glob(".*.tmp"):
            m = _TEMP_PID.search(p.name)
            if m and not _alive(int(m.group(1))):
                remove(p)


# Output dirs this process holds, with their nesting depth: env.build holds output/ and calls
# guix.base, which takes the same lock; flock on a second descriptor would refuse our own run.
_held: dict[Path, int] = {}


@contextlib.contextmanager
def output_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on an output dir; another run fails at once with a clear line.

    Re-entrant within a process: a step nested in another under the same lock just proceeds."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path = directory / ".fwenv.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FwenvError(
                f"another fwenv run holds {path}: wait for it to finish (or kill it) and retry"
            ) from None
        _held[key] = 1
        try:
            clean_stale_temps(directory)
            yield
        finally:
            del _held[key]
            fcntl.flock(f, fcntl.LOCK_UN)


def is_regular(path: Path) -> bool:
    """A regular file itself, not a symlink to one (lstat)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def file_in(directory: Path, name: object) -> Path:
    """`directory/name` where `name` (read from a file, so untrusted) is one plain file name:
    no '/', not '.', '..' or empty. ValueError otherwise."""
    if not isinstance(name, str) or not name or "/" in name or "\0" in name \
            or name in (".", ".."):
        raise ValueError("not a file")
    return directory / name


def inside(root: Path, path: Path) -> bool:
    """Whether `path`'s directory, symlinks resolved, is `root` or below it (the last component
    is the caller's to open without following)."""
    return Path(path).parent.resolve().is_relative_to(Path(root).resolve())


def write_inside(root: Path, path: Path, text: str, mode: int) -> None:
    """Write `text` to `path` under `root` (a chroot, say) with `mode`, never through a symlink:
    not at the last component (O_NOFOLLOW), not in a directory leading outside `root`."""
    if not inside(root, path):
        raise FwenvError(f"{path} leads outside {root} (a symlink): refusing to write it")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise FwenvError(f"{path} is a symlink: refusing to write through it") from None
        raise
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, mode)
        f.write(text)


def take_regular_file(src: Path, dest: Path, mode: int = 0o644) -> str:
    """Move the regular file `src` to `dest` (same filesystem) with `mode`, owned by us; return
    its sha256. Refuses (ValueError) a symlink or anything but a regular file: opened with
    O_NOFOLLOW, checked, chowned, chmodded and hashed through that one descriptor."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(f"{src.name} is a symlink, not a regular file") from None
        raise
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{src.name} is not a regular file")
        os.fchown(fd, os.geteuid(), os.getegid())
        os.fchmod(fd, mode)
        h = hashlib.sha256()
        while chunk := f.read(CHUNK):
            h.update(chunk)
        os.replace(src, dest)
    return h.hexdigest()


def free_bytes(path: Path) -> int:
    p = Path(path)
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free
