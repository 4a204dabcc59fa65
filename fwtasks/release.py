"""release / release.attest / release.verify: publish only what reproduces, signed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoke import Collection
from invoke.exceptions import Exit

from fwenv.errors import FwenvError
from fwenv.release.attest import attest as attest_release
from fwenv.release.check import verify as verify_release
from fwenv.release.options import release_options
from fwenv.release.publish import release as make_release
from fwenv.release.report import verify_report

from .common import COMMON_HELP, context, emit, engine_for, fwtask, required, task, whole_number
from .guix import PACK_HELP

# The pack options of guix.pack, same names and meaning (a release is always docker format).
PACK_OPTIONS = ("manifest", "channels", "compressor", "substitute_urls", "no_substitutes",
                "cores", "jobs", "no_time_machine", "load_path", "guix_option", "entry_point",
                "builder")
BUILD_HELP = {
    **{k: PACK_HELP[k] for k in PACK_OPTIONS},
    "load_path": "extra Guile module dir for the manifest (guix -L), repeatable or "
                 "comma-separated (default guix/modules)",
    "smoke": "comma-separated firmware targets to build in the released image (smoke test)",
    "firmware_image": "build the smoke ROMs in this image instead (e.g. the stand-in); "
                      "provenance says so",
}
BUILD_ITERABLE = ["guix_option", "load_path"]


def _pack_flags(kw: dict[str, Any]) -> dict[str, Any]:
    """The pack options as release_options takes them (load_path: comma-separated string)."""
    flags = {k: kw[k] for k in PACK_OPTIONS}
    flags["load_path"] = ",".join(kw["load_path"] or [])
    for k in ("cores", "jobs"):
        flags[k] = whole_number(k, flags[k])
    return flags


@task(default=True, iterable=BUILD_ITERABLE, help={
    "version": "release version, also the image tag (e.g. 2026.11.0)",
    "allow_dirty": "release from a git worktree with uncommitted changes (recorded)",
    "push": "registry (host[:port][/path]) to push coreboot-build-env:<version> to",
    "sign_key": "sign with gpg KEY, gpg:KEY or ssh:PATH (detached SHA256SUMS/provenance sigs)",
    "signer_name": "signer directory name for --sigs (default: the key's e-mail local part)",
    "sigs": "also write this release's signed SHA256SUMS into DIR/<version>/<signer>/",
    "resume": "go on from the two builds of a release of this version that stopped after "
              "they agreed (hashes re-checked, nothing rebuilt)",
    **BUILD_HELP, **COMMON_HELP,
})
@fwtask
def release(c, version="", allow_dirty=False, push="", sign_key="", signer_name="", sigs="",
            resume=False,
            manifest="", channels="", compressor="", substitute_urls="", no_substitutes=False,
            cores="", jobs="", no_time_machine=False, load_path=None, guix_option=None,
            entry_point="", builder="", smoke="", firmware_image="", dry_run=False,
            json=False, verbose=False):
    """Build twice, compare bit for bit, publish release/<V>/ (image, sums, SBOM, provenance)."""
    required(version=version)
    cfg, runner = context(dry_run, verbose)
    engine = engine_for(runner)
    opts = release_options(cfg, runner, engine, version, **_pack_flags(locals()),
                    smoke=smoke, firmware_image=firmware_image, signer=sign_key,
                    name=signer_name, allow_dirty=allow_dirty, registry=push or None,
                    resume=resume,
                    sigs_dir=Path(sigs) if sigs else None)
    emit(make_release(cfg, runner, engine, opts), json, runner,
         next=f"invoke release.verify --version {version} --sigs DIR (and ask others to "
              "release.attest)")


@task(iterable=BUILD_ITERABLE, help={
    "version": "the release version to attest",
    "signer": "your key: gpg KEY, gpg:KEY or ssh:PATH",
    "name": "your directory name under DIR/<version>/ (default: the key's e-mail local part)",
    "sigs": "the signatures tree (e.g. a clone of the sigs repository)",
    "authorize": PACK_HELP["authorize"],
    **BUILD_HELP, **COMMON_HELP,
})
@fwtask
def attest(c, version="", signer="", sigs="", name="", manifest="", channels="", compressor="",
           substitute_urls="", no_substitutes=False, cores="", jobs="", no_time_machine=False,
           load_path=None, guix_option=None, entry_point="", builder="", smoke="",
           firmware_image="", dry_run=False, json=False, verbose=False, authorize=""):
    """Rebuild from the same pins and add your signed SHA256SUMS under DIR/<V>/<signer>/."""
    required(version=version, signer=signer, sigs=sigs)
    cfg, runner = context(dry_run, verbose)
    engine = engine_for(runner)
    opts = release_options(cfg, runner, engine, version, **_pack_flags(locals()),
                    smoke=smoke, firmware_image=firmware_image, signer=signer, name=name,
                    authorize=authorize)
    emit(attest_release(cfg, runner, engine, opts, Path(sigs)), json, runner,
         next=f"commit {sigs}/{version}/ to the signatures repository")


@task(iterable=BUILD_ITERABLE, help={
    "version": "the release version to verify",
    "sigs": "the signatures tree: builder-keys/<name>.gpg|.pub and <version>/<name>/SHA256SUMS+sig",
    "keys": "the signers' public keys (default DIR/builder-keys of --sigs): the only keys trusted",
    "min_signers": "fail unless this many independent keys attest the release "
                   "(default [tool.fwenv.release] min_signers)",
    "release_dir": "a release directory to check too (default release/<version> if present)",
    "rebuild": "also rebuild locally from the pins and compare with every signer",
    "image": "a published image REF@sha256:...: pull it and compare with the rebuild",
    "format": "text (one line per signer, the default) or markdown (REPORT.md's shape: "
              "signers x artifacts, image ID, ROMs, largest store items, chain; for CI summaries)",
    "keep_image": "keep the image --image pulled (default: removed after the comparison)",
    **BUILD_HELP, **COMMON_HELP,
})
@fwtask
def verify(c, version="", sigs="", keys="", min_signers="", release_dir="", rebuild=False,
           image="", keep_image=False, manifest="", channels="", compressor="", substitute_urls="",
           no_substitutes=False, cores="", jobs="", no_time_machine=False, load_path=None,
           guix_option=None, entry_point="", builder="", smoke="", firmware_image="", dry_run=False,
           json=False, verbose=False, format="text"):
    """Check every signer's signature and sums; one line per signer; non-zero on any problem."""
    required(version=version)
    if format not in ("text", "markdown"):
        raise FwenvError(f"--format {format}: use text or markdown")
    cfg, runner = context(dry_run, verbose)
    engine = engine_for(runner)  # connected only for --rebuild or --image
    if image and not rebuild:
        raise FwenvError("--image compares with a local rebuild: add --rebuild")
    opts = release_options(cfg, runner, engine, version, **_pack_flags(locals()),
                    smoke=smoke, firmware_image=firmware_image) if rebuild else None
    result = verify_release(cfg, runner, engine, version=version,
                            sigs_dir=Path(sigs) if sigs else None,
                            keys_dir=Path(keys) if keys else None,
                            min_signers=whole_number("min-signers", min_signers),
                            release_dir=Path(release_dir) if release_dir else None,
                            rebuild=opts, image=image or None, keep_image=keep_image)
    if json:
        emit(result, True, runner)
    elif format == "markdown":
        print(verify_report(result), end="")
    else:
        for line in result["lines"]:
            print(line)
    if not result["ok"] and not dry_run:
        raise Exit("error: verification failed (see the lines above)", code=1)



ns = Collection("release")
ns.add_task(release)
ns.add_task(attest)
ns.add_task(verify)
