"""Offline checks of guix/ against independent references, no Docker: coreboot 25.09's own files
(Debian's orig tarball in the shared cache) and docs/environment.md's tables."""

from __future__ import annotations

import hashlib
import re
import tarfile

from .conftest import GUIX_DIR
from .nixbase32 import nix_base32

DOCS = (GUIX_DIR.parent / "docs" / "environment.md").read_text(encoding="utf-8")
COREBOOT_SCM = (GUIX_DIR / "modules" / "fwenv" / "packages" / "coreboot.scm").read_text()
PATCHES_DIR = "coreboot-25.09/util/crossgcc/patches/"


def test_nix_base32_matches_guix_for_known_pins():
    # gcc-14.2.0.tar.xz: sha256 (gnu.org) and Guix's base32 of it in guix/modules.
    digest = bytes.fromhex("a7b39bc69cbf9e25826c5a60ab26477001f7c08d85cec04bc0e29cabed6f3cc9")
    assert nix_base32(digest) == "1j9wdznsp772q15w1kl5ip0gf0bh8wkanq2sdj12b7mzkk39pcx7"


def _parity_rows() -> dict[str, str]:
    section = DOCS.split("### coreboot 25.09 crossgcc patch parity", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in re.finditer(r"^\| `([^`]+\.patch)` \|[^|]+\| ([^|]+) \|$",
                                            section, re.M)}


def test_parity_table_lists_exactly_coreboots_crossgcc_patches(coreboot_orig):
    with tarfile.open(coreboot_orig) as tar:
        names = {m.name.removeprefix(PATCHES_DIR) for m in tar
                 if m.name.startswith(PATCHES_DIR) and m.isfile()}
    rows = _parity_rows()
    assert set(rows) == names
    for name, verdict in rows.items():
        assert verdict.startswith(("carried", "left out: ")), name


def test_carried_patches_are_pinned_to_the_25_09_files(coreboot_orig):
    """coreboot.scm's (coreboot-patch NAME BASE32) pins = sha256 of the files in 25.09's tree."""
    pins = dict(re.findall(r'\(coreboot-patch "([^"]+)"\s+"([0-9a-z]{52})"\)', COREBOOT_SCM))
    carried = {n for n, v in _parity_rows().items() if v.startswith("carried")}
    assert set(pins) == carried
    with tarfile.open(coreboot_orig) as tar:
        for name, pin in pins.items():
            data = tar.extractfile(PATCHES_DIR + name).read()
            assert nix_base32(hashlib.sha256(data).digest()) == pin, name


def test_shape_table_has_a_source_for_every_row():
    section = DOCS.split("### The image's shape against coreboot-sdk and Heads' image", 1)[1]
    rows = [ln for ln in section.split("\n### ", 1)[0].splitlines()
            if ln.startswith("| ") and not ln.startswith(("| expectation", "|---"))]
    assert len(rows) >= 25
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 5 and all(cells), row
    for must in ("`/bin/sh`", "`/usr/bin/env`", "writable `/tmp`", "user `coreboot`", "`TZ`",
                 "`LANG`", "CA certificates", "`git`", "`python3`", "`perl`", "`flex`/`bison`",
                 "ncurses", "`pkg-config`", "`iasl`", "`nasm`", "`qemu-system-x86_64`"):
        assert any(r.startswith(f"| {must}") for r in rows), must
