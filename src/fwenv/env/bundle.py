"""`env.build --bundle FILE`: the air-gapped rebuild from a `release.bundle` archive.

Check every member against the bundle's SHA256SUMS (nothing missing, nothing extra), unpack it
to output/bundles/<name>/, `docker load` its builder image, import its signed store archive
into a fresh store volume (the archive's key authorized first, in that store's builder only),
then pack again with --no-substitutes: the builder runs on --network=none. A bundle of a
time-machine pack carries the pinned Guix's profile and the name of time-machine's cache entry
for it; the entry is put back in the fresh store's /var/guix (where Guix 1.5 keeps it), so
`guix time-machine` takes that profile instead of fetching Guix. The rebuild must give the
bundle's derivation; env.build compares the pack with its sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import uuid
from pathlib import Path
from typing import Any

from ..engine import Engine, Mount
from ..errors import FwenvError
from ..fsutil import atomic_path, remove, script, sha256_file
from ..guix.daemon import CLIENT_USER, daemon_spec, guix_session
from ..guix.options import PackOptions
from ..guix.pack import STORE_LABEL, STORE_ROLE
from ..plan import Runner

_IMPORT = script("fwenv.guix", "bundle-import.sh")
IN_BUNDLE = "/fwenv/bundle"
_CACHE_KEY = re.compile(r"[0-9a-z]{52}")  # time-machine's: base32 of a sha256 of the commits
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SOURCE_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]*")  # e.g. coreboot_25.09+dfsg-1.dsc
_STORE_ITEM = re.compile(r"/gnu/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+")


def check_pinned_guix(pinned: Any, shown: str) -> dict[str, str]:
    """A time-machine cache entry's name and the store profile it links to, both checked
    before they reach a path: the entry name is a file name, the profile a store item."""
    if (not isinstance(pinned, dict) or not _CACHE_KEY.fullmatch(str(pinned.get("key")))
            or not _STORE_ITEM.fullmatch(str(pinned.get("profile")))):
        raise FwenvError(f"{shown}: the pinned Guix is not a time-machine cache entry and a "
                         "store profile: bundle again with this fwenv")
    return {"key": str(pinned["key"]), "profile": str(pinned["profile"])}


def unpack_bundle(output_dir: Path, bundle: Path) -> Path:
    """Unpack to output/bundles/<top>/ (atomically, replacing an older copy) and check the
    sums; its top directory."""
    if not bundle.is_file():
        raise FwenvError(f"bundle {bundle} is not a file: pass the file release.bundle wrote")
    base = output_dir / "bundles"
    try:
        with tarfile.open(bundle) as tar:
            tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
            if len(tops) != 1 or not next(iter(tops)).startswith("fwenv-bundle-"):
                raise FwenvError(f"{bundle.name} is not a fwenv bundle (one fwenv-bundle-<V>/ "
                                 "directory): pass the file release.bundle wrote")
            top = next(iter(tops))
            base.mkdir(parents=True, exist_ok=True)  # only for what is a bundle
            with atomic_path(base / top, directory=True) as tmp:
                _extract_contents(tar, top, tmp)
                check_sums(tmp, bundle.name)
    except tarfile.ReadError:
        raise FwenvError(f"{bundle.name} is not a tar archive: pass the file release.bundle "
                         "wrote (or get it again)") from None
    except (tarfile.TarError, OSError) as e:
        raise FwenvError(f"{bundle.name} cannot be unpacked ({e}): the bundle is damaged; "
                         "get it again") from None
    return base / top


def _extract_contents(tar: tarfile.TarFile, top: str, dest: Path) -> None:
    """Extract `tar`, whose members all sit under `top/` (checked by the caller), so that what
    is in top/ lands in `dest` (the "data" filter: no absolute paths, links out or devices)."""
    tar.extractall(dest, filter="data")
    os.rename(dest / top, dest / ".top")  # a member of top/ named like top cannot collide
    for p in (dest / ".top").iterdir():
        os.rename(p, dest / p.name)
    (dest / ".top").rmdir()


def check_sums(top: Path, shown: str) -> None:
    sums = top / "SHA256SUMS"
    if not sums.is_file():
        raise FwenvError(f"{shown} has no SHA256SUMS: it is not a complete bundle")
    listed: dict[str, str] = {}
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    present = {p.relative_to(top).as_posix() for p in top.rglob("*")
               if p.is_file() or p.is_symlink()} - {"SHA256SUMS"}
    if present != set(listed):
        odd = sorted(present ^ set(listed))[0]
        raise FwenvError(f"{shown}: {odd} is {'not listed in' if odd in present else 'missing, listed in'} "
                         "SHA256SUMS: the bundle is damaged or altered; get it again")
    for name, digest in sorted(listed.items()):
        p = top / name
        if p.is_symlink() or sha256_file(p) != digest:
            raise FwenvError(f"{shown}: {name} does not match its SHA256SUMS entry: the bundle "
                             "is damaged or altered; get it again")


def import_bundle(runner: Runner, engine: Engine, top: Path, base: PackOptions,
                  firmware_cache: Path) -> tuple[PackOptions, str, dict[str, Any]]:
    """Load the builder, import the store archive into a fresh store volume (base.store, else
    a new name); the pack options that rebuild offline in it (where: base's root and output
    dir), the builder image and the bundle's record. Firmware sources go to `firmware_cache`."""
    meta = json.loads((top / "bundle.json").read_text())
    if meta.get("schema") != "fwenv-bundle/1":
        raise FwenvError(f"{top.name}: unknown bundle schema {meta.get('schema')!r}: "
                         "use the fwenv version that wrote it")
    builder = str(meta["builder"])
    pinned = meta.get("pinned_guix")
    if pinned is not None:
        pinned = check_pinned_guix(pinned, f"{top.name}/bundle.json")
    firmware = firmware_items(meta, f"{top.name}/bundle.json")
    volume = base.store or "fwenv-guix-store-bundle-" + hashlib.sha256(
        (top / "SHA256SUMS").read_bytes()).hexdigest()[:8] + "-" + uuid.uuid4().hex[:6]
    if engine.volume_exists(volume):
        raise FwenvError(f"store volume {volume} exists: an air-gapped rebuild starts from a "
                         "fresh store; pass another --store")
    with runner.step(f"docker load {builder}"):
        engine.load_tar(top / "builder.tar")
    for v in (volume, volume + "-var"):
        engine.ensure_volume(v, {STORE_LABEL: STORE_ROLE})
    spec = daemon_spec(builder, base.daemon_mode,
                       network="none", mounts=[
                           Mount(volume, "/gnu/store", kind="volume"),
                           Mount(volume + "-var", "/var/guix", kind="volume"),
                           Mount(str(top / "store"), IN_BUNDLE, read_only=True)])
    with runner.step(f"guix archive --import into {volume} (--network=none)"), \
            guix_session(engine, runner, spec) as s:
        s.exec(["sh", "-c", _IMPORT, "sh", CLIENT_USER, f"{IN_BUNDLE}/archive-key.pub",
                f"{IN_BUNDLE}/store.nar", *((pinned["key"], pinned["profile"]) if pinned else ())],
               user="root", what="guix archive --import")
    _place_firmware(firmware_cache, top, firmware)
    p = meta["pack"]
    inputs = top / "inputs"
    opts = PackOptions(
        manifest=inputs / "manifest" / p["manifest"],
        channels=inputs / "channels" / p["channels"] if p.get("channels") else None,
        format=p["format"], compressor=p["compressor"], substitutes=False,
        time_machine=pinned is not None, air_gapped=True,
        load_path=tuple(inputs / "load-path" / str(i) for i in range(int(p["load_path"]))),
        guix_options=tuple(p["guix_options"]), symlinks=tuple(p["symlinks"]),
        entry_point=p["entry_point"], name=p["name"], store=volume, force=True,
        root=base.root, output_dir=base.output_dir,
        daemon_mode=base.daemon_mode)
    return opts, builder, meta


def firmware_items(meta: dict[str, Any], shown: str) -> list[tuple[str, str]]:
    """The bundle's firmware sources as ("file", name) and ("git", commit), every name checked
    before any path is made of it."""
    items: list[tuple[str, str]] = []
    for f in meta.get("firmware", []):
        kind, name = ("git", str(f.get("git"))) if "git" in f else ("file", str(f.get("file")))
        if not (_COMMIT if kind == "git" else _SOURCE_FILE).fullmatch(name):
            raise FwenvError(f"{shown}: firmware {kind} {name!r} is not a "
                             f"{'40-hex commit' if kind == 'git' else 'file name'}: the bundle "
                             "is damaged or altered; get it again")
        items.append((kind, name))
    return items


def _place_firmware(cache: Path, top: Path, items: list[tuple[str, str]]) -> None:
    """The bundled firmware sources into the firmware cache `cache`: source files into
    downloads/ (firmware.build checks their sha256), a git checkout into coreboot/git/<commit>
    (firmware.build checks its HEAD)."""
    for kind, name in items:
        if kind == "git":
            _place_checkout(cache, top, name)
            continue
        dest = cache / "downloads"
        if not (dest / name).exists():
            dest.mkdir(parents=True, exist_ok=True)
            with atomic_path(dest / name) as tmp:
                tmp.write_bytes((top / "firmware" / name).read_bytes())


def _place_checkout(cache: Path, top: Path, commit: str) -> None:
    final = cache / "coreboot" / "git" / commit
    if final.exists():
        return  # firmware.build checks the checkout's HEAD
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(final, directory=True) as tmp, \
            tarfile.open(top / "firmware" / "git" / f"{commit}.tar") as tar:
        if any(m.name.split("/", 1)[0] != commit for m in tar.getmembers()):
            raise FwenvError(f"{top.name}: git/{commit}.tar holds more than {commit}/: "
                             "the bundle is damaged or altered; get it again")
        _extract_contents(tar, commit, tmp)
        os.chmod(tmp, 0o755)  # the firmware build user reads the checkout


def drop_unpacked(top: Path) -> None:
    remove(top)
