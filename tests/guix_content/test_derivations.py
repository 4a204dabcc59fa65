"""The environment's derivations, computed offline in fresh builder containers.

Only derivations: BUILDING the environment or our packages needs Guix substitutes or the
upstream sources (gnu.org, github.com, ...), which this machine cannot reach. What these
tests prove is that guix/channels-free evaluation of guix/manifest.scm and of every package
in guix/modules succeeds with Guix 1.5.0, and that the result is deterministic.
"""

from __future__ import annotations

import re

import pytest

from .conftest import IN

pytestmark = pytest.mark.integration

DRV = re.compile(r"^/gnu/store/[0-9a-z]{32}-[^\s]+\.drv$", re.M)

# Every public package of our channel directory (guix/modules/fwenv/packages/*.scm).
OUR_PACKAGES = [
    "fwenv-base",
    "coreboot-binutils-i386-elf", "coreboot-gcc-i386-elf",
    "coreboot-binutils-x86_64-elf", "coreboot-gcc-x86_64-elf",
    "coreboot-binutils-aarch64-elf", "coreboot-gcc-aarch64-elf",
    "musl-cross-heads", "gnat-bootstrap", "gnat",
]
PACK = ["guix", "pack", "-d", "-L", f"{IN}/modules", "-m", f"{IN}/manifest.scm"]


def drvs(output: str) -> list[str]:
    return DRV.findall(output)


def test_pack_derivation_same_in_two_fresh_containers_build_needs_network(fresh_guix):
    paths = []
    for _ in range(2):
        with fresh_guix() as g:
            _, out = g.exec(PACK, what="guix pack -d")
            (drv,) = drvs(out)
            paths.append(drv)
    assert paths[0] == paths[1]
    assert paths[0].endswith("-tarball-pack.tar.gz.drv")


def test_each_package_derivation_build_needs_network(fresh_guix):
    with fresh_guix() as g:
        _, out = g.exec(["guix", "build", "-d", "-L", f"{IN}/modules", *OUR_PACKAGES],
                        what="guix build -d")
    names = [re.sub(r"^/gnu/store/[0-9a-z]{32}-", "", p) for p in drvs(out)]
    assert len(names) == len(OUR_PACKAGES)
    for pkg in OUR_PACKAGES:
        assert any(n.startswith(pkg + "-") for n in names), (pkg, names)


def test_manifest_finds_its_modules_without_load_path(fresh_guix):
    """`-L guix/modules` is optional for the manifest: it locates guix/modules itself."""
    with fresh_guix() as g:
        _, with_l = g.exec(PACK)
        _, without = g.exec(["guix", "pack", "-d", "-m", f"{IN}/manifest.scm"])
    assert drvs(with_l) == drvs(without) and len(drvs(without)) == 1


def test_our_packages_are_pinned_versions(fresh_guix):
    """The versions coreboot 25.09 / Heads pin, as Guix itself sees them."""
    with fresh_guix() as g:
        _, out = g.exec(["guix", "show", "-L", f"{IN}/modules", "coreboot-gcc-i386-elf",
                         "coreboot-binutils-x86_64-elf", "gnat", "musl-cross-heads"])
    versions = dict(re.findall(r"^name: (\S+)\nversion: (\S+)", out, re.M))
    assert versions == {
        "coreboot-gcc-i386-elf": "14.2.0",
        "coreboot-binutils-x86_64-elf": "2.44",
        "gnat": "14.2.0",
        "musl-cross-heads": "0-0.227df8b",
    }
