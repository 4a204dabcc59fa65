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
from .verify import open_tar

SCRIPT = Path(__file__).parent / "scripts" / "retag.sh"
COMPRESSORS = {".tar.gz": "gzip", ".tar.xz": "xz", ".tar.zst": "zstd"}


def retagged_members(archive: Path, ref: str) -> tuple[bytes, bytes]:
    """manifest.json and repositories of `archive` naming the image `ref` (repo:tag)."""
    repo, _, tag = ref.rpartition(":")
    with open_tar(archive) as tf:
        try:
            manifest = json.loads(tf.extractfile("./manifest.json").read())  # type: ignore[union-attr]
            repositories = json.loads(tf.extractfile("./repositories").read())  # type: ignore[union-attr]
        except (KeyError, AttributeError, ValueError):
            raise FwenvError(f"{archive.name} is not a one-image docker pack (manifest.json, "
                             "repositories): build it with guix.pack -f docker") from None
    if len(manifest) != 1 or len(repositories) != 1:
        raise FwenvError(f"{archive.name} holds {len(manifest)} images: a release has one")
    layer_id = next(iter(next(iter(repositories.values())).values()))
    manifest[0]["RepoTags"] = [ref]
    compact = {"separators": (",", ":"), "sort_keys": False}
    return (json.dumps(manifest, **compact).encode(),  # type: ignore[arg-type]
            json.dumps({repo: {tag: layer_id}}, **compact).encode())  # type: ignore[arg-type]


def retag_archive(runner: Runner, engine: Engine, builder: str, src: Path, dest: Path,
                  ref: str) -> str:
    """Write `dest`: the docker archive `src` named `ref`, made in `builder` (see module).
    Returns the tools that made its bytes ("tar (GNU tar) 1.35; xz (XZ Utils) 5.8.4"): a
    signer whose builder has other versions may get other bytes for the same image."""
    comp = next((c for ext, c in COMPRESSORS.items() if src.name.endswith(ext)), None)
    if comp is None:
        raise FwenvError(f"{src.name}: a release archive is .tar.gz, .tar.xz or .tar.zst")
    argv = ["sh", "/fwenv/retag.sh", comp, "/fwenv/in/archive", "/fwenv/work"]
    if runner.dry_run:
        engine.run(ContainerSpec(builder, argv, mounts=[
            Mount(str(SCRIPT), "/fwenv/retag.sh", read_only=True),
            Mount(str(src), "/fwenv/in/archive", read_only=True),
            Mount(f"{dest.parent}/.retag.PID.tmp", "/fwenv/work")]))
        return ""
    manifest, repositories = retagged_members(src, ref)
    work = make_temp(dest.parent.resolve(), "retag", is_dir=True)
    try:
        (work / "manifest.json").write_bytes(manifest)
        (work / "repositories").write_bytes(repositories)
        code, out = engine.run(ContainerSpec(builder, argv, mounts=[
            Mount(str(SCRIPT), "/fwenv/retag.sh", read_only=True),
            Mount(str(src.resolve()), "/fwenv/in/archive", read_only=True),
            Mount(str(work), "/fwenv/work")]))
        if code != 0:
            last = out.strip().splitlines()[-1] if out.strip() else f"exit {code}"
            raise FwenvError(f"naming the image archive {ref} failed: {last}")
        (work / "archive").chmod(0o644)
        (work / "archive").replace(dest)
        return "; ".join((work / "tools").read_text(encoding="utf-8").split("\n")).strip("; ")
    finally:
        shutil.rmtree(work, ignore_errors=True)
