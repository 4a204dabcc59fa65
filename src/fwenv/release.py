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
verify(): every signer's signature and sums (see fwenv.verify), optionally a local rebuild
and a published image digest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .config import Config, check_image_ref
from .engine import Engine, Mount
from .errors import FwenvError
from .fsutil import atomic_path, free_bytes, output_lock
from .guixd import daemon_spec, guix_session
from .plan import Runner
from .sbom import GUIX_QUERY, build_sbom, parse_query_output, validate_sbom
from .signing import SUMS, Signer, hash_files, parse_sums, sums_text
from .verify import (
    SignerResult,
    compare_archives,
    compare_sums,
    diffoscope_report,
    image_digests,
    store_items,
    verify_release_dir,
    verify_signers,
)

SBOM_NAME = "sbom.cdx.json"
PROVENANCE = "provenance.json"
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,127}\Z")  # \Z: no trailing newline
GIB = 1 << 30

# Test hook type: called with the second build's archive before the comparison.
AfterBuild = Callable[[int, Path], None]


def check_version(version: str) -> str:
    if not _VERSION_RE.match(version or ""):
        raise FwenvError(f"bad version {version!r}: use letters, digits, '.', '_', '-' "
                         "(a Docker tag, e.g. 2026.11.0)")
    return version


# -- preflight -----------------------------------------------------------------------------------
def check_clean_worktree(root: Path) -> None:
    """A release is built from committed inputs only (like Bitcoin's FORCE_DIRTY_WORKTREE)."""
    try:
        out = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                             capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise FwenvError("git not found: apt-get install git (or pass --allow-dirty)") from None
    except subprocess.CalledProcessError as e:
        raise FwenvError(f"{root} is not a git checkout ({e.stderr.strip()[:80]}): "
                         "release from a clone, or pass --allow-dirty") from None
    dirty = [ln[3:] for ln in out.splitlines() if ln.strip()]
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise FwenvError(f"the git worktree is dirty ({shown}): commit or stash, "
                         "or pass --allow-dirty (the release then records it)")


def git_state(root: Path) -> dict[str, Any]:
    def git(*a: str) -> str:
        p = subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True,
                           check=False)
        return p.stdout.strip() if p.returncode == 0 else ""
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def check_free_disk(path: Path, need_bytes: int) -> None:
    free = free_bytes(path)
    if free < need_bytes:
        raise FwenvError(f"only {free / GIB:.1f} GiB free on {path}, a release needs "
                         f"{need_bytes / GIB:.1f} GiB: free space or set "
                         "[tool.fwenv.release] min_free_gib")


def registry_url(registry: str) -> str:
    host = registry.split("/")[0]
    local = host.split(":")[0] in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
    return f"{'http' if local else 'https'}://{host}/v2/"


def check_registry(registry: str) -> None:
    check_image_ref(registry.lower() + "/x")
    url = registry_url(registry)
    try:
        with urllib.request.urlopen(url, timeout=10):  # noqa: S310 (http/https only)
            return
    except urllib.error.HTTPError as e:
        if e.code == 401:  # auth required: reachable; docker login handles the rest
            return
        raise FwenvError(f"registry {registry} answered {e.code} at {url}: "
                         "check the registry address") from None
    except (urllib.error.URLError, OSError) as e:
        raise FwenvError(f"registry {registry} unreachable ({getattr(e, 'reason', e)}): "
                         "start it or fix --push") from None


@dataclass
class Preflight:
    root: Path
    version: str
    release_dir: Path
    inputs: list[Path]
    allow_dirty: bool = False
    min_free_gib: float = 10.0
    builder_image: str = ""
    registry: str | None = None
    signer: Signer | None = None

    def run(self, runner: Runner, engine: Engine | None) -> list[str]:
        """Every check, in order of cost; the first failure raises. Returns what was checked."""
        done = []
        check_version(self.version)
        if not self.allow_dirty:
            check_clean_worktree(self.root)
            done.append("clean worktree")
        for p in self.inputs:
            if not p.is_file():
                raise FwenvError(f"pinned input {p} is missing: restore it from git "
                                 "(or invoke guix.pin for channels.scm)")
        done.append("pinned inputs present")
        if self.release_dir.exists():
            raise FwenvError(f"{self.release_dir} exists: version {self.version} is already "
                             "released; pick a new --version")
        done.append("version not yet released")
        check_free_disk(self.release_dir.parent, int(self.min_free_gib * GIB))
        done.append("free disk")
        if self.signer is not None:
            if self.signer.kind == "gpg":
                self.signer.default_name()  # raises when the secret key is not there
            done.append("signing key present")
        if runner.dry_run:
            return done
        if engine is None:
            engine = Engine.connect()
        done.append("engine up")
        if self.builder_image and engine.image(self.builder_image) is None:
            raise FwenvError(f"builder image {self.builder_image} not found: "
                             "run invoke guix.base first")
        if self.registry:
            check_registry(self.registry)
            done.append("registry reachable")
        return done


# -- building --------------------------------------------------------------------------------------
@dataclass
class BuildSpec:
    """How to build the environment pack (passed to fwenv.pack)."""

    builder_image: str
    pack_options: Any  # fwenv.pack.PackOptions: manifest, channels, load_path, time_machine...


@dataclass
class Artifacts:
    """One build's reproducible outputs, in `directory` (named as in the release)."""

    directory: Path
    archive: str
    sums: dict[str, str]
    pack: Any  # PackResult
    image_id: str
    layers: list[str]
    firmware: dict[str, Any]


def _cfg_with_output(cfg: Config, out: Path) -> Config:
    return replace(cfg, data={**cfg.data, "output_dir": str(out)})


def build_pack_once(cfg: Config, runner: Runner, engine: Engine | None, spec: BuildSpec,
                    out: Path) -> Any:
    """One independent pack build: its own output dir, a fresh builder container and store."""
    from .pack import build_pack

    opts = replace(spec.pack_options, force=True, ephemeral=True)
    return build_pack(_cfg_with_output(cfg, out), runner, engine, spec.builder_image, opts)


def reproduce(cfg: Config, runner: Runner, engine: Engine | None, spec: BuildSpec, work: Path,
              after_build: AfterBuild | None = None) -> Any:
    """Build twice, compare bit for bit; return the first PackResult or raise with the diff."""
    results = []
    for n in (1, 2):
        with runner.step(f"build {n} of 2 (independent builder, fresh store)"):
            res = build_pack_once(cfg, runner, engine, spec, work / f"build-{n}")
        if after_build is not None and not runner.dry_run:
            after_build(n, Path(res.tarball))
        results.append(res)
    if runner.dry_run:
        runner.show(f"# compare {work}/build-1 and build-2 bit for bit (sha256, then per file)")
        return results[0]
    a, b = Path(results[0].tarball), Path(results[1].tarball)
    diff = compare_archives(a, b)
    if diff:
        report = work / "differences.txt"
        report.write_text("\n".join(diff) + "\n", encoding="utf-8")
        deep = diffoscope_report(a, b, work / "diffoscope.txt")
        for line in diff[:40]:
            runner.info(f"  differs: {line}")
        first = next((ln for ln in diff if ln.startswith("layer ")), diff[0])  # a file if any
        raise FwenvError(
            f"not reproducible: the two builds differ in {len(diff)} place(s), e.g. {first} "
            f"(full list: {report}" + (f", diffoscope: {deep}" if deep else "")
            + "); nothing was released: make the build deterministic and retry")
    return results[0]


def guix_query_packages(cfg: Config, runner: Runner, engine: Engine | None,
                        spec: BuildSpec) -> list[dict[str, Any]]:
    """Run GUIX_QUERY in a builder over the pack's manifest, with the same Guix (time-machine
    or the builder's own) and load path: name/version/license/source of every package.
    Mounts mirror the pack's: manifest dir, channels dir, each load-path dir, read-only."""
    opts = spec.pack_options
    manifest = Path(opts.manifest).resolve()
    mounts = [Mount(str(manifest.parent), "/fwenv/manifest", read_only=True)]
    load: list[str] = []
    for i, d in enumerate(opts.load_path):
        mounts.append(Mount(str(Path(d).resolve()), f"/fwenv/load-path/{i}", read_only=True))
        load += ["-L", f"/fwenv/load-path/{i}"]
    if opts.time_machine and opts.channels is not None:
        channels = Path(opts.channels).resolve()
        mounts.append(Mount(str(channels.parent), "/fwenv/channels", read_only=True))
        argv = ["guix", "time-machine", "-C", f"/fwenv/channels/{channels.name}", "--", "repl"]
        network = "bridge"  # time-machine fetches the pinned Guix; nothing is built
    else:
        argv, network = ["guix", "repl"], "none"
    with tempfile.TemporaryDirectory(prefix="fwenv-sbom-") as tmp:
        script = Path(tmp) / "query.scm"
        script.write_text(GUIX_QUERY, encoding="utf-8")
        os.chmod(tmp, 0o755)
        os.chmod(script, 0o644)
        mounts.append(Mount(tmp, "/fwenv/sbom", read_only=True))
        argv += [*load, "--", "/fwenv/sbom/query.scm", f"/fwenv/manifest/{manifest.name}"]
        d_spec = daemon_spec(spec.builder_image, opts.daemon_mode, mounts=mounts,
                             network=network)
        with guix_session(engine, runner, d_spec) as session:
            _, out = session.exec(argv, what="guix package query for the SBOM",
                                  fix="check the manifest evaluates (guix build -d)")
    return [] if runner.dry_run else parse_query_output(out)


def make_artifacts(cfg: Config, runner: Runner, engine: Engine | None, spec: BuildSpec,
                   pack: Any, directory: Path, version: str, *,
                   firmware: dict[str, Any]) -> Artifacts:
    """Place the archive, the SBOM and ROMs in `directory`; hash them (the attested set)."""
    tarball = Path(pack.tarball)
    ext = "".join(tarball.suffixes[-2:]) if tarball.name.endswith(
        (".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2")) else tarball.suffix
    archive = f"{cfg.env_image}-{version}{ext}"
    if runner.dry_run:
        guix_query_packages(cfg, runner, engine, spec)
        runner.show(f"# place {tarball.name} as {archive}, write {SBOM_NAME} and {SUMS}")
        return Artifacts(directory, archive, {}, pack, "", [], firmware)
    directory.mkdir(parents=True, exist_ok=True)
    _link_or_copy(tarball, directory / archive)
    digests = image_digests(directory / archive)
    packages = guix_query_packages(cfg, runner, engine, spec)
    sbom = build_sbom(image_name=cfg.env_image, version=version,
                      store_items=store_items(directory / archive), packages=packages,
                      pack_sha256=pack.sha256, image_id=digests.image_id,
                      source_date_epoch=int(cfg.get("release.source_date_epoch", 1)))
    validate_sbom(sbom)
    (directory / SBOM_NAME).write_text(sbom, encoding="utf-8")
    names = [archive, SBOM_NAME]
    for target, rom in sorted(firmware.get("roms", {}).items()):
        name = f"firmware-{target}.rom"
        shutil.copyfile(rom["path"], directory / name)
        names.append(name)
    sums = hash_files(directory, names)
    (directory / SUMS).write_text(sums_text(sums), encoding="utf-8")
    return Artifacts(directory, archive, sums, pack, digests.image_id, list(digests.diff_ids),
                     firmware)


def import_image(runner: Runner, engine: Engine | None, pack: Any, ref: str) -> Any:
    """`docker load` the pack and tag it (fwenv.importer: checks it against its provenance)."""
    from .importer import import_pack

    return import_pack(runner, engine, Path(pack.tarball), ref,
                       provenance=Path(pack.provenance), force=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


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
    digest = ""
    for msg in engine.client.images.push(f"{registry}/{name}", tag=version, stream=True,
                                         decode=True):
        if "error" in msg:
            raise FwenvError(f"docker push {ref} failed: {msg['error']}: "
                             "check the registry (docker login, TLS)")
        digest = msg.get("aux", {}).get("Digest", digest)
    if not digest.startswith("sha256:"):
        raise FwenvError(f"docker push {ref} reported no digest: check the registry")
    return {"ref": ref, "digest": digest, "pinned": f"{registry}/{name}@{digest}"}


# -- attestations --------------------------------------------------------------------------------
def write_attestation(runner: Runner, sigs_dir: Path, version: str, signer_name: str,
                      signer: Signer, sums: dict[str, str]) -> Path:
    """DIR/<V>/<signer>/SHA256SUMS + signature; refuse to overwrite a differing one."""
    check_version(version)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z", signer_name):
        raise FwenvError(f"bad signer name {signer_name!r}: letters, digits, '.', '_', '+', '-'")
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
    return target


# -- release ---------------------------------------------------------------------------------------
@dataclass
class ReleaseOptions:
    version: str
    build: BuildSpec
    allow_dirty: bool = False
    registry: str | None = None
    signer: Signer | None = None
    signer_name: str | None = None
    sigs_dir: Path | None = None
    firmware: Callable[[str], dict[str, Any]] | None = None  # image ref -> {"roms": ..., ...}
    firmware_image: str | None = None
    after_build: AfterBuild | None = None  # test hook: alter a build's output


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


def firmware_smoke(cfg: Config, runner: Runner, engine: Engine | None,
                   targets: list[str]) -> Callable[[str], dict[str, Any]]:
    """Smoke builds with fwenv.firmware: ROM path + sha256 per target, built in `image`.
    An image without the coreboot toolchain is recorded as skipped (with the reason)."""
    def run(image: str) -> dict[str, Any]:
        from .firmware import build as fw
        from .firmware.targets import get_target

        chosen = [get_target(cfg, t) for t in targets]  # unknown names fail before building
        try:
            fw.check_image(engine, runner, image)
        except FwenvError as e:
            if "no coreboot toolchain" not in str(e):
                raise
            return {"status": "skipped", "image": image,
                    "note": f"{image} has no coreboot toolchain, no ROMs built "
                            "(use --firmware-image with a toolchain image to smoke-test)"}
        roms = {}
        for t in chosen:
            res = fw.build(cfg, runner, engine, t, image=image)
            if runner.dry_run:
                continue
            roms[t.name] = {"path": res["rom"], "sha256": res["sha256"],
                            "image_id": res.get("image_id")}
        return {"status": "built", "image": image, "roms": roms}
    return run


def smoke_firmware(runner: Runner, opts: ReleaseOptions, ref: str) -> dict[str, Any]:
    """Optional smoke ROM builds; says which image built them, or why none were built."""
    if opts.firmware is None:
        return {"status": "skipped", "note": "no smoke targets requested (--smoke TARGET)"}
    image = opts.firmware_image or ref
    with runner.step(f"firmware smoke builds in {image}"):
        result = opts.firmware(image)
    result.setdefault("image", image)
    result.setdefault("status", "built")
    if opts.firmware_image and result["status"] == "built":
        result["note"] = (f"ROMs built in the stand-in image {opts.firmware_image}, "
                          f"not in the released image {ref}")
    return result


def provenance_record(cfg: Config, opts: ReleaseOptions, arts: Artifacts, imported: Any,
                      pushed: dict[str, str] | None, checks: list[str], started: float,
                      work: Path) -> dict[str, Any]:
    pack_record = dict(getattr(arts.pack, "record", {}) or {})
    fw = {k: v for k, v in arts.firmware.items() if k != "roms"}
    fw["roms"] = {t: {"file": f"firmware-{t}.rom", "sha256": r.get("sha256", "")}
                  for t, r in sorted(arts.firmware.get("roms", {}).items())}
    return {
        "schema": "fwenv-release/1",
        "version": opts.version,
        "chain": {
            "guix": pack_record.get("guix"),
            "manifest": pack_record.get("manifest"),
            "derivation": getattr(arts.pack, "derivation", ""),
            "pack": {"file": arts.archive, "sha256": arts.pack.sha256,
                     "store_path": getattr(arts.pack, "store_path", "")},
            "image": {"ref": imported.image, "id": arts.image_id, "layers": arts.layers},
            "firmware": fw,
            "registry": pushed,
        },
        "sums": arts.sums,
        "reproducibility": {"builds": 2, "identical": True,
                            "method": "two independent builder containers, fresh stores, "
                                      "separate output dirs, compared bit for bit",
                            "work_dir": str(work)},
        "source": git_state(cfg.root),
        "preflight": checks,
        "built": {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "pack_provenance": pack_record,
    }


# -- attest / verify -------------------------------------------------------------------------------
def attest(cfg: Config, runner: Runner, engine: Engine | None, opts: ReleaseOptions,
           sigs_dir: Path) -> dict[str, Any]:
    """Rebuild from the same pins in a fresh builder and sign this builder's sums."""
    version = check_version(opts.version)
    if opts.signer is None:
        raise FwenvError("attest needs --signer KEY (gpg key id, or ssh:PATH)")
    name = opts.signer_name or opts.signer.default_name()
    if engine is None and not runner.dry_run:
        engine = Engine.connect()
    work = cfg.output_dir / "attest" / version / name
    with output_lock(cfg.output_dir):
        if work.exists() and not runner.dry_run:
            shutil.rmtree(work)
        with runner.step("rebuild (independent builder, fresh store)"):
            pack = build_pack_once(cfg, runner, engine, opts.build, work / "build")
        firmware = smoke_firmware(runner, opts, opts.firmware_image or "") \
            if opts.firmware else {"status": "skipped"}
        arts = make_artifacts(cfg, runner, engine, opts.build, pack, work / "artifacts", version,
                              firmware=firmware)
        target = write_attestation(runner, sigs_dir, version, name, opts.signer, arts.sums)
    return {"version": version, "signer": name, "attestation": str(target), "sums": arts.sums}


def rebuild_sums(cfg: Config, runner: Runner, engine: Engine | None, opts: ReleaseOptions
                 ) -> Artifacts:
    if engine is None and not runner.dry_run:
        engine = Engine.connect()
    work = cfg.output_dir / "verify" / check_version(opts.version)
    if work.exists() and not runner.dry_run:
        shutil.rmtree(work)
    with runner.step("local rebuild"):
        pack = build_pack_once(cfg, runner, engine, opts.build, work / "build")
    return make_artifacts(cfg, runner, engine, opts.build, pack, work / "artifacts",
                          opts.version, firmware={"status": "skipped"})


def verify(cfg: Config, runner: Runner, engine: Engine | None, *, version: str,
           sigs_dir: Path | None, allowed_signers: Path | None = None,
           release_dir: Path | None = None, rebuild: ReleaseOptions | None = None,
           image: str | None = None) -> dict[str, Any]:
    """Check signers, the release dir, a local rebuild and a published image; never raises
    on a mismatch (the caller exits non-zero when `ok` is false)."""
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


def check_published_image(runner: Runner, engine: Engine | None, ref: str,
                          local: Artifacts | None) -> dict[str, Any]:
    """Pull REF@sha256:… and compare its image id (config digest) with a rebuild's."""
    if "@sha256:" not in ref:
        raise FwenvError(f"--image {ref} has no digest: use REF@sha256:<64 hex> "
                         "(the digest release --push recorded)")
    check_image_ref(ref)
    if local is None:
        raise FwenvError("--image needs a rebuild to compare with: add --rebuild")
    runner.show(f"docker pull {ref}")
    if runner.dry_run or engine is None:
        return {"status": "verified", "detail": "dry run", "image_id": ""}
    repo, _, digest = ref.partition("@")
    try:
        img = engine.client.images.pull(repo, tag=digest)
    except Exception as e:
        raise FwenvError(f"cannot pull {ref}: {getattr(e, 'explanation', e)}: "
                         "check the registry and the digest") from None
    published = img.id
    layers = img.attrs.get("RootFS", {}).get("Layers", [])
    if published == local.image_id:
        return {"status": "verified", "detail": f"MATCH image id {published}",
                "image_id": published, "layers": layers}
    same_layers = layers == local.layers
    return {"status": "differs",
            "detail": f"MISMATCH: published image id {published}, rebuild {local.image_id}"
                      + ("; layers identical (config differs)" if same_layers else
                         "; layers differ"),
            "image_id": published, "layers": layers}


def load_provenance_file(release_dir: Path) -> dict[str, Any]:
    path = release_dir / PROVENANCE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FwenvError(f"{path} not found: is {release_dir} a release directory?") from None
    except ValueError:
        raise FwenvError(f"{path} is not JSON: the release is damaged; re-download it") from None
