"""Our packages as Guix itself sees them: `guix repl` queries the package objects in a builder.

guix/tools/package-facts.scm loads each package from guix/modules, computes its derivation
(offline) and prints its source (method, commit, sha256, patches), native inputs, the text of its
builder script (where the build phases and configure flags end up) and its input derivations.

What this proves: the recipes say what the firmware builds need (Ada in the cross compilers,
the wrapped GNAT seed, the musl cross patch, the git-fetch pin, coreboot's patches). What it
cannot prove: that they BUILD — that needs the sources and substitutes, i.e. `nox -s acceptance`
on a networked machine (docs/environment.md, "Unverified until the acceptance run").
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile

import pytest

from .conftest import IN
from .nixbase32 import nix_base32

pytestmark = pytest.mark.integration

COREBOOT = ("i386-elf", "x86_64-elf", "aarch64-elf")
SPECS = ["ada:gnat-bootstrap", "ada:gnat", "heads:musl-cross-heads", "gcc:gcc-14.2",
         *(f"coreboot:coreboot-gcc-{t}" for t in COREBOOT),
         *(f"coreboot:coreboot-binutils-{t}" for t in COREBOOT)]
# The commit linuxboot/heads master's modules/musl-cross-make pins (heads 3dfec51, 2026-06-27).
MUSL_CROSS_MAKE = "227df8b99103f9c59f6570babf892978e293082f"
# coreboot 25.09 util/crossgcc/patches carried (docs/environment.md, crossgcc patch parity).
CARRIED = {"gcc": ["gcc-14.2.0_asan_shadow_offset_callback.patch", "gcc-14.2.0_gnat.patch"],
           "binutils": ["binutils-2.44_as-ipxe.patch"]}


@pytest.fixture(scope="module")
def facts(fresh_guix) -> dict[str, dict]:
    with fresh_guix() as g:
        _, out = g.exec(["guix", "repl", "-L", f"{IN}/modules", "--",
                         f"{IN}/tools/package-facts.scm", *SPECS], what="package facts")
    doc = next(ln for ln in out.splitlines() if ln.startswith("{"))
    return json.loads(doc)


def test_cross_compilers_are_built_with_c_and_ada_by_the_native_gnat(facts):
    """coreboot compiles libgfxinit with ${GCCPREFIX}gcc and binds with ${GCCPREFIX}gnatbind."""
    for target in COREBOOT:
        f = facts[f"coreboot:coreboot-gcc-{target}"]
        assert f["name"] == f"coreboot-gcc-{target}" and f["version"] == "14.2.0"
        assert '"--enable-languages=c,ada"' in f["builder"], target
        # No target Ada runtime (no libc): like coreboot's buildgcc, gcc and libgcc only.
        assert '"--disable-libada"' in f["builder"], target
        assert "gnat" in f["native-inputs"], target
        assert any(re.fullmatch(r"gnat-14\.2\.0\.drv", d) for d in f["input-derivations"]), target
        phase = re.search(r'\(let \(\(gnat "/gnu/store/\w{32}-gnat-14\.2\.0"\)\)(.{0,300})',
                          f["builder"])
        assert phase, target
        for var, tool in (("CC", "gcc"), ("GNATBIND", "gnatbind"), ("GNATMAKE", "gnatmake")):
            assert f'(setenv "{var}" (string-append gnat "/bin/{tool}"))' in phase[1], (target, var)


def test_cross_compilers_carry_coreboots_patches_pinned_to_the_25_09_files(facts, coreboot_orig):
    """Each carried patch's pinned sha256 is that of the file in coreboot 25.09's own tree."""
    with tarfile.open(coreboot_orig) as tar:
        want = {name: nix_base32(hashlib.sha256(tar.extractfile(
            f"coreboot-25.09/util/crossgcc/patches/{name}").read()).digest())
            for name in CARRIED["gcc"] + CARRIED["binutils"]}
    for target in COREBOOT:
        for kind in ("gcc", "binutils"):
            src = facts[f"coreboot:coreboot-{kind}-{target}"]["source"]
            assert {n: h for n, h in src["patch-hashes"].items()} == \
                {n: want[n] for n in CARRIED[kind]}, (target, kind)
            assert [p for p in CARRIED[kind] if p not in src["patches"]] == [], (target, kind)
        # ... on top of Guix's own cross-compiler patch.
        gcc = facts[f"coreboot:coreboot-gcc-{target}"]["source"]["patches"]
        assert "gcc-12-cross-environment-variables.patch" in gcc, target


def test_gnat_seed_is_wrapped_for_guix(facts):
    """The seed's drivers get Guix's loader and RUNPATH, its ld goes, static/non-ELF files are skipped."""
    b = facts["ada:gnat-bootstrap"]["builder"]
    for phase in ("make-writable", "remove-ld", "patch-elf", "wrap-drivers"):
        assert f"(quote {phase})" in b, phase
    # The wrapper: the real driver, then Guix's loader and RUNPATH for what it links.
    assert "-Wl,-dynamic-linker,~a -Wl,-rpath,~a" in b
    assert '"/lib/ld-linux-x86-64.so.2"' in b  # glibc-dynamic-linker, searched in the inputs
    assert '"gcc"' in b and '"g++"' in b
    # patchelf only on dynamic ELF files, the interpreter only where there is one.
    assert "elf-dynamic-info" in b and "PT_INTERP" in b and "make-file-writable" in b
    # Every ld of the seed is deleted (bin/ld, x86_64-pc-linux-gnu/bin/ld, ld.bfd, ld.gold).
    ld = re.search(r'"\^\(\.\*-\)\?ld\(\\\\\.bfd\|\\\\\.gold\)\?\$"', b)
    assert ld, "remove-ld regex"


def test_gnat_stage1_uses_the_wrapped_seed(facts):
    f = facts["ada:gnat"]
    b = f["builder"]
    assert f["name"] == "gnat" and f["version"] == "14.2.0"
    assert '"--enable-languages=c,ada"' in b
    assert "gnat-bootstrap-14.2.0-1.drv" in f["input-derivations"]
    # Guix's gcc-14 recipe sets CC to a script running the `gcc' on PATH; ours runs after it
    # and puts the seed's bin/ first on PATH, so that script runs the wrapped seed.
    phases = re.findall(r"\(add-before \(quote configure\) \(quote ([\w-]+)\)", b)
    assert phases.index("relax-gcc-14s-strictness") < phases.index("use-gnat-seed")
    assert 'exec gcc \\"$@\\"' in b
    seed = re.search(r'\(let \(\(seed "/gnu/store/\w{32}-gnat-bootstrap-14\.2\.0-1"\)\)(.{0,300})', b)
    assert seed and '(setenv "PATH" (string-append seed "/bin:" (getenv "PATH")))' in seed[1]
    assert '(setenv "CC"' not in seed[1]


def test_musl_cross_heads_is_git_fetched_at_heads_pin(facts):
    f = facts["heads:musl-cross-heads"]
    src = f["source"]
    assert src["method"] == "git-fetch"
    assert src["url"] == "https://github.com/richfelker/musl-cross-make"
    assert src["commit"] == MUSL_CROSS_MAKE
    # NAR hash of `git archive 227df8b` (computed from a mirror, and with `guix hash -x -r`).
    assert src["sha256"] == "1pm8fvvhvndl71qkrfijymp7rn7q9pyxnc33dc1znxyy9az0nsb4"
    assert f["version"] == "0-0.227df8b"


def test_musl_cross_heads_gcc_reads_cross_search_paths(facts):
    """Guix's GCC 8/9 cross patch goes into musl-cross-make's patches/gcc-9.4.0/."""
    f = facts["heads:musl-cross-heads"]
    assert "gcc-8-cross-environment-variables.patch" in f["sources"]
    assert "patches/gcc-9.4.0/9000-guix-cross-environment-variables.diff" in f["builder"]
    # Heads builds musl-cross-make's defaults: no GCC 15 / -Os example config.
    assert "GCC_VER = 15" not in f["builder"] and "-Os" not in f["builder"]
    drvs = f["input-derivations"]
    assert "gcc-9.4.0.tar.xz.drv" in drvs and "musl-1.2.6.tar.gz.drv" in drvs


# guix lint's checkers that need no network (Guix 1.5.0's %local-checkers), but three whose
# warnings are Guix's own: `input-labels` and `patch-file-names` flag what we inherit from
# Guix's cross-gcc/gcc-14 recipes (its own cross compilers get the same warnings), and `name`
# flags the underscore of the x86_64 target triplet in coreboot-gcc-x86_64-elf.
LINT_CHECKERS = ["tests-true", "compiler-for-target", "description", "inputs-should-be-native",
                 "inputs-should-not-be-input", "inputs-should-be-minimal", "wrapper-inputs",
                 "license", "optional-tests", "mirror-url", "source-file-name",
                 "source-unstable-tarball", "misplaced-flags", "derivation", "profile-collisions",
                 "patch-headers", "formatting"]


def test_lint_offline_checkers_clean(fresh_guix):
    with fresh_guix() as g:
        code, out = g.exec(["guix", "lint", "-L", f"{IN}/modules", "-c", ",".join(LINT_CHECKERS),
                            *PACKAGE_NAMES], check=False)
    warnings = [ln for ln in out.splitlines() if re.match(r"^\S+\.scm:\d+:\d+: ", ln)]
    assert code == 0 and warnings == [], out


PACKAGE_NAMES = ["fwenv-base", "gnat-bootstrap", "gnat", "musl-cross-heads",
                 *(f"coreboot-{p}-{t}" for p in ("gcc", "binutils") for t in COREBOOT)]
