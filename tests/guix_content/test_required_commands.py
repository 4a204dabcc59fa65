"""The manifest covers the commands coreboot's and Heads' builds call.

What is checked, honestly: guix/required-commands.toml maps each command to the Guix
package that provides it (a hand-kept table, with the build file that calls the command).
1. For coreboot, the call is really in the cited file of coreboot 25.09 (Debian's orig
   tarball in the shared cache): a stale `source` fails.
2. In a builder, Guix itself loads guix/manifest.scm and lists its packages (a Guile query,
   not a copied list); every package of the table must be among them.
What is NOT checked: that the package really installs that command — that needs the built
store items (substitutes or upstream sources, unreachable here). `guix pack`ing the image
and running the [smoke] commands of guix/environment.toml in it closes that gap on a
networked machine.
"""

from __future__ import annotations

import re
import tarfile

import pytest
import tomllib

from .conftest import GUIX_DIR, IN

# The pre-filled download cache beside the checkout (shared/cache), as fwenv.firmware uses it.
CACHE = (GUIX_DIR.parent.parent / "shared" / "cache" / "coreboot_25.09+dfsg.orig.tar.xz").resolve()
TABLE = tomllib.loads((GUIX_DIR / "required-commands.toml").read_text())["commands"]


def test_table_is_well_formed():
    assert len(TABLE) >= 60
    for cmd, row in TABLE.items():
        kind, _, path = row["source"].partition(":")
        assert kind in ("coreboot", "heads") and path, cmd
        assert row["package"], cmd


@pytest.mark.skipif(not CACHE.exists(), reason=f"{CACHE} (coreboot 25.09 source) not present")
def test_coreboot_sources_really_call_the_commands():
    wanted = {row["source"].split(":", 1)[1] for row in TABLE.values()
              if row["source"].startswith("coreboot:")}
    texts: dict[str, str] = {}
    with tarfile.open(CACHE) as tar:
        for member in tar:
            rel = member.name.split("/", 1)[-1]
            if rel in wanted and member.isfile():
                texts[rel] = tar.extractfile(member).read().decode("utf-8", "replace")
    missing = []
    for cmd, row in TABLE.items():
        kind, _, path = row["source"].partition(":")
        if kind != "coreboot":
            continue
        needle = row.get("match", cmd)
        text = texts.get(path)
        if text is None or not re.search(r"(?<![\w-])" + re.escape(needle) + r"(?![\w-])"
                                         if needle == cmd else re.escape(needle), text):
            missing.append(f"{cmd} not in {path}")
    assert not missing, missing


@pytest.mark.integration
def test_manifest_has_a_package_for_every_command(fresh_guix):
    with fresh_guix() as g:
        _, out = g.exec(["guix", "repl", "--", f"{IN}/tools/manifest-packages.scm",
                         f"{IN}/manifest.scm"], what="list manifest packages")
    names = {ln.strip() for ln in out.splitlines()
             if ln.strip() and not ln.startswith(("failed to change owner", "warning"))}
    assert "gnat" in names and "coreboot-gcc-i386-elf" in names  # the query worked
    uncovered = {cmd: row["package"] for cmd, row in TABLE.items()
                 if row["package"] not in names}
    assert not uncovered, uncovered
