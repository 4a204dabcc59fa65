"""`release.attest`: one more independent rebuild, this signer's signed SHA256SUMS."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock
from ..plan import Runner
from .artifacts import make_artifacts
from .options import ReleaseOptions, ReleaseProject
from .preflight import check_version
from .reproduce import build_pack_once
from .sign import SUMS, Signer, parse_sums, sums_text
from .signers import KEYS_DIR, check_signer_name, compare_sums
from .smoke import smoke_rebuild


# -- attestations --------------------------------------------------------------------------------
def write_attestation(runner: Runner, sigs_dir: Path, version: str, signer_name: str,
                      signer: Signer, sums: dict[str, str]) -> Path:
    """DIR/<V>/<signer>/SHA256SUMS + signature; refuse to overwrite a differing one."""
    check_version(version)
    check_signer_name(signer_name)
    target = sigs_dir / version / signer_name
    text = sums_text(sums)
    existing = target / SUMS
    if existing.is_file():
        old = existing.read_text(encoding="utf-8", errors="replace")
        if old != text:
            diff = compare_sums(parse_sums(old, str(existing)), sums) if old.strip() else []
            raise FwenvError(f"{existing} exists and differs ({'; '.join(diff) or 'format'}): "
                             "refusing to overwrite; remove it yourself if you mean to")
        runner.info(f"{existing} already attests the same sums; re-signing")
    if runner.dry_run:
        runner.show(f"# write {existing}")
        signer.sign(existing, runner)
        return target
    with atomic_path(target, directory=True) as tmp:
        if target.is_dir():
            for p in target.iterdir():  # keep anything else the signer put there
                if p.name not in (SUMS, SUMS + ".asc", SUMS + ".sig"):
                    shutil.copy2(p, tmp / p.name)
        (tmp / SUMS).write_text(text, encoding="utf-8")
        signer.sign(tmp / SUMS, runner)
        for p in tmp.iterdir():
            os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)
    signer.public_key(sigs_dir / KEYS_DIR, signer_name)
    return target


# -- attest / verify -------------------------------------------------------------------------------
def attest(cfg: Config, runner: Runner, engine: Engine, opts: ReleaseOptions,
           sigs_dir: Path) -> dict[str, Any]:
    """Rebuild from the same pins in a fresh builder and sign this builder's sums."""
    version = check_version(opts.version)
    if opts.signer is None:
        raise FwenvError("attest needs --signer KEY (gpg key id, or ssh:PATH)")
    name = check_signer_name(opts.signer_name or opts.signer.default_name())
    proj = ReleaseProject.from_project(cfg)
    work = proj.output_dir / "attest" / version / name
    with output_lock(proj.output_dir):
        if work.exists() and not runner.dry_run:
            shutil.rmtree(work)
        with runner.step("rebuild (independent builder, fresh store)"):
            pack = build_pack_once(runner, engine, opts.build, work / "build")
        firmware = smoke_rebuild(proj, runner, engine, opts, pack)
        arts = make_artifacts(proj, runner, engine, opts.build, pack, work / "artifacts", version,
                              firmware=firmware)
        target = write_attestation(runner, sigs_dir, version, name, opts.signer, arts.sums)
        if not runner.dry_run:
            shutil.rmtree(work, ignore_errors=True)  # attested: the sums are all that is kept
    return {"version": version, "signer": name, "attestation": str(target), "sums": arts.sums}
