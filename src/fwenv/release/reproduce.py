"""Build the pack twice in independent builders and compare bit for bit."""

from __future__ import annotations

import json
import lzma
import posixpath
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..env.importer import open_stream, verify_pack
from ..errors import FwenvError
from ..fsutil import sha256_file, write_text_atomic
from ..guix.options import COMPRESSORS
from ..plan import Runner
from .artifacts import guix_query_packages
from .options import AfterBuild, BuildSpec
from .triage import triage_packs
from .verify import compare_archives


def build_pack_once(runner: Runner, engine: Engine, spec: BuildSpec,
                    out: Path) -> Any:
    """One independent pack build: its own output dir, a fresh builder container and store."""
    from ..guix.pack import build_pack

    opts = replace(spec.pack_options, force=True, ephemeral=True, output_dir=out)
    return build_pack(runner, engine, spec.builder_image, opts)


def reproduce(runner: Runner, engine: Engine, spec: BuildSpec, work: Path,
              after_build: AfterBuild | None = None) -> Any:
    """Build twice, compare bit for bit; return the first PackResult or raise with the diff."""
    results = []
    for n in (1, 2):
        with runner.step(f"build {n} of 2 (independent builder, fresh store)"):
            res = build_pack_once(runner, engine, spec, work / f"build-{n}")
        if n == 1 and not runner.dry_run:
            check_entry_point(Path(res.tarball))  # before a second build is spent on it
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
        for line in diff[:40]:
            runner.info(f"  differs: {line}")
        first = next((ln for ln in diff if ln.startswith("layer ")), diff[0])  # a file if any
        with runner.step("triage: which store item differs first (diffoscope)"):
            triage = mismatch_triage(runner, engine, spec, (a, b), work / "triage")
        raise FwenvError(
            f"not reproducible: the two builds differ in {len(diff)} place(s), e.g. {first} "
            f"(full list: {report}; {triage}); nothing was released: make the build "
            "deterministic and retry")
    write_text_atomic(work / AGREED, json.dumps({"sha256": results[0].sha256}) + "\n")
    return results[0]


def mismatch_triage(runner: Runner, engine: Engine, spec: BuildSpec, packs: tuple[Path, Path],
                    final: Path) -> str:
    """fwenv.release.triage on the two packs, with each package's derivation (the SBOM's
    Guix query) for the `guix build --check` command; the text says where and what."""
    derivations: dict[str, str] = {}
    try:
        for p in guix_query_packages(runner, engine, spec):
            derivations.update({o: str(p.get("derivation", "")) for o in p.get("outputs", ())})
    except FwenvError as e:
        runner.info(f"  (no derivations for the triage: {e})")
    try:
        where, summary = triage_packs(*packs, final, derivations)
    except (FwenvError, OSError, tarfile.TarError, EOFError, lzma.LZMAError) as e:
        return f"triage failed: {e}"
    return f"triage: {where}: {summary}"


def check_entry_point(tarball: Path) -> None:
    """The image's entry point must be a file in it (following the profile's symlinks), so
    that `docker run IMAGE` works: refuse a pack whose --entry-point the manifest lacks."""
    members: dict[str, tarfile.TarInfo] = {}
    config: dict[str, Any] = {}
    try:
        with open_stream(tarball) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for m in tar:
                f = tar.extractfile(m) if m.isfile() else None
                if f is None:
                    continue
                if m.name.endswith(".tar"):
                    with tarfile.open(fileobj=f, mode="r|") as layer:
                        for e in layer:
                            members[posixpath.normpath(e.name.removeprefix("./").lstrip("/"))] = e
                elif m.name.endswith(".json") and "manifest" not in m.name:
                    config = json.loads(f.read())
    except (tarfile.TarError, OSError, EOFError, ValueError, lzma.LZMAError):
        return  # a damaged archive is reported by the comparison and the import
    entry = (config.get("config") or {}).get("Entrypoint") or []
    if entry and _resolve(members, entry[0]) is None:
        shown = entry[0].split("-profile/", 1)[-1]
        raise FwenvError(f"the image's entry point {shown} is not in the profile, so "
                         "`docker run` would fail: pass --entry-point with a program the "
                         "manifest provides (e.g. --entry-point=bin/hello); nothing was released")


def _resolve(members: dict[str, tarfile.TarInfo], path: str, depth: int = 0) -> str | None:
    """The regular file `path` leads to inside the layers, following symlinks; None if none."""
    parts = path.strip("/").split("/")
    for i in range(len(parts)):
        here = "/".join(parts[:i + 1])
        m = members.get(here)
        if m is None or depth > 40:
            return None
        if m.issym():
            base = "" if m.linkname.startswith("/") else posixpath.dirname(here)
            target = posixpath.normpath(posixpath.join("/", base, m.linkname, *parts[i + 1:]))
            return _resolve(members, target, depth + 1)
    return path if members["/".join(parts)].isfile() else None


AGREED = "agreed.json"  # in the work dir once both builds matched: what --resume starts from


def resume(runner: Runner, spec: BuildSpec, work: Path) -> Any:
    """The two builds of a release that stopped after they agreed, re-checked: each archive's
    sha256 against its provenance and against the recorded agreement. Nothing is rebuilt."""
    from ..guix.pack import PackResult

    marker = work / AGREED
    if not marker.is_file():
        raise FwenvError(f"nothing to resume in {work} (no two builds that agreed): "
                         "run invoke release without --resume")
    agreed = json.loads(marker.read_text(encoding="utf-8"))["sha256"]
    name = spec.pack_options.pack_name()
    results = []
    with runner.step("re-check the two builds that agreed (no rebuild)"):
        for n in (1, 2):
            out = work / f"build-{n}"
            tarball = out / (name + COMPRESSORS[spec.pack_options.compressor])
            prov = out / f"{name}.provenance.json"
            rec = verify_pack(tarball, prov) or {}
            if sha256_file(tarball) != agreed:
                raise FwenvError(f"{tarball} changed since both builds agreed: "
                                 "run invoke release without --resume (rebuilds)")
            results.append(PackResult(tarball, prov, agreed, rec.get("derivation", ""),
                                      rec.get("store_path", ""), True, rec))
    return results[0]
