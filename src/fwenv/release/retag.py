"""The released name inside the image archive: `docker load` gives `<env_image>:<version>`.

Guix 1.5's `guix pack -f docker` always names the image `<profile>:latest` (`--image-tag` sets
only the repository). The release archive is the verified pack with its manifest.json and
repositories replaced (scripts/retag.sh), made in the pinned builder image on --network=none:
the same input gives the same bytes on every signer's machine, and the image ID is unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..engine import ContainerSpec, Engine, Mount
from ..errors import FwenvError
from ..fsutil import make_temp
from ..plan import Runner
from .verify import open_tar, tar_member

SCRIPT = Path(__file__).parent / "scripts" / "retag.sh"


def retagged_members(archive: Path, ref: str) -> tuple[bytes, bytes]:
    """manifest.json and repositories of `archive` naming the image `ref` (repo:tag)."""
    repo, _, tag = ref.rpartition(":")
    with open_tar(archive) as tf:
        try:
            manifest = json.load(tar_member(tf, "manifest.json"))
            repositories = json.load(tar_member(tf, "repositories"))
        except (KeyError, ValueError):
            raise FwenvError(f"{archive.name} is not a one-image docker pack (manifest.json, "
                             "repositories): build it with guix.pack -f docker") from None
    if len(manifest) != 1 or len(repositories) != 1:
        raise FwenvError(f"{archive.name} holds {len(manifest)} images: a release has one")
    layer_id = next(iter(next(iter(repositories.values())).values()))
    manifest[0]["RepoTags"] = [ref]
    compact = {"separators": (",", ":"), "sort_keys": False}
    return (json.dumps(manifest, **compact).encode(),  # type: ignore[arg-type]
            json.dumps({repo: {tag: layer_id}}, **compact).encode())  # type: ignore[arg-type]


def retag_archive(runner: Runner, engine: Engine, builder: str, compressor: str, src: Path,
                  dest: Path, ref: str) -> str:
    """Write `dest`: the docker archive `src` (compressed with `compressor`, the pack's) named
    `ref`, made in `builder` (see module). Returns the tools that made its bytes ("tar (GNU
    tar) 1.35; xz (XZ Utils) 5.8.4"): a signer whose builder has other versions may get other
    bytes for the same image."""
    work = dest.parent / ".retag.PID.tmp"  # a dry run's placeholder
    if not runner.dry_run:
        manifest, repositories = retagged_members(src, ref)
        work = make_temp(dest.parent.resolve(), "retag", is_dir=True)
        (work / "manifest.json").write_bytes(manifest)
        (work / "repositories").write_bytes(repositories)
    try:
        code, out = engine.run(ContainerSpec(
            builder, ["sh", "/fwenv/retag.sh", compressor, "/fwenv/in/archive", "/fwenv/work"],
            mounts=[Mount(str(SCRIPT), "/fwenv/retag.sh", read_only=True),
                    Mount(str(src.resolve()), "/fwenv/in/archive", read_only=True),
                    Mount(str(work), "/fwenv/work")]))
        if runner.dry_run:
            return ""
        if code != 0:
            last = out.strip().splitlines()[-1] if out.strip() else f"exit {code}"
            raise FwenvError(f"naming the image archive {ref} failed: {last}")
        (work / "archive").chmod(0o644)
        (work / "archive").replace(dest)
        return "; ".join((work / "tools").read_text(encoding="utf-8").split("\n")).strip("; ")
    finally:
        if not runner.dry_run:
            shutil.rmtree(work, ignore_errors=True)
