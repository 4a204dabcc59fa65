"""A build's reproducible outputs: archive, SBOM, ROMs, sums, and the provenance record."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import Engine, Mount
from ..env.importer import import_pack
from ..errors import FwenvError
from ..fsutil import sha256_file
from ..guix.daemon import daemon_spec, guix_session
from ..guix.pack import stage_inputs
from ..plan import Runner
from .intoto import STATEMENT_NAME, build_statement, rom_sources_of, statement_text, validate_shape
from .options import BuildSpec, ReleaseOptions, ReleaseProject
from .preflight import git_state
from .retag import retag_archive
from .sbom import GUIX_QUERY, build_sbom, parse_query_output, validate_sbom
from .sign import SUMS, check_files, hash_files, parse_sums, sums_text
from .storeinfo import ItemInfo, store_info
from .verify import (
    image_digests,
    store_items,
)

SBOM_NAME = "sbom.cdx.json"


PROVENANCE = "provenance.json"
NAMED_WITH = ".named-with"  # beside the artifacts (not attested): retag's tool versions


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
    store: dict[str, ItemInfo] = field(default_factory=dict)  # the image's items (storeinfo)
    named_with: str = ""  # the builder's tools that named the archive (fwenv.release.retag)


def guix_query_packages(runner: Runner, engine: Engine,
                        spec: BuildSpec) -> list[dict[str, Any]]:
    """Run GUIX_QUERY in a builder over the pack's manifest, with the same Guix (time-machine
    or the builder's own) and load path: name/version/license/source of every package.
    Mounts mirror the pack's: manifest dir, channels dir, each load-path dir, read-only."""
    opts = spec.pack_options
    manifest = Path(opts.manifest).resolve()
    # inputs under /fwenv/host, staged for the unprivileged guix user (fwenv.guix.pack)
    mounts = [Mount(str(manifest.parent), "/fwenv/host/manifest", read_only=True)]
    load: list[str] = []
    for i, d in enumerate(opts.load_path):
        mounts.append(Mount(str(Path(d).resolve()), f"/fwenv/host/load-path/{i}",
                            read_only=True))
        load += ["-L", f"/fwenv/load-path/{i}"]
    if opts.time_machine and opts.channels is not None:
        channels = Path(opts.channels).resolve()
        mounts.append(Mount(str(channels.parent), "/fwenv/host/channels", read_only=True))
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
            stage_inputs(session)
            _, out = session.exec(argv, what="guix package query for the SBOM",
                                  fix="check the manifest evaluates (guix build -d)")
    return [] if runner.dry_run else parse_query_output(out)


def make_artifacts(proj: ReleaseProject, runner: Runner, engine: Engine, spec: BuildSpec,
                   pack: Any, directory: Path, version: str, *,
                   firmware: dict[str, Any]) -> Artifacts:
    """Place the archive, the SBOM and ROMs in `directory`; hash them (the attested set)."""
    tarball = Path(pack.tarball)
    ext = "".join(tarball.suffixes[-2:]) if tarball.name.endswith(
        (".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2")) else tarball.suffix
    archive = f"{proj.env_image}-{version}{ext}"
    named = f"{proj.env_image}:{version}"  # what `docker load` of the archive gives
    if runner.dry_run:
        guix_query_packages(runner, engine, spec)
        retag_archive(runner, engine, spec.builder_image, spec.pack_options.compressor, tarball,
                      directory / archive, named)
        runner.show(f"# {tarball.name} named {named} → {archive}, write {SBOM_NAME}, "
                    f"{STATEMENT_NAME} and {SUMS}")
        return Artifacts(directory, archive, {}, pack, "", [], firmware)
    directory.mkdir(parents=True, exist_ok=True)
    with runner.step(f"name the image archive {named} (in the builder)"):
        named_with = retag_archive(runner, engine, spec.builder_image,
                                   spec.pack_options.compressor, tarball, directory / archive,
                                   named)
    (directory / NAMED_WITH).write_text(named_with + "\n", encoding="utf-8")
    digests = image_digests(directory / archive)
    packages = guix_query_packages(runner, engine, spec)
    infos = store_info(directory / archive)
    sbom = build_sbom(image_name=proj.env_image, version=version,
                      store_items=store_items(directory / archive), packages=packages,
                      pack_sha256=pack.sha256, image_id=digests.image_id,
                      source_date_epoch=proj.source_date_epoch, infos=infos)
    validate_sbom(sbom)
    (directory / SBOM_NAME).write_text(sbom, encoding="utf-8")
    archive_sha256 = sha256_file(directory / archive)  # once: the archive may be gigabytes
    names = [SBOM_NAME]
    roms = {}
    for target, rom in sorted(firmware.get("roms", {}).items()):
        name = f"firmware-{target}.rom"
        shutil.copyfile(rom["path"], directory / name)
        names.append(name)
        roms[name] = str(rom.get("sha256", ""))
    statement = build_statement(
        archive=archive, archive_sha256=archive_sha256, image_id=digests.image_id, roms=roms,
        pack_record=dict(getattr(pack, "record", {}) or {}), rom_sources=rom_sources_of(firmware),
        version=version)
    validate_shape(statement)
    (directory / STATEMENT_NAME).write_text(statement_text(statement), encoding="utf-8")
    names.append(STATEMENT_NAME)
    sums = {archive: archive_sha256, **hash_files(directory, names)}
    (directory / SUMS).write_text(sums_text(sums), encoding="utf-8")
    return Artifacts(directory, archive, sums, pack, digests.image_id, list(digests.diff_ids),
                     firmware, infos, named_with)


def kept_artifacts(directory: Path, pack: Any, version: str, env_image: str,
                   firmware: dict[str, Any]) -> Artifacts | None:
    """The artifacts a release that failed after making them left in `directory`, if every
    file still has its recorded sha256, the archive is this pack named `<env_image>:<version>`
    and the ROMs are this smoke run's; else None (make them again)."""
    try:
        sums = parse_sums((directory / SUMS).read_text(encoding="utf-8"))
    except (OSError, FwenvError):
        return None
    archive = next((n for n in sums if n.startswith(f"{env_image}-{version}.tar")), None)
    roms = {n: d for n, d in sums.items() if n.startswith("firmware-")}
    wanted = {f"firmware-{t}.rom": str(r.get("sha256", ""))
              for t, r in firmware.get("roms", {}).items()}
    if archive is None or roms != wanted or check_files(directory, sums):
        return None
    digests, built = image_digests(directory / archive), image_digests(Path(pack.tarball))
    if (digests.image_id, digests.diff_ids) != (built.image_id, built.diff_ids) or \
            digests.repo_tags != (f"{env_image}:{version}",):
        return None
    named_with = (directory / NAMED_WITH).read_text(encoding="utf-8").strip() \
        if (directory / NAMED_WITH).is_file() else ""
    return Artifacts(directory, archive, sums, pack, digests.image_id, list(digests.diff_ids),
                     firmware, store_info(directory / archive), named_with)


def place(arts: Artifacts, dest: Path) -> None:
    """Link (or copy) the artifacts' files into the staged release dir `dest`."""
    for name in [*arts.sums, SUMS]:
        try:
            os.link(arts.directory / name, dest / name)
        except OSError:
            shutil.copyfile(arts.directory / name, dest / name)


def import_image(runner: Runner, engine: Engine, pack: Any, ref: str) -> Any:
    """`docker load` the pack and tag it (fwenv.importer: checks it against its provenance)."""
    return import_pack(runner, engine, Path(pack.tarball), ref, provenance=Path(pack.provenance),
                       pack_format="docker", force=True)


def provenance_record(proj: ReleaseProject, opts: ReleaseOptions, arts: Artifacts, imported: Any,
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
            "pack": {"file": arts.archive, "sha256": arts.sums.get(arts.archive, ""),
                     "guix_output_sha256": arts.pack.sha256,  # before it was named (retag)
                     "named_with": arts.named_with,
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
        "source": git_state(proj.root),
        "preflight": checks,
        "built": {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "pack_provenance": pack_record,
    }


def load_provenance_file(release_dir: Path) -> dict[str, Any]:
    path = release_dir / PROVENANCE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FwenvError(f"{path} not found: is {release_dir} a release directory?") from None
    except ValueError:
        raise FwenvError(f"{path} is not JSON: the release is damaged; re-download it") from None
