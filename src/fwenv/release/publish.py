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
    slsa-provenance.intoto.json  the same as an in-toto Statement v1 / SLSA Provenance v1
                              (reproducible, so listed in SHA256SUMS)
    REPORT.md (+ sig)         signers × artifacts, image ID, ROMs, largest store items, chain

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock
from ..plan import Runner
from .artifacts import (
    PROVENANCE,
    Artifacts,
    import_image,
    kept_artifacts,
    make_artifacts,
    place,
    provenance_record,
)
from .attest import write_attestation
from .options import ReleaseOptions, ReleaseProject
from .preflight import Preflight, check_version, normalize_registry
from .report import REPORT, render_report
from .reproduce import reproduce, resume
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
    registry = normalize_registry(opts.registry) if opts.registry else None
    proj = ReleaseProject.from_project(cfg)
    release_root = proj.release_dir
    final = release_root / version
    po = opts.build.pack_options
    inputs = [Path(po.manifest), *([Path(po.channels)] if po.time_machine and po.channels
                                   else [])]
    checks = Preflight(proj.root, version, final, inputs, allow_dirty=opts.allow_dirty,
                       min_free_gib=proj.min_free_gib,
                       builder_image=opts.build.builder_image, registry=registry,
                       signer=opts.signer, image_name=proj.env_image).run(runner, engine)
    started = time.time()
    work = proj.output_dir / "release" / version
    ref = check_image_ref(f"{proj.env_image}:{version}")
    published: list[str] = []
    with nullcontext() if runner.dry_run else output_lock(release_root):
        if opts.resume and not runner.dry_run:
            pack = resume(runner, opts.build, work)
        else:
            if work.exists() and not runner.dry_run:
                shutil.rmtree(work)
            try:
                pack = reproduce(runner, engine, opts.build, work, opts.after_build)
            except KeyboardInterrupt as e:  # ^C or a CI cancel: the builds are cleaned up
                raise type(e)(f"release {version} stopped before both builds agreed; "
                              "nothing was published") from None
        try:
            arts, imported, pushed, signed = _publish(
                _Publish(proj, runner, engine, opts, ref, final, registry, checks, started, work),
                pack, published)
        except (FwenvError, KeyboardInterrupt) as e:
            if runner.dry_run:
                raise
            raise _after_agreement(e, version, work, published) from None
    if not runner.dry_run:
        shutil.rmtree(work, ignore_errors=True)  # both builds matched: the release dir has it all
    result = _finish(runner, opts, final, arts, imported, pushed, signed, checks)
    if runner.dry_run:
        result.update(dry_run=True, archive=arts.archive, commands=list(runner.printed))
    return result


def _after_agreement(e: BaseException, version: str, work: Path,
                     published: list[str]) -> BaseException:
    """A failure or cancel after both builds agreed: keep them, say how to go on and what, if
    anything, is already public."""
    said = (f"; already published: {', '.join(published)}" if published
            else "; nothing was published")
    resume_hint = (f"both builds agreed and are kept in {work}: "
                   f"invoke release --version {version} --resume goes on without rebuilding")
    if isinstance(e, KeyboardInterrupt):
        return type(e)(f"{resume_hint}{said}")
    return FwenvError(f"{e}; {resume_hint}{said}")


@dataclass(frozen=True)
class _Publish:
    """What the publishing half of a release works with."""

    proj: ReleaseProject
    runner: Runner
    engine: Engine
    opts: ReleaseOptions
    ref: str
    final: Path
    registry: str | None
    checks: list[str]
    started: float
    work: Path


def _publish(p: _Publish, pack: Any,
             published: list[str]) -> tuple[Artifacts, Any, Any, list[str]]:
    """Import, smoke, artifacts, sums signed, push, provenance signed: release/<V>/ at once.
    `published` gets each thing made public, as it is."""
    proj, runner, engine, opts, ref, final, registry = (p.proj, p.runner, p.engine, p.opts, p.ref,
                                                       p.final, p.registry)
    with runner.step(f"import and tag {ref}"):
        imported = import_image(runner, engine, pack, ref)
    firmware = smoke_firmware(runner, opts, ref)
    with _staged(runner, final) as tmp:
        arts = _artifacts(p, pack, firmware, tmp)
        if arts.image_id != imported.image_id:
            raise FwenvError(f"imported image id {imported.image_id} is not the archive's "
                             f"config digest {arts.image_id}: report this as a fwenv bug")
        signed = []
        if opts.signer is not None:  # sign before anything is public
            signed.append(opts.signer.sign(tmp / SUMS, runner).name)
        pushed = None
        if registry:
            with runner.step(f"push to {registry}"):
                pushed = push_image(runner, engine, arts.image_id, registry, proj.env_image,
                                    opts.version)
            if not runner.dry_run:
                published.append(pushed.get("pinned", pushed["ref"]))
        record = provenance_record(proj, opts, arts, imported, pushed, p.checks, p.started,
                                   p.work)
        runner.show(f"# write {final}/{PROVENANCE}")
        if not runner.dry_run:
            (tmp / PROVENANCE).write_text(json.dumps(record, indent=2, sort_keys=True)
                                          + "\n", encoding="utf-8")
        if opts.signer is not None:
            signed.append(opts.signer.sign(tmp / PROVENANCE, runner).name)
        signed += write_release_report(runner, opts, tmp, final)
        if not runner.dry_run:
            os.chmod(tmp, 0o755)
            for f in tmp.iterdir():
                os.chmod(f, 0o644)
    return arts, imported, pushed, signed


def _artifacts(p: _Publish, pack: Any, firmware: dict[str, Any], tmp: Path) -> Artifacts:
    """SBOM, statement, named archive and sums, made in <work>/artifacts (kept with the builds
    when publishing fails: --resume takes them once kept_artifacts re-checks them) and placed
    in the staged release dir `tmp`."""
    runner, kept = p.runner, p.work / "artifacts"
    arts = kept_artifacts(kept, pack, p.opts.version, p.proj.env_image, firmware) \
        if p.opts.resume and not runner.dry_run else None
    if arts is not None:
        runner.info(f"[green]✓[/] SBOM, statement, archive and sums kept by the failed run, "
                    f"re-checked: {kept}")
    else:
        if not runner.dry_run:
            shutil.rmtree(kept, ignore_errors=True)
        with runner.step("SBOM and sums"):
            arts = make_artifacts(p.proj, runner, p.engine, p.opts.build, pack, kept,
                                  version=p.opts.version, firmware=firmware)
    if not runner.dry_run:
        place(arts, tmp)
    return arts


def write_release_report(runner: Runner, opts: ReleaseOptions, tmp: Path,
                         final: Path) -> list[str]:
    """REPORT.md in the staged release dir, signed like provenance.json; the one signature
    made so far is its signer row (release.verify --format markdown prints every signer)."""
    runner.show(f"# write {final}/{REPORT}")
    if runner.dry_run:
        return []
    if opts.signer is not None:
        name = opts.signer_name or opts.signer.default_name()
        row = {"signer": f"release {opts.version}", "status": "signed",
               "detail": f"by {name} at release; release.verify checks every signer's key"}
    else:
        row = {"signer": f"release {opts.version}", "status": "unsigned", "detail": ""}
    (tmp / REPORT).write_text(render_report(tmp, opts.version, [row]), encoding="utf-8")
    return [opts.signer.sign(tmp / REPORT, runner).name] if opts.signer is not None else []


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


