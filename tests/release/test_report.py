"""REPORT.md and `release.verify --format markdown` (no engine): signers × artifacts, image ID,
ROM hashes, the largest store items (from the SBOM's NAR sizes), the chain to the ROM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fwenv.release.report import largest_items, render_report, verify_report
from fwenv.release.sbom import build_sbom
from fwenv.release.sign import SUMS, sums_text
from fwenv.release.storeinfo import ItemInfo

pytestmark = pytest.mark.unit

ARCHIVE = "env-1.0.tar.xz"
ROM = "firmware-qemu-q35.rom"
SUM = {ARCHIVE: "aa" * 32, ROM: "bb" * 32, "sbom.cdx.json": "cc" * 32}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _release(d: Path, n_items: int = 25) -> Path:
    items = {f"/gnu/store/{i:032d}-item-{i}": ItemInfo(f"/gnu/store/{i:032d}-item-{i}",
                                                       "11" * 32, 1000 * i, ())
             for i in range(1, n_items + 1)}
    (d / "sbom.cdx.json").write_text(build_sbom(
        image_name="env", version="1.0", store_items=list(items), packages=[],
        pack_sha256="aa" * 32, infos=items))
    (d / "provenance.json").write_text(json.dumps({"chain": {
        "guix": {"channels": [{"name": "guix", "url": "https://git.example/guix.git",
                               "commit": COMMIT}]},
        "manifest": {"file": "guix/manifest.scm", "sha256": "dd" * 32},
        "derivation": "/gnu/store/" + "e" * 32 + "-env.tar.xz.drv",
        "pack": {"file": ARCHIVE, "sha256": SUM[ARCHIVE]},
        "image": {"ref": "env:1.0", "id": "sha256:" + "ff" * 32},
        "firmware": {"status": "built", "image": "env:1.0",
                     "roms": {"qemu-q35": {"file": ROM, "sha256": SUM[ROM]}}},
        "registry": None}}))
    (d / SUMS).write_text(sums_text(SUM))
    return d


def _row(md: str, signer: str) -> list[str]:
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {signer} |"))
    return [c.strip() for c in line.strip("|").split("|")][2:]


def test_report_has_signers_by_artifacts_image_roms_largest_items_and_chain(tmp_path) -> None:
    d = _release(tmp_path)
    rows = [{"signer": "release 1.0", "status": "verified", "detail": "signed by alice"},
            {"signer": "bob", "status": "differs", "detail": f"{ROM} differs"},
            {"signer": "carol", "status": "bad signature", "detail": "carol's key: bad"},
            {"signer": "dave", "status": "unknown signer", "detail": "no key"},
            {"signer": "signers", "status": "too few signers", "detail": "1 of 2"}]
    md = render_report(d, "1.0", rows)
    header = next(ln for ln in md.splitlines() if ln.startswith("| signer |"))
    assert header == f"| signer | status | `{ARCHIVE}` | `{ROM}` | `sbom.cdx.json` |"
    assert _row(md, "release 1.0") == ["✓", "✓", "✓"]
    assert _row(md, "bob") == ["✓", "✗", "✓"]
    assert _row(md, "carol") == ["✗", "✗", "✗"]
    assert _row(md, "dave") == ["?", "?", "?"]
    assert _row(md, "signers") == ["—", "—", "—"]
    assert f"- image ID: `sha256:{'ff' * 32}`" in md
    assert f"| `{ROM}` | `{SUM[ROM]}` |" in md
    big = [ln for ln in md.split("## The 20 largest store items")[1].split("##")[0].splitlines()
           if ln.startswith("| `/gnu/store/")]
    assert len(big) == 20 and "-item-25` | 24.4 KiB |" in big[0] and "-item-6`" in big[-1]
    chain = md.split("## Chain from channel commit to ROM")[1].strip().splitlines()
    assert chain[0] == f"1. channel `guix` https://git.example/guix.git at commit `{COMMIT}`"
    assert chain[-1] == f"6. ROM `qemu-q35` built in `env:1.0`: sha256 `{SUM[ROM]}`"


def test_largest_items_come_from_the_sbom_nar_sizes(tmp_path) -> None:
    sbom = json.loads((_release(tmp_path, 3) / "sbom.cdx.json").read_text())
    assert [s for _, s in largest_items(sbom)] == [3000, 2000, 1000]


def test_verify_markdown_is_the_report_with_the_verdict(tmp_path) -> None:
    d = _release(tmp_path)
    rows = [{"signer": "release 1.0", "status": "verified", "detail": "x"}]
    result = {"version": "1.0", "ok": True, "results": rows, "release_dir": str(d)}
    assert verify_report(result) == render_report(d, "1.0", rows) + "\nVerification passed.\n"
    no_dir = verify_report({"version": "1.0", "ok": False, "results": rows, "release_dir": None})
    assert no_dir.endswith("Verification FAILED.\n") and "| release 1.0 | verified (x) |" in no_dir
