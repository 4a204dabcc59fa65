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
from contextlib import AbstractContextManager, nullcontext
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
def push_image(runner: Runner, engine: Engine, image_id: str, registry: str, name: str,
               version: str) -> dict[str, str]:
    """Tag and push `<registry>/<name>:<version>`; return the registry's manifest digest."""
    ref = check_image_ref(f"{registry}/{name}:{version}")
    engine.tag(image_id or f"{name}:{version}", ref)
    digest = engine.push(f"{registry}/{name}", version)
    if runner.dry_run:
        return {"ref": ref, "digest": ""}
    return {"ref": ref, "digest": digest, "pinned": f"{registry}/{name}@{digest}"}


def _staged(runner: Runner, final: Path) -> AbstractContextManager[Path]:
    """The release dir, written atomically; in a dry run its final name, never created."""
    return nullcontext(final) if runner.dry_run else atomic_path(final, directory=True)


def release(cfg: Config, runner: Runner, engine: Engine,
            opts: ReleaseOptions) -> dict[str, Any]:
    """`invoke release`; a dry run goes the same way and prints every command."""
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
    started = time.time()
    work = cfg.output_dir / "release" / version
    ref = check_image_ref(f"{cfg.env_image}:{version}")
    with nullcontext() if runner.dry_run else output_lock(release_root):
        if work.exists() and not runner.dry_run:
            shutil.rmtree(work)
        pack = reproduce(cfg, runner, engine, opts.build, work, opts.after_build)
        with runner.step(f"import and tag {ref}"):
            imported = import_image(runner, engine, pack, ref)
        firmware = smoke_firmware(runner, opts, ref)
        with _staged(runner, final) as tmp:
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
            runner.show(f"# write {final}/{PROVENANCE}")
            if not runner.dry_run:
                (tmp / PROVENANCE).write_text(json.dumps(record, indent=2, sort_keys=True)
                                              + "\n", encoding="utf-8")
            signed = []
            if opts.signer is not None:
                signed = [opts.signer.sign(tmp / SUMS, runner).name,
                          opts.signer.sign(tmp / PROVENANCE, runner).name]
            if not runner.dry_run:
                os.chmod(tmp, 0o755)
                for p in tmp.iterdir():
                    os.chmod(p, 0o644)
    if not runner.dry_run:
        shutil.rmtree(work, ignore_errors=True)  # both builds matched: the release dir has it all
    result = _finish(runner, opts, final, arts, imported, pushed, signed, checks)
    if runner.dry_run:
        result.update(dry_run=True, archive=arts.archive, commands=list(runner.printed))
    return result


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


