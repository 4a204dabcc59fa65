"""The CycloneDX SBOM: built from Guix's package data and the pack's store items."""

from __future__ import annotations

import json

import pytest

from fwenv.errors import FwenvError
from fwenv.release.sbom import build_sbom, parse_query_output, split_store_name, validate_sbom

HELLO = "/gnu/store/wcvizbb0r8h69jjan44lmbmvlghjbnbj-hello-2.12.1"
PROFILE = "/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-profile"
PACKAGES = [
    {"name": "hello", "version": "2.12.1", "licenses": ["GPL 3+"], "root": True,
     "home-page": "https://www.gnu.org/software/hello/", "outputs": [HELLO],
     "source": {"kind": "origin", "uri": "mirror://gnu/hello/hello-2.12.1.tar.gz",
                "algorithm": "sha256", "hex": "8d99142afd92576f30b0cd7cb42a8dc6809998bc5d607d88"
                "761f512e26c7db20", "nix-base32": "086vqwk2wl8zfs47sq2xpjc9k066ilmb8z6dn0q6ymwjzl"
                "m196cd"}},
    {"name": "gcc", "version": "14.3.0", "licenses": ["GPL 3+", "some-odd-license"],
     "root": False, "home-page": "", "outputs": ["/gnu/store/x-gcc-14.3.0"],
     "source": {"kind": "origin-without-hash"}},
]


def _sbom(**kw):
    args = dict(image_name="coreboot-build-env", version="1.0", store_items=[HELLO, PROFILE],
                packages=PACKAGES, pack_sha256="ab" * 32, image_id="sha256:" + "cd" * 32)
    args.update(kw)
    return build_sbom(**args)


def test_sbom_validates_against_the_cyclonedx_schema() -> None:
    text = _sbom()
    validate_sbom(text)
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"]["type"] == "container"
    comps = {c["bom-ref"]: c for c in doc["components"]}
    assert set(comps) == {HELLO, PROFILE}  # only what the image ships; gcc was build-only
    hello = comps[HELLO]
    assert (hello["name"], hello["version"]) == ("hello", "2.12.1")
    assert hello["licenses"] == [{"license": {"id": "GPL-3.0-or-later"}}]
    src = next(r for r in hello["externalReferences"] if r["type"] == "source-distribution")
    assert src["hashes"][0]["content"] == PACKAGES[0]["source"]["hex"]
    props = {p["name"]: p["value"] for p in hello["properties"]}
    assert props["guix:source-hash"].startswith("sha256:086vqwk2")
    profile = comps[PROFILE]
    assert profile["name"] == "profile"
    assert {"name": "guix:generated", "value": "true"} in profile["properties"]


def test_sbom_is_deterministic() -> None:
    assert _sbom() == _sbom()
    assert json.loads(_sbom())["metadata"]["timestamp"].startswith("1970-01-01T00:00:00")
    serial = json.loads(_sbom())["serialNumber"]
    assert json.loads(_sbom(pack_sha256="ef" * 32))["serialNumber"] != serial


def test_unknown_license_is_kept_by_name() -> None:
    text = _sbom(store_items=["/gnu/store/x-gcc-14.3.0"])
    validate_sbom(text)
    [gcc] = json.loads(text)["components"]
    assert {"license": {"name": "some-odd-license"}} in gcc["licenses"]


def test_schema_violation_is_detected() -> None:
    doc = json.loads(_sbom())
    doc["components"][0]["type"] = "not-a-type"
    with pytest.raises(FwenvError, match="CycloneDX 1.6 schema"):
        validate_sbom(json.dumps(doc))


@pytest.mark.parametrize("item,expected", [
    (HELLO, ("hello", "2.12.1")),
    ("/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-util-linux-2.40.4-lib", ("util-linux",
                                                                           "2.40.4-lib")),
    (PROFILE, ("profile", "")),
])
def test_store_names_split(item: str, expected: tuple[str, str]) -> None:
    assert split_store_name(item) == expected


def test_query_output_with_warnings_before_the_json() -> None:
    text = "guix repl: warning: something\n" + json.dumps(PACKAGES) + "\n"
    assert parse_query_output(text)[0]["name"] == "hello"
    with pytest.raises(FwenvError, match="--verbose"):
        parse_query_output("error: boom\n")


def test_sbom_with_store_info_has_purls_hashes_types_and_the_reference_graph() -> None:
    """Every component: a package URL (packageurl-python parses it back), its NAR sha256, a
    type, and its store references as dependencies; the image depends on the top items only.
    Validated by cyclonedx-python-lib's strict CycloneDX 1.6 schema validator."""
    from packageurl import PackageURL

    from fwenv.release.storeinfo import ItemInfo

    infos = {HELLO: ItemInfo(HELLO, "11" * 32, 4096, (), programs=True),
             PROFILE: ItemInfo(PROFILE, "22" * 32, 512, (HELLO,))}
    text = _sbom(infos=infos)
    validate_sbom(text)
    doc = json.loads(text)
    comps = {c["bom-ref"]: c for c in doc["components"]}
    assert comps[HELLO]["purl"] == "pkg:guix/hello@2.12.1"
    assert comps[HELLO]["type"] == "application" and comps[PROFILE]["type"] == "file"
    generic = PackageURL.from_string(comps[PROFILE]["purl"])
    assert (generic.type, generic.name) == ("generic", "profile")
    assert generic.qualifiers == {"checksum": "sha256:" + "22" * 32,
                                  "store_hash": PROFILE.split("/")[3][:32]}
    for ref, info in infos.items():
        assert comps[ref]["hashes"] == [{"alg": "SHA-256", "content": info.nar_sha256}]
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert graph["coreboot-build-env:1.0"] == [PROFILE]  # nothing refers to the profile
    assert graph[PROFILE] == [HELLO] and graph[HELLO] == []
