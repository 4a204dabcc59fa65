"""`release.bundle`: one archive holding everything an air-gapped rebuild needs.

Members (under fwenv-bundle-<V>/): store/store.nar — `guix archive --export -r` of the pack's
derivation and the outputs of every fixed-output derivation in its closure (sources), signed
by a key made for the bundle (store/archive-key.pub); inputs/ — the manifest, channels.scm and
the Guile modules (-L); builder.tar — the builder image (`docker save`); firmware/ — the
pinned source files of the smoke targets and their git checkouts (git/<commit>.tar);
bundle.json — how to pack again; SHA256SUMS over all of them. `invoke env.build --bundle FILE`
(fwenv.env.bundle) checks the sums, imports the archive into a fresh store volume and packs
again with the builder on --network=none.

A pack pinned by `guix time-machine` also bundles the pinned Guix: the profile time-machine
built (or substituted) for channels.scm, with its closure, and the cache entry time-machine looks
it up by (a hash of the channel commits). On the air-gapped side that entry is put back, so
time-machine finds its Guix without fetching anything (see fwenv.env.bundle). Every channel must
name a commit: one that follows a branch would have to be fetched.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import Config
from ..engine import Engine
from ..env.bundle import check_pinned_guix
from ..errors import FwenvError
from ..firmware.sources import find_cached, search_dirs, source_files, tree_dir
from ..firmware.targets import Target, get_target
from ..firmware.workspace import Workspace
from ..fsutil import atomic_path, make_temp, remove, script, sha256_file
from ..guix.channels import channels_in, read_forms
from ..guix.daemon import CLIENT_UID, GuixSession, daemon_spec, guix_session, last_line
from ..guix.options import (
    IN_CHANNELS,
    IN_OUT,
    PackOptions,
    check_options,
    guix_argv,
    pack_mounts,
    pack_network,
)
from ..guix.pack import _builder_id, _run_guix, stage_inputs, store_volume
from ..guix.provenance import parse_channels
from ..guix.record import shown_path
from ..plan import Runner
from .preflight import check_version

SCHEMA = "fwenv-bundle/1"
_EXPORT = script("fwenv.guix", "bundle-export.sh")
_FOD = script("fwenv.guix", "fod-outputs.scm")


def bundle_path(output_dir: Path, version: str) -> Path:
    return output_dir / f"fwenv-bundle-{version}.tar"


def write_bundle(cfg: Config, runner: Runner, engine: Engine, builder: str, opts: PackOptions,
                 version: str, smoke: list[str]) -> dict[str, Any]:
    """Write output/fwenv-bundle-<V>.tar (atomically); its path, sha256 and size."""
    check_version(version)
    check_options(opts)
    if opts.time_machine:
        _check_pinned(opts)
    dest = bundle_path(cfg.output_dir, version)
    runner.show(f"# write {dest}: guix archive --export -r <pack derivation> <sources>, "
                "inputs, docker save {builder}, firmware sources, SHA256SUMS")
    if runner.dry_run:
        return {"bundle": str(dest)}
    cfg.output_dir.mkdir(parents=True, exist_ok=True)
    work = make_temp(cfg.output_dir, "bundle", is_dir=True)
    try:
        top = work / f"fwenv-bundle-{version}"
        (top / "store").mkdir(parents=True)
        os.chown(top / "store", CLIENT_UID, CLIENT_UID)
        drv, pinned_guix = _export_store(runner, engine, builder, opts, top / "store")
        inputs = _copy_inputs(opts, top / "inputs")
        with runner.step(f"docker save {builder}"):
            engine.save_image(builder, top / "builder.tar")
        firmware = _copy_firmware(Workspace.from_project(cfg),
                                  [get_target(cfg, n) for n in smoke], top / "firmware")
        meta = {"schema": SCHEMA, "version": version, "derivation": drv, "builder": builder,
                "pack": {"format": opts.format, "compressor": opts.compressor,
                         "symlinks": list(opts.symlinks), "entry_point": opts.entry_point,
                         "guix_options": list(opts.guix_options), "name": opts.pack_name(),
                         **inputs},
                "pinned_guix": pinned_guix,
                "manifest_as_named": shown_path(cfg.root, Path(opts.manifest)),
                "firmware": firmware}
        (top / "bundle.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        _write_sums(top)
        with atomic_path(dest) as tmp, runner.step("archive the bundle"):
            _tar(top, tmp)
            os.chmod(tmp, 0o644)
    finally:
        remove(work)
    return {"bundle": str(dest), "sha256": sha256_file(dest), "size": dest.stat().st_size,
            "derivation": drv}


def _check_pinned(opts: PackOptions) -> None:
    """Every channel names a commit: only then does time-machine find its Guix offline."""
    assert opts.channels is not None
    shown = shown_path(opts.root, Path(opts.channels))
    parse_channels(Path(opts.channels), shown)  # the file reads, and commits are full
    text = Path(opts.channels).read_text(encoding="utf-8")
    for ch in channels_in(read_forms(text, shown, "fix the syntax")):
        if ch.commit is None:
            raise FwenvError(f"{shown}:{ch.line}: channel {ch.name or 'guix'} names no commit, "
                             "so an air-gapped time-machine would have to fetch it: pin it "
                             "(invoke guix.pin)")


def _export_store(runner: Runner, engine: Engine, builder: str, opts: PackOptions,
                  out: Path) -> tuple[str, dict[str, str] | None]:
    volume = opts.store or store_volume(_builder_id(runner, engine, builder))
    engine.ensure_volume(volume, {"org.fwenv.role": "guix-store"})
    engine.ensure_volume(volume + "-var", {"org.fwenv.role": "guix-store"})
    spec = daemon_spec(builder, opts.daemon_mode, mounts=pack_mounts(opts, out, volume),
                       network=pack_network(opts))
    shown = shown_path(opts.root, Path(opts.manifest))
    with runner.step("guix archive --export -r (derivation closure, sources)"), \
            guix_session(engine, runner, spec) as s:
        stage_inputs(s)
        drv = _run_guix(s, guix_argv(opts, derivation_only=True), opts, shown, runner)
        pinned = _pinned_guix(s, opts) if opts.time_machine else None
        _, listed = s.exec(["guile", "--no-auto-compile", "-c", _FOD, drv],
                           what="list the fixed-output derivations")
        fods = [ln.split() for ln in listed.splitlines() if ln.startswith("/gnu/store/")]
        if fods:  # the sources: fetched if this store lacks them (needs their network)
            s.exec(["guix", "build", *sorted({d for d, _ in fods})],
                   what="guix build (the sources)",
                   fix="pack once where the sources can be downloaded, then bundle")
        extra = [pinned["profile"]] if pinned else []
        s.exec(["sh", "-c", _EXPORT, "sh", IN_OUT, drv, *extra, *sorted({o for _, o in fods})],
               user="root", what="guix archive --export")
    return drv, pinned


def _pinned_guix(s: GuixSession, opts: PackOptions) -> dict[str, str]:
    """The Guix time-machine ran for channels.scm: `guix time-machine -C FILE` with no command
    prints its cache entry (named by a hash of the commits), which links to the profile."""
    assert opts.channels is not None
    _, out = s.exec(["guix", "time-machine", "-C", f"{IN_CHANNELS}/{Path(opts.channels).name}"],
                    what="guix time-machine (where the pinned Guix is)")
    entry = last_line(out)
    _, target = s.exec(["readlink", "-f", entry], what="readlink the time-machine cache entry")
    return check_pinned_guix({"key": PurePosixPath(entry).name, "profile": target.strip()},
                             "guix time-machine")


def _copy_inputs(opts: PackOptions, dest: Path) -> dict[str, Any]:
    (dest / "manifest").mkdir(parents=True)
    shutil.copy2(opts.manifest, dest / "manifest" / Path(opts.manifest).name)
    channels = None
    if opts.channels is not None and Path(opts.channels).is_file():
        (dest / "channels").mkdir()
        shutil.copy2(opts.channels, dest / "channels" / Path(opts.channels).name)
        channels = Path(opts.channels).name
    for i, d in enumerate(opts.load_path):
        shutil.copytree(d, dest / "load-path" / str(i), symlinks=True)
    return {"manifest": Path(opts.manifest).name, "channels": channels,
            "load_path": len(opts.load_path)}


def _copy_firmware(ws: Workspace, targets: list[Target], dest: Path) -> list[dict[str, str]]:
    """The pinned sources of the smoke targets, from the firmware caches: source files (Debian
    source packages, tarballs) as they are, a git checkout (with its submodules) as one tar,
    git/<commit>.tar. Heads boards are never smoke targets, so Heads trees are not bundled."""
    copied: list[dict[str, str]] = []
    for target in targets:
        name, src = target.name, target.source
        if src is not None and src.kind == "git":
            if not any(c.get("git") == src.get("commit") for c in copied):
                copied.append(_copy_checkout(ws, target, dest))
            continue
        for pf in source_files(src) if src else []:
            found = find_cached(pf, search_dirs(ws))
            if found is None:
                raise FwenvError(f"{name}: {pf.name} is not in the firmware cache: run "
                                 f"`invoke firmware.fetch --target {name}`, then bundle")
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, dest / pf.name)
            copied.append({"target": name, "file": pf.name, "sha256": pf.sha256})
    return copied


def _copy_checkout(ws: Workspace, target: Target, dest: Path) -> dict[str, str]:
    assert target.source is not None
    commit = str(target.source.get("commit"))
    tree = tree_dir(ws, target.source)
    if not (tree / ".git").exists():
        raise FwenvError(f"{target.name}: no checkout of {target.source.get('url')} at "
                         f"{commit[:12]} in the firmware cache: run `invoke firmware.fetch "
                         f"--target {target.name}`, then bundle")
    out = dest / "git" / f"{commit}.tar"
    out.parent.mkdir(parents=True, exist_ok=True)
    _tar(tree, out)  # members <commit>/..., owners and times normalized
    return {"target": target.name, "git": commit, "file": f"git/{commit}.tar",
            "sha256": sha256_file(out)}


def _write_sums(top: Path) -> None:
    lines = [f"{sha256_file(p)}  {p.relative_to(top).as_posix()}"
             for p in sorted(top.rglob("*")) if p.is_file() and not p.is_symlink()]
    (top / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _tar(top: Path, dest: Path) -> None:
    """A plain tar, members sorted, owner and times normalized."""
    def norm(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for p in [top, *sorted(top.rglob("*"))]:
            tar.add(p, arcname=p.relative_to(top.parent).as_posix(), recursive=False,
                    filter=norm)
