"""The in-toto Statement v1 / SLSA Provenance v1 a release writes, checked with in-toto's own
Python bindings (in-toto-attestation: Statement.validate and the Provenance v1 protobuf, parsed
strictly so an unknown or mistyped field fails) — no engine needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fwenv.release.intoto import (
    build_statement,
    check_statement,
    statement_text,
    validate_shape,
)

pytestmark = pytest.mark.unit

RECORD = json.loads((Path(__file__).parents[1] / "unit" / "provenance_example.json").read_text())
ARCHIVE = "coreboot-build-env-1.0.tar.gz"
SUMS = {ARCHIVE: "aa" * 32, "firmware-qemu-q35.rom": "bb" * 32, "sbom.cdx.json": "cc" * 32}
IMAGE_ID = "sha256:" + "dd" * 32
SOURCES = {"qemu-q35": {"kind": "debian", "files": [
    {"name": "coreboot_25.09+dfsg.orig.tar.xz", "url": "http://deb.debian.org/x.tar.xz",
     "sha256": "96bfaa8d6d0c4df548e39baf48a4de64abbe265f586ae20a74685c5604ac0865"}]}}


def _statement() -> dict:
    return build_statement(archive=ARCHIVE, archive_sha256=SUMS[ARCHIVE], image_id=IMAGE_ID,
                           roms={"firmware-qemu-q35.rom": SUMS["firmware-qemu-q35.rom"]},
                           pack_record=RECORD, rom_sources=SOURCES, version="1.0")


def validate_with_reference_bindings(text: str) -> None:
    """in-toto-attestation's Statement (strict JSON parse + validate()) and the SLSA
    Provenance v1 message (strict parse of the predicate, plus the fields the spec requires)."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement
    from in_toto_attestation.v1.statement_pb2 import Statement as StatementPb

    pb = json_format.Parse(text, StatementPb())  # unknown fields raise
    stmt = Statement.copy_from_pb(pb)
    stmt.validate()
    prov = json_format.ParseDict(json.loads(text)["predicate"], provenance_pb2.Provenance())
    assert prov.build_definition.build_type and prov.run_details.builder.id
    assert prov.build_definition.HasField("external_parameters")
    for dep in prov.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dep).validate()
    for by in prov.run_details.byproducts:
        ResourceDescriptor.copy_from_pb(by).validate()


def test_statement_validates_with_in_toto_bindings() -> None:
    text = statement_text(_statement())
    validate_with_reference_bindings(text)
    doc = json.loads(text)
    assert [s["name"] for s in doc["subject"]] == [ARCHIVE, ARCHIVE + "#config",
                                                   "firmware-qemu-q35.rom"]
    assert doc["subject"][1]["digest"] == {"sha256": "dd" * 32}
    deps = doc["predicate"]["buildDefinition"]["resolvedDependencies"]
    commit = RECORD["guix"]["channels"][0]["commit"]
    assert deps[0] == {"name": "channel:guix", "digest": {"gitCommit": commit},
                       "uri": f"git+https://git.example/guix.git@{commit}"}
    names = [d["name"] for d in deps]
    assert {"guix/manifest.scm", "guix/channels.scm", "guix/load",
            "coreboot_25.09+dfsg.orig.tar.xz"} <= set(names)


def test_statement_is_deterministic_and_checked_against_the_release() -> None:
    text = statement_text(_statement())
    assert text == statement_text(_statement())  # same bytes for every signer
    assert check_statement(text, SUMS, IMAGE_ID) == []
    assert check_statement(text, {**SUMS, ARCHIVE: "00" * 32}, IMAGE_ID) == [
        f"slsa-provenance.intoto.json: subject {ARCHIVE} is not in SHA256SUMS with that sha256"]
    assert "is not the archive's image ID" in check_statement(text, SUMS, "sha256:" + "0" * 64)[0]
    extra = {**SUMS, "firmware-other.rom": "ee" * 32}
    assert check_statement(text, extra, IMAGE_ID) == [
        "slsa-provenance.intoto.json: firmware-other.rom is released but not a subject"]


def test_a_statement_without_subject_digest_fails_both_checks() -> None:
    from fwenv.errors import FwenvError

    bad = _statement()
    bad["subject"][0]["digest"] = {}
    with pytest.raises(FwenvError, match="lacks a required"):
        validate_shape(bad)
    with pytest.raises(ValueError, match="digest"):
        validate_with_reference_bindings(statement_text(bad))
