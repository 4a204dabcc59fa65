"""`invoke release`: publish only what reproduces, signed, with one provenance chain.

release(): preflight → build the pack twice in independent builder containers (separate output
dirs, separate ephemeral stores, different times) → compare bit for bit (stop with a list of
differing layers/files on any difference, before anything is written or pushed) → import and
tag `<env_image>:<V>` → firmware smoke builds (optional) → SBOM → release/<V>/ written atomically:

    <env_image>-<V>.<ext>     the image archive (`docker load`-able)
    sbom.cdx.json             CycloneDX 1.6 SBOM of every store item in the image
    firmware-<target>.rom     smoke ROMs (when built)
    SHA256SUMS (+ .asc|.sig)  the reproducible artifacts above: what every signer attests
    provenance.json (+ sig)   the chain: channels → manifest → derivation → pack sha256 →
                              image id + layers → ROM hashes (+ registry digest after --push)

attest(): one more independent rebuild by another signer → DIR/<V>/<signer>/SHA256SUMS + sig.
verify(): every signer's signature and sums (see fwenv.release.verify), optionally a local rebuild
and a published image digest.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ..config import Config, check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock
from ..plan import Runner
from .artifacts import PROVENANCE, Artifacts, import_image, make_artifacts, provenance_record
from .attest import write_attestation
from .options import ReleaseOptions
from .preflight import Preflight, check_version
from .reproduce import reproduce
from .sign import SUMS
from .smoke import smoke_firmware


# -- registry --------------------------------------------------------------------------------------
def push_image(runner: Runner, engine: Engine | None, image_id: str, registry: str, name: str,
               version: str) -> dict[str, str]:
    """Tag and push `<registry>/<name>:<version>`; return the registry's manifest digest."""
    ref = check_image_ref(f"{registry}/{name}:{version}")
    runner.show(f"docker tag {image_id or name + ':' + version} {ref}")
    runner.show(f"docker push {ref}")
    if runner.dry_run or engine is None:
        return {"ref": ref, "digest": ""}
    engine.tag(image_id, ref)
    digest = engine.push(f"{registry}/{name}", version)
    return {"ref": ref, "digest": digest, "pinned": f"{registry}/{name}@{digest}"}


def release(cfg: Config, runner: Runner, engine: Engine | None,
            opts: ReleaseOptions) -> dict[str, Any]:
    version = check_version(opts.version)
    release_root = cfg.root / str(cfg.get("release.dir", "release"))
    final = release_root / version
    po = opts.build.pack_options
    inputs = [Path(po.manifest), *([Path(po.channels)] if po.time_machine and po.channels
                                   else [])]
    checks = Preflight(cfg.root, version, final, inputs, allow_dirty=opts.allow_dirty,
                       min_free_gib=float(cfg.get("release.min_free_gib", 10)),
                       builder_image=opts.build.builder_image, registry=opts.registry,
                       signer=opts.signer).run(runner, engine)
    if engine is None and not runner.dry_run:
        engine = Engine.connect()
    started = time.time()
    work = cfg.output_dir / "release" / version
    ref = check_image_ref(f"{cfg.env_image}:{version}")
    if runner.dry_run:
        return _release_plan(cfg, runner, opts, final, work, ref, checks)
    with output_lock(release_root):
        if work.exists():
            shutil.rmtree(work)
        pack = reproduce(cfg, runner, engine, opts.build, work, opts.after_build)
        with runner.step(f"import and tag {ref}"):
            imported = import_image(runner, engine, pack, ref)
        firmware = smoke_firmware(runner, opts, ref)
        with atomic_path(final, directory=True) as tmp:
            with runner.step("SBOM and sums"):
                arts = make_artifacts(cfg, runner, engine, opts.build, pack, tmp, version,
                                      firmware=firmware)
            if arts.image_id != imported.image_id:
                raise FwenvError(f"imported image id {imported.image_id} is not the archive's "
                                 f"config digest {arts.image_id}: report this as a fwenv bug")
            pushed = None
            if opts.registry:
                with runner.step(f"push to {opts.registry}"):
                    pushed = push_image(runner, engine, arts.image_id, opts.registry,
                                        cfg.env_image, version)
            record = provenance_record(cfg, opts, arts, imported, pushed, checks, started, work)
            (tmp / PROVENANCE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
            signed = []
            if opts.signer is not None:
                signed = [opts.signer.sign(tmp / SUMS, runner).name,
                          opts.signer.sign(tmp / PROVENANCE, runner).name]
            os.chmod(tmp, 0o755)
            for p in tmp.iterdir():
                os.chmod(p, 0o644)
    shutil.rmtree(work, ignore_errors=True)  # both builds matched: the release dir has it all
    return _finish(runner, opts, final, arts, imported, pushed, signed, checks)


def _release_plan(cfg: Config, runner: Runner, opts: ReleaseOptions, final: Path, work: Path,
                  ref: str, checks: list[str]) -> dict[str, Any]:
    """--dry-run: print every command the release would run; write nothing."""
    pack = reproduce(cfg, runner, None, opts.build, work)
    runner.show(f"# import {Path(pack.tarball).name if pack else '<pack>'} as {ref}")
    firmware = smoke_firmware(runner, opts, ref) if opts.firmware else {"status": "skipped"}
    arts = make_artifacts(cfg, runner, None, opts.build, pack, final, opts.version,
                          firmware=firmware)
    if opts.registry:
        push_image(runner, None, "", opts.registry, cfg.env_image, opts.version)
    runner.show(f"# write {final}/{PROVENANCE}")
    if opts.signer is not None:
        opts.signer.sign(final / SUMS, runner)
        opts.signer.sign(final / PROVENANCE, runner)
    if opts.sigs_dir is not None and opts.signer is not None:
        runner.show(f"# attest into {opts.sigs_dir}/{opts.version}/<signer>/{SUMS}")
    return {"version": opts.version, "release_dir": str(final), "dry_run": True,
            "preflight": checks, "archive": arts.archive, "commands": list(runner.printed)}


def _finish(runner: Runner, opts: ReleaseOptions, final: Path, arts: Artifacts, imported: Any,
            pushed: dict[str, str] | None, signed: list[str], checks: list[str]) -> dict[str, Any]:
    attested = None
    if opts.sigs_dir is not None and opts.signer is not None:
        name = opts.signer_name or opts.signer.default_name()
        attested = str(write_attestation(runner, opts.sigs_dir, opts.version, name, opts.signer,
                                         arts.sums))
    return {
        "version": opts.version, "release_dir": str(final), "image": imported.image,
        "image_id": arts.image_id, "layers": arts.layers, "sums": arts.sums,
        "reproducible": True, "pushed": pushed, "signatures": signed, "attestation": attested,
        "preflight": checks, "firmware": arts.firmware.get("status", "skipped"),
    }


