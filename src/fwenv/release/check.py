"""`release.verify`: every signer's sums and signatures, a local rebuild, a published image."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..plan import Runner
from .artifacts import Artifacts, make_artifacts
from .options import ReleaseOptions
from .preflight import check_version
from .reproduce import build_pack_once
from .verify import (
    SignerResult,
    compare_sums,
    verify_release_dir,
    verify_signers,
)


def rebuild_sums(cfg: Config, runner: Runner, engine: Engine, opts: ReleaseOptions
                 ) -> Artifacts:
    work = cfg.output_dir / "verify" / check_version(opts.version)
    if work.exists() and not runner.dry_run:
        shutil.rmtree(work)
    with runner.step("local rebuild"):
        pack = build_pack_once(cfg, runner, engine, opts.build, work / "build")
    return make_artifacts(cfg, runner, engine, opts.build, pack, work / "artifacts",
                          opts.version, firmware={"status": "skipped"})


@dataclass(frozen=True)
class VerifyOptions:
    """What `release.verify` checks (see its --help)."""

    version: str
    sigs_dir: Path | None = None
    allowed_signers: Path | None = None
    release_dir: Path | None = None  # default: release/<version> when it exists
    rebuild: ReleaseOptions | None = None  # rebuild locally with these and compare
    image: str | None = None  # a published REF@sha256:… to compare with the rebuild


def verify(cfg: Config, runner: Runner, engine: Engine, **options: Any) -> dict[str, Any]:
    """Check signers, the release dir, a local rebuild and a published image; never raises
    on a mismatch (the caller exits non-zero when `ok` is false). `options`: VerifyOptions."""
    opts = VerifyOptions(**options)
    version, sigs_dir, allowed_signers = opts.version, opts.sigs_dir, opts.allowed_signers
    release_dir, rebuild, image = opts.release_dir, opts.rebuild, opts.image
    check_version(version)
    results: list[SignerResult] = []
    local = None
    if rebuild is not None:
        local = rebuild_sums(cfg, runner, engine, rebuild)
    if release_dir is None:
        candidate = cfg.root / str(cfg.get("release.dir", "release")) / version
        release_dir = candidate if candidate.is_dir() else None
    if release_dir is not None:
        results.append(verify_release_dir(release_dir, allowed_signers))
    if sigs_dir is not None:
        base = local.sums if local is not None else None
        results += verify_signers(sigs_dir, version, base=base, allowed_signers=allowed_signers)
    if local is not None and not runner.dry_run:
        others = [r for r in results if r.sums]
        diff = []
        for r in others:
            d = compare_sums(r.sums, local.sums)
            if d:
                diff.append(f"vs {r.signer}: {'; '.join(d)}")
        results.append(SignerResult("local rebuild", "differs" if diff else "verified",
                                    " | ".join(diff), local.sums))
    image_check = None
    if image is not None:
        image_check = check_published_image(runner, engine, image, local)
        results.append(SignerResult(f"image {image}", image_check["status"],
                                    image_check["detail"]))
    if not results and not runner.dry_run:
        raise FwenvError("nothing to verify: pass --sigs DIR, --rebuild or --image REF@sha256:…")
    ok = all(r.ok for r in results)
    return {"version": version, "ok": ok, "results": [r.as_dict() for r in results],
            "lines": [r.line() for r in results], "image": image_check}


def check_published_image(runner: Runner, engine: Engine, ref: str,
                          local: Artifacts | None) -> dict[str, Any]:
    """Pull REF@sha256:… and compare its image id (config digest) with a rebuild's."""
    if "@sha256:" not in ref:
        raise FwenvError(f"--image {ref} has no digest: use REF@sha256:<64 hex> "
                         "(the digest release --push recorded)")
    check_image_ref(ref)
    if local is None:
        raise FwenvError("--image needs a rebuild to compare with: add --rebuild")
    published, layers = engine.pull(ref)
    if runner.dry_run:
        return {"status": "verified", "detail": "dry run", "image_id": ""}
    if published == local.image_id:
        return {"status": "verified", "detail": f"MATCH image id {published}",
                "image_id": published, "layers": layers}
    same_layers = layers == local.layers
    return {"status": "differs",
            "detail": f"MISMATCH: published image id {published}, rebuild {local.image_id}"
                      + ("; layers identical (config differs)" if same_layers else
                         "; layers differ"),
            "image_id": published, "layers": layers}
