"""`release.verify`: every signer's sums and signatures, a local rebuild, a published image;
`env.pull`: the released image, pulled by digest once the release and its signers verify."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, check_image_ref
from ..engine import Engine
from ..env.pull import pull_pinned
from ..errors import FwenvError
from ..plan import Runner
from .artifacts import Artifacts, load_provenance_file, make_artifacts
from .intoto import STATEMENT_NAME, check_statement
from .options import ReleaseOptions, ReleaseProject
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
from .smoke import smoke_rebuild
from .verify import image_digests


def rebuild_sums(proj: ReleaseProject, runner: Runner, engine: Engine, opts: ReleaseOptions
                 ) -> Artifacts:
    work = proj.output_dir / "verify" / check_version(opts.version)
    if work.exists() and not runner.dry_run:
        shutil.rmtree(work)
    with runner.step("local rebuild"):
        pack = build_pack_once(runner, engine, opts.build, work / "build")
    firmware = smoke_rebuild(proj, runner, engine, opts, pack)  # the same set as release's
    return make_artifacts(proj, runner, engine, opts.build, pack, work / "artifacts",
                          opts.version, firmware=firmware)


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
    keep_image: bool = False  # keep the image --image pulled (default: removed after)


def min_signers_of(proj: ReleaseProject, given: int | None) -> int:
    n = given if given is not None else proj.min_signers
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise FwenvError(f"min_signers {n!r} is not a whole number >= 1: fix --min-signers "
                         "or [tool.fwenv.release] min_signers")
    return n


def trusted(proj: ReleaseProject, version: str, sigs_dir: Path | None, keys_dir: Path | None,
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
        rel = check_release_statement(release_dir, verify_release_dir(release_dir, keys))
        results.append(rel)
        base = rel.sums if rel.counts else base
    if sigs_dir is not None:
        signers = verify_signers(sigs_dir, version, keys, base=base)
        results += signers
        short = threshold(signers, min_signers_of(proj, min_signers))
        results += [short] if short else []
    return results


def check_release_statement(release_dir: Path, rel: SignerResult) -> SignerResult:
    """A verified release's in-toto statement must name what the release holds (its subjects'
    sha256 in the signed sums, the archive's config digest as the image ID)."""
    statement = release_dir / STATEMENT_NAME
    if not rel.counts or STATEMENT_NAME not in rel.sums or not statement.is_file():
        return rel
    archive = next((n for n in rel.sums if ".tar" in n and (release_dir / n).is_file()), None)
    image_id = image_digests(release_dir / archive).image_id if archive else None
    problems = check_statement(statement.read_text(encoding="utf-8"), rel.sums, image_id)
    if problems:
        rel.status, rel.detail = "differs", "; ".join(problems)
    return rel


def _naming_hint(release_dir: Path, local: Artifacts) -> str:
    """When the archives' naming tools differ (fwenv.release.retag), say so: the same image
    can then have other archive bytes."""
    try:
        theirs = (load_provenance_file(release_dir).get("chain", {}).get("pack") or {}).get(
            "named_with", "")
    except FwenvError:
        return ""
    if theirs and local.named_with and theirs != local.named_with:
        return (f"the release's archive was named with {theirs}, this rebuild's with "
                f"{local.named_with}: use a builder with the release's versions")
    return ""


def verify(cfg: Config, runner: Runner, engine: Engine, **options: Any) -> dict[str, Any]:
    """Check signers, the release dir, a local rebuild and a published image; never raises
    on a mismatch (the caller exits non-zero when `ok` is false). `options`: VerifyOptions."""
    opts = VerifyOptions(**options)
    version, release_dir, rebuild, image = opts.version, opts.release_dir, opts.rebuild, opts.image
    check_version(version)
    proj = ReleaseProject.from_project(cfg)
    min_signers_of(proj, opts.min_signers)
    local = rebuild_sums(proj, runner, engine, rebuild) if rebuild is not None else None
    if release_dir is None and opts.sigs_dir is not None:
        candidate = proj.release_dir / version
        release_dir = candidate if candidate.is_dir() else None
    results: list[SignerResult] = []
    if opts.sigs_dir is not None or release_dir is not None:
        results = trusted(proj, version, opts.sigs_dir, opts.keys_dir, release_dir,
                          min_signers=opts.min_signers,
                          local=local.sums if local is not None and not runner.dry_run else None)
    if local is not None and not runner.dry_run:
        diff = [f"vs {r.signer}: {'; '.join(d)}" for r in results if r.sums
                for d in [compare_sums(r.sums, local.sums)] if d]
        hint = _naming_hint(release_dir, local) if diff and release_dir is not None else ""
        results.append(SignerResult("local rebuild", "differs" if diff else "verified",
                                    " | ".join([*diff, hint] if hint else diff), local.sums))
    image_check = None
    if image is not None:
        image_check = check_published_image(runner, engine, image, local,
                                             keep=opts.keep_image)
        results.append(SignerResult(f"image {image}", image_check["status"],
                                    image_check["detail"]))
    if not results and not runner.dry_run:
        raise FwenvError("nothing to verify: pass --sigs DIR, --rebuild or --image REF@sha256:…")
    ok = all(r.ok for r in results)
    if ok and local is not None and not runner.dry_run:  # verified: nothing to look into
        shutil.rmtree(local.directory.parent, ignore_errors=True)
    return {"version": version, "ok": ok, "results": [r.as_dict() for r in results],
            "lines": [r.line() for r in results], "image": image_check,
            "release_dir": str(release_dir) if release_dir is not None else None}


def check_published_image(runner: Runner, engine: Engine, ref: str,
                          local: Artifacts | None, *, keep: bool = False) -> dict[str, Any]:
    """Pull REF@sha256:… and compare its image id (config digest) with a rebuild's. The
    pulled reference is removed afterwards (unless `keep`, or it was there before the pull);
    the image goes with it unless another tag or a container holds it."""
    if "@sha256:" not in ref:
        raise FwenvError(f"--image {ref} has no digest: use REF@sha256:<64 hex> "
                         "(the digest release --push recorded)")
    check_image_ref(ref)
    if local is None:
        raise FwenvError("--image needs a rebuild to compare with: add --rebuild")
    had = runner.dry_run or engine.image(ref) is not None
    published, layers = engine.pull(ref)
    if runner.dry_run:
        return {"status": "verified", "detail": "dry run", "image_id": ""}
    if not keep and not had:
        engine.untag(ref)
        engine.remove_unused(published)
    if published == local.image_id:
        return {"status": "verified", "detail": f"MATCH image id {published}",
                "image_id": published, "layers": layers}
    same_layers = layers == local.layers
    return {"status": "differs",
            "detail": f"MISMATCH: published image id {published}, rebuild {local.image_id}"
                      + ("; layers identical (config differs)" if same_layers else
                         "; layers differ"),
            "image_id": published, "layers": layers}


@dataclass(frozen=True)
class PullOptions:
    """What `env.pull` fetches and how it is checked (see its --help)."""

    version: str
    sigs_dir: Path
    registry: str | None = None  # default: the registry the provenance records
    release_dir: Path | None = None  # default: release/<version>
    keys_dir: Path | None = None
    min_signers: int | None = None


def pull_release(cfg: Config, runner: Runner, engine: Engine, opts: PullOptions) -> dict[str, Any]:
    """Check the release and its signers (the rules of release.verify), then pull the image its
    signed provenance names by digest, compare its id with the attested one, tag <name>:<V>."""
    version = check_version(opts.version)
    proj = ReleaseProject.from_project(cfg)
    release_dir = opts.release_dir or proj.release_dir / version
    if not (release_dir / "provenance.json").is_file():
        raise FwenvError(f"{release_dir} holds no provenance.json: download the release directory "
                         "(SHA256SUMS, provenance.json and their signatures) or pass --release-dir")
    results = trusted(proj, version, opts.sigs_dir, opts.keys_dir, release_dir,
                      min_signers=opts.min_signers)
    failed = [r.line() for r in results if not r.ok]
    if failed:
        raise FwenvError(f"release {version} does not verify ({failed[0]}): nothing pulled")
    chain = load_provenance_file(release_dir).get("chain") or {}
    registry, image = chain.get("registry") or {}, chain.get("image") or {}
    digest, attested = str(registry.get("digest") or ""), str(image.get("id") or "")
    archive = release_dir / str((chain.get("pack") or {}).get("file") or "-")
    if archive.is_file():  # listed in the verified sums: its config digest is the image id
        derived = image_digests(archive).image_id
        if derived != attested:
            raise FwenvError(f"provenance.json says image id {attested}, the attested archive "
                             f"{archive.name} has {derived}: nothing pulled")
    if not digest or not attested:
        raise FwenvError(f"release {version}'s provenance records no registry digest or image id "
                         "(was it released with --push?): nothing to pull")
    repo = str(registry.get("ref") or "").rsplit(":", 1)[0]
    if opts.registry:
        repo = f"{opts.registry.rstrip('/')}/{proj.env_image}"
    tag = f"{proj.env_image}:{version}"
    image_id = pull_pinned(runner, engine, f"{repo}@{digest}", expect_id=attested, tag=tag)
    return {"version": version, "pulled": f"{repo}@{digest}", "image_id": image_id, "tag": tag,
            "signers": [r.line() for r in results]}
