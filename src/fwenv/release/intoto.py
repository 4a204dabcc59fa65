"""The release's provenance in the standard shape tools read: an in-toto Statement v1 whose
predicate is SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance).

Subjects: the image archive, the image's config digest (= its image ID) and every smoke ROM.
resolvedDependencies: the Guix channel commits, the channels file, the manifest and load-path
modules, the builder image, and the firmware sources the ROMs were built from.

The statement is part of the reproducible set: it holds nothing that differs between two
independent builders (no times, host names or signer), so it is listed in SHA256SUMS and every
signer's rebuild must produce the same bytes; the signature over SHA256SUMS signs it.
`check_statement` is what release.verify runs: the subjects must be what the release holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import FwenvError

STATEMENT_NAME = "slsa-provenance.intoto.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:fwenv:buildtype:guix-pack-release:v1"  # documented in docs/release.md
BUILDER_ID = "urn:fwenv:builder:guix-daemon-in-container:v1"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"


def _sha(value: str) -> dict[str, str]:
    return {"sha256": value.removeprefix("sha256:")}


def _dependencies(pack_record: Mapping[str, Any],
                  rom_sources: Mapping[str, Any]) -> list[dict[str, Any]]:
    deps: list[dict[str, Any]] = []
    guix = pack_record.get("guix") or {}
    for ch in guix.get("channels") or []:
        dep: dict[str, Any] = {"name": f"channel:{ch.get('name', '')}",
                               "uri": f"git+{ch.get('url', '')}"}
        if ch.get("commit"):
            dep["digest"] = {"gitCommit": str(ch["commit"])}
            dep["uri"] += f"@{ch['commit']}"
        deps.append(dep)
    if guix.get("channels_file") and guix.get("channels_sha256"):
        deps.append({"name": str(guix["channels_file"]), "digest": _sha(guix["channels_sha256"])})
    if not guix.get("channels"):  # the builder's own Guix (no time-machine): its version
        deps.append({"name": "guix", "uri": f"pkg:deb/debian/guix@{guix.get('version', '')}",
                     "annotations": {"note": "the builder image's own Guix (no channel pin)"}})
    manifest = pack_record.get("manifest") or {}
    if manifest.get("sha256"):
        deps.append({"name": str(manifest.get("file", "manifest.scm")),
                     "digest": _sha(manifest["sha256"])})
    for lp in pack_record.get("load_path") or []:
        if lp.get("sha256"):
            deps.append({"name": str(lp.get("dir", "")), "digest": _sha(lp["sha256"]),
                         "annotations": {"kind": "guix load path (directory digest)"}})
    builder = pack_record.get("builder") or {}
    if builder.get("content_digest"):
        deps.append({"name": str(builder.get("image", "builder")),
                     "digest": _sha(builder["content_digest"]),
                     "annotations": {"kind": "builder image (content digest)"}})
    seen: set[tuple[str, str]] = set()
    for target in sorted(rom_sources):
        for f in rom_sources[target].get("files") or []:
            key = (str(f.get("name", "")), str(f.get("sha256", "")))
            if key in seen or not key[1]:
                continue
            seen.add(key)
            dep = {"name": key[0], "digest": _sha(key[1])}
            if f.get("url"):
                dep["uri"] = str(f["url"])
            deps.append(dep)
    return deps


def build_statement(*, archive: str, archive_sha256: str, image_id: str,
                    roms: Mapping[str, str], pack_record: Mapping[str, Any],
                    rom_sources: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The Statement (a dict; `statement_text` writes it). `roms`: file name -> sha256;
    `rom_sources`: target -> the firmware provenance's "source" (files with url/sha256)."""
    subjects = [{"name": archive, "digest": _sha(archive_sha256)},
                {"name": f"{archive}#config", "digest": _sha(image_id),
                 "mediaType": CONFIG_MEDIA_TYPE,
                 "annotations": {"note": "the image's config digest, i.e. its image ID"}}]
    subjects += [{"name": n, "digest": _sha(h)} for n, h in sorted(roms.items())]
    opts = pack_record.get("options") or {}
    external = {
        "version": version,
        "manifest": (pack_record.get("manifest") or {}).get("file", ""),
        "channels": (pack_record.get("guix") or {}).get("channels_file") or "",
        "pack": {k: opts.get(k) for k in ("format", "compressor", "symlinks", "entry_point",
                                           "substitutes", "time_machine", "guix_options")
                 if k in opts},
        "smoke_targets": sorted(rom_sources),
    }
    internal = {"daemon_mode": opts.get("daemon_mode", ""),
                "builder_recipe": (pack_record.get("builder") or {}).get("recipe", ""),
                "guix_version": (pack_record.get("guix") or {}).get("version", "")}
    byproducts = []
    if pack_record.get("derivation"):
        byproducts.append({"name": "pack derivation", "uri": str(pack_record["derivation"])})
    if pack_record.get("store_path"):
        byproducts.append({"name": "pack store item", "uri": str(pack_record["store_path"])})
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": _dependencies(pack_record, rom_sources),
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID,
                            "version": {"guix": str(internal["guix_version"])}},
                "metadata": {"invocationId": f"release {version}"},
                "byproducts": byproducts,
            },
        },
    }


def statement_text(statement: Mapping[str, Any]) -> str:
    return json.dumps(statement, indent=2, sort_keys=True) + "\n"


def rom_sources_of(firmware: Mapping[str, Any]) -> dict[str, Any]:
    """target -> the "source" of the provenance.json fwenv.firmware wrote beside each ROM."""
    out = {}
    for target, rom in sorted((firmware.get("roms") or {}).items()):
        prov = Path(str(rom.get("path", ""))).parent / "provenance.json"
        try:
            out[target] = json.loads(prov.read_text(encoding="utf-8")).get("source") or {}
        except (OSError, ValueError):
            out[target] = {}
    return out


def check_statement(text: str, sums: Mapping[str, str], image_id: str | None) -> list[str]:
    """What is wrong with a release's statement: not the shape, or subjects that are not the
    release's files (by SHA256SUMS) or its image ID. [] when it holds."""
    try:
        doc = json.loads(text)
    except ValueError:
        return [f"{STATEMENT_NAME} is not JSON"]
    problems = []
    if doc.get("_type") != STATEMENT_TYPE or doc.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"{STATEMENT_NAME} is not an in-toto v1 statement of SLSA provenance v1")
    subjects = doc.get("subject") or []
    for s in subjects:
        name, digest = str(s.get("name", "")), (s.get("digest") or {}).get("sha256", "")
        if name.endswith("#config"):
            if image_id is not None and f"sha256:{digest}" != image_id:
                problems.append(f"{STATEMENT_NAME}: config digest {digest[:12]} is not the "
                                f"archive's image ID {image_id}")
        elif sums.get(name) != digest:
            problems.append(f"{STATEMENT_NAME}: subject {name} is not in {'SHA256SUMS'} "
                            "with that sha256")
    listed = {str(s.get("name", "")) for s in subjects}
    missing = sorted(n for n in sums if (n.endswith(".rom") or n.endswith((".tar.xz", ".tar.gz",
                                         ".tar.zst", ".tar.bz2", ".tar"))) and n not in listed)
    problems += [f"{STATEMENT_NAME}: {n} is released but not a subject" for n in missing]
    return problems


def validate_shape(statement: Mapping[str, Any]) -> None:
    """The required fields of Statement v1 and Provenance v1 (a cheap guard before writing;
    the tests check the full schema with in-toto's reference bindings)."""
    pred = statement.get("predicate") or {}
    bd, rd = pred.get("buildDefinition") or {}, pred.get("runDetails") or {}
    ok = (statement.get("_type") == STATEMENT_TYPE and statement.get("subject")
          and all((s.get("digest") or {}) for s in statement["subject"])
          and statement.get("predicateType") == PREDICATE_TYPE
          and bd.get("buildType") and isinstance(bd.get("externalParameters"), dict)
          and (rd.get("builder") or {}).get("id"))
    if not ok:
        raise FwenvError(f"{STATEMENT_NAME} lacks a required in-toto/SLSA field: "
                         "report this as a fwenv bug")
