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
from .signers import (
    KEYS_DIR,
    SignerResult,
    builder_keys,
    compare_sums,
    threshold,
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
    keys_dir: Path | None = None  # default: <sigs_dir>/builder-keys
    min_signers: int | None = None  # default: [tool.fwenv.release] min_signers, else 1
    release_dir: Path | None = None  # default: release/<version> when it exists
    rebuild: ReleaseOptions | None = None  # rebuild locally with these and compare
    image: str | None = None  # a published REF@sha256:… to compare with the rebuild


def min_signers_of(cfg: Config, given: int | None) -> int:
    n = given if given is not None else cfg.get("release.min_signers", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise FwenvError(f"min_signers {n!r} is not a whole number >= 1: fix --min-signers "
                         "or [tool.fwenv.release] min_signers")
    return n


def trusted(cfg: Config, version: str, sigs_dir: Path | None, keys_dir: Path | None,
            release_dir: Path | None, *, min_signers: int | None = None,
            local: dict[str, str] | None = None) -> list[SignerResult]:
    """The release (when given) and every signer, each bound to its key, plus the threshold:
    the base is the release's own signed sums, else a local rebuild's, else the first signer."""
    if sigs_dir is None and keys_dir is None:
        raise FwenvError("checking signatures needs the signers' keys: pass --sigs DIR "
                         "(its builder-keys/ holds them) or --keys DIR")
    keys = builder_keys(keys_dir if keys_dir is not None else Path(str(sigs_dir)) / KEYS_DIR)
    results = []
    base = local
    if release_dir is not None:
        rel = verify_release_dir(release_dir, keys)
        results.append(rel)
        base = rel.sums if rel.counts else base
    if sigs_dir is not None:
        signers = verify_signers(sigs_dir, version, keys, base=base)
        results += signers
        short = threshold(signers, min_signers_of(cfg, min_signers))
        results += [short] if short else []
    return results


def verify(cfg: Config, runner: Runner, engine: Engine, **options: Any) -> dict[str, Any]:
    """Check signers, the release dir, a local rebuild and a published image; never raises
    on a mismatch (the caller exits non-zero when `ok` is false). `options`: VerifyOptions."""
    opts = VerifyOptions(**options)
    version, release_dir, rebuild, image = opts.version, opts.release_dir, opts.rebuild, opts.image
    check_version(version)
    min_signers_of(cfg, opts.min_signers)
    local = rebuild_sums(cfg, runner, engine, rebuild) if rebuild is not None else None
    if release_dir is None and opts.sigs_dir is not None:
        candidate = cfg.root / str(cfg.get("release.dir", "release")) / version
        release_dir = candidate if candidate.is_dir() else None
    results: list[SignerResult] = []
    if opts.sigs_dir is not None or release_dir is not None:
        results = trusted(cfg, version, opts.sigs_dir, opts.keys_dir, release_dir,
                          min_signers=opts.min_signers,
                          local=local.sums if local is not None and not runner.dry_run else None)
    if local is not None and not runner.dry_run:
        diff = [f"vs {r.signer}: {'; '.join(d)}" for r in results if r.sums
                for d in [compare_sums(r.sums, local.sums)] if d]
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
