"""CycloneDX SBOM of an environment image: every /gnu/store item the pack ships, described the
way Guix knows it (name, version, licenses, source origin hash).

Two inputs, matched by store path:
- the store items found in the pack archive itself (what is really shipped), and
- `GUIX_QUERY`, a Guile script run with `guix repl` in the builder over the same manifest: for
  every package in the manifest's closure, its name, version, licenses, home page, source origin
  (URI + hash) and output store paths (computing derivations only; nothing is built).
Store items no package claims (the profile, generated files) are listed as `guix:generated`.
With the items' store info (fwenv.release.storeinfo, read from the archive) every component also
gets its NAR sha256 as its hash, a package URL (`pkg:guix/NAME@VERSION`, or for generated items
`pkg:generic/NAME@VERSION?checksum=sha256:NAR&store_hash=HASH`), a type (application when it
has bin/ or sbin/, else library; generated items without programs: file) and its dependencies:
the store references, as the daemon records them (the image depends on the items nothing refers
to). The output is deterministic: serial number from the pack hash, timestamp = SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import FwenvError
from ..fsutil import script
from .storeinfo import ItemInfo

SPEC = "1.6"

# Guile, run as: guix repl [-L DIR] -- query.scm MANIFEST  -> JSON array on stdout.
GUIX_QUERY = script(__package__, "sbom-query.scm")

# Guix license names -> SPDX ids (the common ones; others stay as names).
SPDX = {
    "GPL 1+": "GPL-1.0-or-later", "GPL 2": "GPL-2.0-only", "GPL 2+": "GPL-2.0-or-later",
    "GPL 3": "GPL-3.0-only",
    "GPL 3+": "GPL-3.0-or-later", "LGPL 2.0+": "LGPL-2.0-or-later", "LGPL 2.1": "LGPL-2.1-only",
    "LGPL 2.1+": "LGPL-2.1-or-later", "LGPL 3": "LGPL-3.0-only", "LGPL 3+": "LGPL-3.0-or-later",
    "AGPL 3+": "AGPL-3.0-or-later", "GFDL 1.3+": "GFDL-1.3-or-later", "Expat": "MIT",
    "Modified BSD": "BSD-3-Clause", "FreeBSD": "BSD-2-Clause", "Original BSD": "BSD-4-Clause",
    "ASL 2.0": "Apache-2.0", "MPL 2.0": "MPL-2.0", "ISC": "ISC", "Zlib": "Zlib",
    "Public Domain": "CC0-1.0", "CC0": "CC0-1.0", "Perl Artistic 2.0": "Artistic-2.0",
    "bzip2-1.0.6": "bzip2-1.0.6", "X11": "X11", "Unlicense": "Unlicense",
    "Boost 1.0": "BSL-1.0", "OpenSSL": "OpenSSL", "Python Software Foundation License": "PSF-2.0",
}

_STORE_ITEM = re.compile(r"^/gnu/store/([0-9a-df-np-sv-z]{32})-(.+)$")


def parse_query_output(text: str) -> list[dict[str, Any]]:
    """The JSON array GUIX_QUERY prints (guix may print warnings before it)."""
    start = text.find("[{")
    if start < 0:
        start = text.find("[]")
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        data = None
    if not isinstance(data, list):
        raise FwenvError("the Guix package query printed no JSON: run with --verbose to see "
                         "guix repl's output")
    return data


def split_store_name(item: str) -> tuple[str, str]:
    """`/gnu/store/<hash>-hello-2.12.1` -> ("hello", "2.12.1"); version '' when none."""
    m = _STORE_ITEM.match(item)
    rest = m.group(2) if m else item.rsplit("/", 1)[-1]
    parts = rest.split("-")
    for i in range(1, len(parts)):
        if parts[i][:1].isdigit():
            return "-".join(parts[:i]), "-".join(parts[i:])
    return rest, ""


def _license(name: str) -> Any:
    from cyclonedx.model.license import DisjunctiveLicense

    spdx = SPDX.get(name)
    return DisjunctiveLicense(id=spdx) if spdx else DisjunctiveLicense(name=name or "unknown")


def build_sbom(
    *,
    image_name: str,
    version: str,
    store_items: Iterable[str],
    packages: Iterable[Mapping[str, Any]],
    pack_sha256: str,
    image_id: str = "",
    source_date_epoch: int = 0,
    infos: Mapping[str, ItemInfo] | None = None,
) -> str:
    """CycloneDX 1.6 JSON text for the image (deterministic for equal inputs)."""
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    by_output: dict[str, Mapping[str, Any]] = {}
    output_name: dict[str, str] = {}
    for entry in packages:
        names = list(entry.get("output-names", ()))
        for i, out in enumerate(entry.get("outputs", ())):
            by_output[out] = entry
            output_name[out] = str(names[i]) if i < len(names) else "out"
    infos = infos or {}

    components = []
    for item in sorted(set(store_items) | set(infos)):
        pkg: Mapping[str, Any] | None = by_output.get(item)
        props = [Property(name="guix:store-path", value=item)]
        refs = []
        if pkg:
            name, ver = str(pkg["name"]), str(pkg["version"])
            licenses = [_license(str(x)) for x in pkg.get("licenses", ())]
            src = pkg.get("source", {})
            props.append(Property(name="guix:source-kind", value=str(src.get("kind", "none"))))
            if src.get("kind") == "origin":
                props.append(Property(name="guix:source-hash",
                                      value=f"{src['algorithm']}:{src['nix-base32']}"))
                alg = {"sha256": HashAlgorithm.SHA_256, "sha512": HashAlgorithm.SHA_512}.get(
                    str(src["algorithm"]))
                uri = str(src.get("uri") or "")
                if uri:
                    refs.append(ExternalReference(
                        type=ExternalReferenceType.SOURCE_DISTRIBUTION, url=XsUri(uri),
                        hashes=[HashType(alg=alg, content=str(src["hex"]))] if alg else None))
            if pkg.get("home-page"):
                refs.append(ExternalReference(type=ExternalReferenceType.WEBSITE,
                                              url=XsUri(str(pkg["home-page"]))))
        else:
            name, ver = split_store_name(item)
            licenses = []
            props.append(Property(name="guix:generated", value="true"))
        info = infos.get(item)
        hashes = []
        if info is not None:
            hashes = [HashType(alg=HashAlgorithm.SHA_256, content=info.nar_sha256)]
            props.append(Property(name="guix:nar-size", value=str(info.nar_size)))
        components.append(Component(
            name=name, version=ver or None, type=_type(pkg is not None, info), bom_ref=item,
            licenses=licenses, properties=props, external_references=refs, hashes=hashes,
            purl=_purl(item, name, ver, output_name.get(item) if pkg else None, info)))

    root = Component(
        name=image_name, version=version, type=ComponentType.CONTAINER,
        bom_ref=f"{image_name}:{version}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=pack_sha256)],
        properties=[Property(name="docker:image-id", value=image_id)] if image_id else None)
    bom = Bom(
        components=components,
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:fwenv:pack:{pack_sha256}"),
        metadata=BomMetaData(
            component=root,
            timestamp=dt.datetime.fromtimestamp(source_date_epoch, tz=dt.timezone.utc)),
        dependencies=_graph(root.bom_ref, {str(c.bom_ref): c.bom_ref for c in components}, infos),
    )
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def _type(packaged: bool, info: ItemInfo | None) -> Any:
    from cyclonedx.model.component import ComponentType

    if info is not None and info.programs:
        return ComponentType.APPLICATION
    return ComponentType.LIBRARY if packaged or info is None else ComponentType.FILE


def _purl(item: str, name: str, version: str, output: str | None,
          info: ItemInfo | None) -> Any:
    """pkg:guix/NAME@VERSION[?output=OUT] for a package's output; for an item no package
    claims, pkg:generic/NAME@VERSION with its NAR sha256 and store hash."""
    from packageurl import PackageURL

    if output is not None:
        return PackageURL(type="guix", name=name, version=version or None,
                          qualifiers={"output": output} if output != "out" else None)
    m = _STORE_ITEM.match(item)
    q = {"store_hash": m.group(1)} if m else {}
    if info is not None:
        q["checksum"] = f"sha256:{info.nar_sha256}"
    return PackageURL(type="generic", name=name, version=version or None, qualifiers=q or None)


def _graph(root: Any, refs: Mapping[str, Any], infos: Mapping[str, ItemInfo]) -> list[Any]:
    """The image depends on the items nothing else refers to; each item on its references."""
    from cyclonedx.model.dependency import Dependency

    referred = {r for i in infos.values() for r in i.references if r in refs}
    tops = [r for r in refs if r not in referred] if infos else list(refs)
    deps = [Dependency(ref=root, dependencies=[Dependency(ref=refs[r]) for r in tops])]
    for r, ref in refs.items():
        own = [x for x in (infos[r].references if r in infos else ()) if x in refs]
        deps.append(Dependency(ref=ref, dependencies=[Dependency(ref=refs[x]) for x in own]))
    return deps


def validate_sbom(text: str) -> None:
    """Validate against the CycloneDX 1.6 JSON schema (strict); raise a one-line error."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise FwenvError(f"SBOM fails the CycloneDX {SPEC} schema: "
                         f"{str(error.data)[:200]}: report this as a fwenv bug")
