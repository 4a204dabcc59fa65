"""REPORT.md: a release as people read it (and CI step summaries show it).

Signers × artifacts (✓ the signer's sums attest the release's file, ✗ they differ or the
signature does not verify), the image ID, the ROM hashes, the 20 largest store items (NAR size,
from the SBOM) and the chain from the channel commit to the ROMs (from provenance.json).

`invoke release` writes it (signed, beside provenance.json) with the one signature it made;
`invoke release.verify --format markdown` prints the same from the release directory with every
signer's verification, so the two differ only in the signer rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from .sign import SUMS, parse_sums

REPORT = "REPORT.md"
LARGEST = 20
YES, NO, UNKNOWN = "✓", "✗", "?"


def _load(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _cells(row: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    status, detail = str(row.get("status", "")), str(row.get("detail", ""))
    signer = str(row.get("signer", ""))
    if signer == "signers" or signer.startswith("image "):  # not a set of sums
        return ["—"] * len(names)
    if status in ("verified", "signed"):
        return [YES] * len(names)
    if status == "differs":
        bad = {n for n in names if f"{n} " in detail or f"{n}:" in detail}
        return [NO if n in bad or not bad else YES for n in names]
    if status in ("unknown signer", "same key"):
        return [UNKNOWN] * len(names)
    return [NO] * len(names)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def largest_items(sbom: Mapping[str, Any], n: int = LARGEST) -> list[tuple[str, int]]:
    """(store item, NAR size) of the n largest SBOM components, largest first."""
    sized = []
    for c in sbom.get("components") or []:
        props = {p.get("name"): p.get("value") for p in c.get("properties") or []}
        if props.get("guix:nar-size", "").isdigit():
            sized.append((str(c.get("bom-ref")), int(props["guix:nar-size"])))
    return sorted(sized, key=lambda x: (-x[1], x[0]))[:n]


def _chain(prov: Mapping[str, Any]) -> list[str]:
    chain = prov.get("chain") or {}
    guix = chain.get("guix") or {}
    lines = []
    channels = guix.get("channels") or []
    for ch in channels:
        lines.append(f"channel `{ch.get('name')}` {ch.get('url', '')} at commit "
                     f"`{ch.get('commit', '')}`")
    if not channels:
        lines.append(f"Guix {guix.get('version', '?')} of the builder image (no channel pin)")
    manifest = chain.get("manifest") or {}
    lines.append(f"manifest `{manifest.get('file', '?')}` (sha256 `{manifest.get('sha256', '')}`)")
    lines.append(f"derivation `{chain.get('derivation', '')}`")
    pack = chain.get("pack") or {}
    lines.append(f"pack `{pack.get('file', '')}` (sha256 `{pack.get('sha256', '')}`)")
    image = chain.get("image") or {}
    lines.append(f"image `{image.get('ref', '')}`, ID `{image.get('id', '')}`")
    fw = chain.get("firmware") or {}
    roms = fw.get("roms") or {}
    for target, rom in sorted(roms.items()):
        lines.append(f"ROM `{target}` built in `{fw.get('image', '')}`: "
                     f"sha256 `{rom.get('sha256', '')}`")
    if not roms:
        lines.append(f"no ROM ({fw.get('note') or fw.get('status', 'skipped')})")
    return lines


def render_report(release_dir: Path | None, version: str,
                  rows: Sequence[Mapping[str, Any]]) -> str:
    """The report's Markdown. `rows`: signer results as dicts (signer, status, detail);
    without a release directory only the signer rows (the artifacts are unknown)."""
    prov, sbom, sums = {}, {}, {}
    if release_dir is not None:
        prov = _load(release_dir / "provenance.json")
        sbom = _load(release_dir / "sbom.cdx.json")
        try:
            sums = parse_sums((release_dir / SUMS).read_text(encoding="utf-8"), SUMS)
        except (OSError, FwenvError, UnicodeDecodeError):
            sums = {}
    names = sorted(sums)
    chain = prov.get("chain") or {}
    image = chain.get("image") or {}
    out = [f"# Release {version}", "",
           f"- image: `{image.get('ref', '?')}`", f"- image ID: `{image.get('id', '?')}`",
           f"- registry: `{(chain.get('registry') or {}).get('pinned', 'not pushed')}`", "",
           "## Signers × artifacts", "",
           "| signer | status | " + " | ".join(f"`{n}`" for n in names) + " |",
           "|---|---|" + "---|" * len(names)]
    for row in rows:
        status = str(row.get("status", ""))
        detail = str(row.get("detail", "")).replace("|", "\\|")
        label = f"{status} ({detail})" if detail else status
        out.append(f"| {row.get('signer', '')} | {label} | "
                   + " | ".join(_cells(row, names)) + " |")
    out += ["", f"{YES} the signer's signed {SUMS} lists the release's file with the same "
            f"sha256; {NO} it differs, is missing or the signature fails; {UNKNOWN} not counted "
            "(unknown key, or a key already counted).", "", "## ROMs", ""]
    roms = {n: h for n, h in sums.items() if n.endswith(".rom")}
    out += (["| ROM | sha256 |", "|---|---|"] + [f"| `{n}` | `{h}` |" for n, h in
                                                  sorted(roms.items())]) if roms else \
        ["No ROMs in this release."]
    out += ["", f"## The {LARGEST} largest store items", ""]
    big = largest_items(sbom)
    out += (["| store item | NAR size |", "|---|---:|"]
            + [f"| `{item}` | {_human(size)} |" for item, size in big]) if big else \
        ["The SBOM records no store item sizes."]
    out += ["", "## Chain from channel commit to ROM", ""]
    out += [f"{i}. {line}" for i, line in enumerate(_chain(prov), 1)]
    return "\n".join(out) + "\n"


def verify_report(result: Mapping[str, Any]) -> str:
    """`release.verify --format markdown`: the report of the checked release directory with
    every row release.verify printed, then whether the verification passed."""
    where = result.get("release_dir")
    text = render_report(Path(where) if where else None, str(result["version"]),
                         result.get("results") or [])
    verdict = "passed" if result.get("ok") else "FAILED"
    return text + f"\nVerification {verdict}.\n"
