"""Import a pack into the engine: `docker load` (docker format) or `docker import` (tarball).

Checks before tagging: the tarball's sha256 against its provenance; for docker packs every
layer's sha256 against the config's diff_ids and the loaded image ID against the config
digest (stable: Guix fixes the creation time); for tarball packs the imported layer's
diff_id against the sha256 of the decompressed tarball (`docker import` stamps the time,
so the image ID changes on every import; the layer digest does not).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import subprocess
import tarfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..config import Config, check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import CHUNK, output_lock, sha256_file, write_text_atomic
from ..guix.provenance import load_provenance, provenance_path
from ..plan import Runner


@dataclass
class ImportResult:
    image: str
    image_id: str
    layers: list[str] = field(default_factory=list)
    format: str = "docker"
    skipped: bool = False

    def summary(self) -> dict[str, Any]:
        return {"image": self.image, "image_id": self.image_id, "layers": self.layers,
                "format": self.format, "skipped": self.skipped}


def _damaged(tarball: Path, why: str) -> FwenvError:
    return FwenvError(f"pack {tarball.name} is damaged ({why}): rebuild it "
                      "(invoke guix.pack --force)")


def open_stream(tarball: Path) -> IO[bytes]:
    """The decompressed byte stream of a pack (zstd through the zstd program)."""
    if tarball.name.endswith(".zst"):
        try:
            proc = subprocess.Popen(["zstd", "-dc", str(tarball)], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise FwenvError("zstd not found: apt-get install zstd") from None
        assert proc.stdout is not None
        return proc.stdout
    import gzip

    with open(tarball, "rb") as f:
        magic = f.read(6)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(tarball, "rb")  # type: ignore[return-value]
    if magic == b"\xfd7zXZ\x00":
        return lzma.open(tarball, "rb")
    return open(tarball, "rb")


def docker_pack_digests(tarball: Path) -> tuple[str, list[str], list[str]]:
    """(expected image ID, layer diff_ids, the tags the archive carries) of a docker pack,
    every layer re-hashed."""
    configs: dict[str, bytes] = {}
    layer_sha: dict[str, str] = {}
    manifest: Any = None
    try:
        with open_stream(tarball) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for m in tar:
                if not m.isfile():
                    continue
                f = tar.extractfile(m)
                assert f is not None
                name = m.name.removeprefix("./")
                if name.endswith(".json"):
                    data = f.read()
                    if name == "manifest.json":
                        manifest = json.loads(data)
                    else:
                        configs[name] = data
                elif name.endswith(".tar"):
                    h = hashlib.sha256()
                    while chunk := f.read(CHUNK):
                        h.update(chunk)
                    layer_sha[name] = "sha256:" + h.hexdigest()
    except (tarfile.TarError, OSError, EOFError, ValueError, lzma.LZMAError) as e:
        raise _damaged(tarball, str(e) or type(e).__name__) from None
    try:
        entry = manifest[0]
        config_bytes = configs[entry["Config"]]
        config = json.loads(config_bytes)
        diff_ids = list(config["rootfs"]["diff_ids"])
        actual = [layer_sha[name] for name in entry["Layers"]]
        repo_tags = [str(t) for t in entry.get("RepoTags") or []]
    except (TypeError, KeyError, IndexError, ValueError):
        raise _damaged(tarball, "no valid manifest.json/config") from None
    if actual != diff_ids:
        raise _damaged(tarball, "a layer's sha256 does not match the config's diff_ids")
    return "sha256:" + hashlib.sha256(config_bytes).hexdigest(), diff_ids, repo_tags


def tarball_layer_digest(tarball: Path) -> str:
    """sha256 of the decompressed tarball = the diff_id `docker import` gives its layer."""
    h = hashlib.sha256()
    try:
        with open_stream(tarball) as raw:
            while chunk := raw.read(CHUNK):
                h.update(chunk)
        with open_stream(tarball) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for _ in tar:
                pass
    except (tarfile.TarError, OSError, EOFError, ValueError, lzma.LZMAError) as e:
        raise _damaged(tarball, str(e) or type(e).__name__) from None
    return "sha256:" + h.hexdigest()


def verify_pack(tarball: Path, provenance: Path | None = None) -> dict[str, Any] | None:
    """Check the tarball's sha256 against its provenance (found beside it if not given)."""
    tarball = Path(tarball)
    if not tarball.is_file():
        raise FwenvError(f"pack {tarball} not found: run invoke guix.pack first")
    prov = Path(provenance) if provenance else provenance_path(tarball)
    rec = load_provenance(prov)
    if rec is None:
        if provenance is not None:
            raise FwenvError(f"provenance {prov} missing or invalid: rebuild the pack")
        return None
    if rec["tarball"]["sha256"] != sha256_file(tarball):
        raise FwenvError(f"{tarball.name} does not match its provenance's sha256: it was "
                         "changed or damaged; rebuild it (invoke guix.pack --force)")
    return rec


def import_pack(runner: Runner, engine: Engine, tarball: Path, ref: str, *,
                provenance: Path | None = None, pack_format: str | None = None,
                force: bool = False) -> ImportResult:
    """Load/import `tarball` and tag it `ref`, after verifying it. Idempotent."""
    check_image_ref(ref)
    tarball = Path(tarball)
    rec = verify_pack(tarball, provenance) if not runner.dry_run or tarball.is_file() else None
    fmt = pack_format or (rec or {}).get("format") or _guess_format(tarball)
    if runner.dry_run:  # what the engine would be asked (the id is known only then)
        _ = engine.load_tar(tarball) if fmt == "docker" else engine.import_tar(tarball)
        engine.tag("IMAGE_ID", ref)
        return ImportResult(ref, "", [], fmt, False)
    with runner.step(f"verify {tarball.name}"):
        if fmt == "docker":
            expected_id, layers, pack_tags = docker_pack_digests(tarball)
        else:
            expected_id, layers, pack_tags = "", [tarball_layer_digest(tarball)], []
    current = engine.image(ref)
    if current is not None and not force:
        if (fmt == "docker" and current.id == expected_id) or (
                fmt == "tarball" and engine.layers(current.id) == layers):
            runner.info(f"[green]✓[/] import: skipped ({ref} already holds this pack; "
                        "--force re-imports)")
            result = ImportResult(ref, current.id, layers, fmt, True)
            _record_image(tarball, provenance, rec, result)
            return result
    # `docker load` (re)points the tags the archive carries: note where each pointed before
    before = {t: _image_id(engine, t) for t in pack_tags if t != ref}
    with runner.step(f"docker {'load' if fmt == 'docker' else 'import'} {tarball.name}"):
        if fmt == "docker":
            images = engine.load_tar(tarball)
            image_id = images[0].id if images else ""
        else:
            image_id = engine.import_tar(tarball)
    try:
        if fmt == "docker" and image_id != expected_id:
            raise FwenvError(f"docker load gave image {image_id[:19]}, not the pack's config "
                             f"digest {expected_id[:19]}: the engine changed the image")
        if engine.layers(image_id) != layers:
            raise FwenvError(f"the loaded layers of {tarball.name} differ from the tarball's "
                             "digests: rebuild the pack (invoke guix.pack --force)")
        engine.tag(image_id, ref)
    except FwenvError:
        if fmt == "tarball" or current is None or current.id != image_id:
            engine.remove_image(image_id)
        raise
    finally:
        _restore_tags(engine, before)
    result = ImportResult(ref, image_id, layers, fmt, False)
    _record_image(tarball, provenance, rec, result)
    return result


def _image_id(engine: Engine, ref: str) -> str | None:
    img = engine.image(ref)
    return str(img.id) if img is not None else None


def _restore_tags(engine: Engine, before: dict[str, str | None]) -> None:
    """Undo what the load did to the archive's own tags (never any other tag): one it created
    is removed, one it moved away from another image points there again."""
    for tag, old_id in before.items():
        if old_id is None:
            engine.untag(tag)
        elif _image_id(engine, tag) != old_id:
            engine.tag(old_id, tag)


def _record_image(tarball: Path, provenance: Path | None, rec: dict[str, Any] | None,
                  result: ImportResult) -> None:
    """`<name>.image.json` beside the provenance: which image holds this pack, so a firmware
    build can link its ROM to the pack's provenance by image id (docker load keeps no labels)."""
    if rec is None:
        return
    prov = Path(provenance) if provenance else provenance_path(tarball)
    doc = {"image": result.image, "image_id": result.image_id, "layers": result.layers,
           "format": result.format, "provenance": prov.name}
    write_text_atomic(prov.with_name(prov.name.removesuffix(".provenance.json") + ".image.json"),
                      json.dumps(doc, indent=2, sort_keys=True) + "\n")


def _guess_format(tarball: Path) -> str:
    try:
        with open_stream(tarball) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for m in tar:
                if m.name.removeprefix("./") == "manifest.json":
                    return "docker"
    except (tarfile.TarError, OSError, EOFError):
        pass
    return "tarball"



def import_env(cfg: Config, runner: Runner, engine: Engine, tarball: Path | None, *,
               tag: str | None = None, force: bool = False) -> ImportResult:
    """`invoke env.import`: the pack (default output/coreboot-build-env-docker.tar.gz) as
    <env_image>:<tag or env_tag>, under the output dir's lock."""
    tarball = tarball or cfg.output_dir / "coreboot-build-env-docker.tar.gz"
    with nullcontext() if runner.dry_run else output_lock(cfg.output_dir):
        return import_pack(runner, engine, tarball, f"{cfg.env_image}:{tag or cfg.env_tag}",
                           force=force)
