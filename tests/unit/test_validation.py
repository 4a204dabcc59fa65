"""Names and versions that become paths, tags or argv: a table of what must be refused, and
properties of what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwenv.config import check_image_ref
from fwenv.errors import FwenvError
from fwenv.guix.options import check_pack_name
from fwenv.guix.rootfs import RootfsRecipe
from fwenv.release.preflight import check_version
from fwenv.release.sign import check_member_name

# Refused by every name/version check (the table of issue 16).
BAD = {
    "empty": "", "dot": ".", "dotdot": "..", "option": "-rf", "slash": "a/b", "space": "1 0",
    "newline": "1.0\n", "inner-newline": "1\n0", "129-chars": "a" * 129,
    "cyrillic-a": "\u0430bc", "fullwidth-1": "\uff11.0", "arabic-digit": "\u0661.0",
    "nul": "a\x00b", "tab": "a\tb", "dollar": "$(id)", "backtick": "`id`", "semicolon": "a;b",
    "leading-dot": ".hidden", "backslash": "a\\b",
}
CHECKS = {"version": check_version, "member": check_member_name, "pack": check_pack_name}


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_names_are_refused_in_one_line(check, bad: str) -> None:
    with pytest.raises(FwenvError) as e:
        check(bad)
    assert "\n" not in str(e.value).replace(repr(bad), "")


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@pytest.mark.parametrize("good", ["2026.11.0", "1", "v1.0-rc1", "a_b", "A" * 128])
def test_good_names_pass_unchanged(check, good: str) -> None:
    assert check(good) == good


def test_member_names_refuse_dotdot_inside() -> None:
    with pytest.raises(FwenvError):
        check_member_name("a..b")


@pytest.mark.parametrize("bad", ["", "UPPER", "a b", "name\n", "name:tag\n", "-x", "a/../b", "n:t;rm",
                                 "n:" + "t" * 129, "\u0430pp", "name@sha256:" + "0" * 63])
def test_image_refs_refused(bad: str) -> None:
    with pytest.raises(FwenvError, match="invalid image name"):
        check_image_ref(bad)


@pytest.mark.parametrize("good", ["a", "coreboot-build-env:2026.11.0", "localhost:5000/x/y:t",
                                  "a@sha256:" + "0" * 64])
def test_image_refs_accepted(good: str) -> None:
    assert check_image_ref(good) == good


@pytest.mark.parametrize("field,bad", [
    ("suite", "sid\n"), ("suite", "Sid"), ("snapshot", "20261120T000000Z\n"),
    ("snapshot", "2026112OT000000Z"), ("snapshot", "\u0662" * 8 + "T000000Z"),
    ("mirror", "http://x/\n"), ("mirror", "ftp://x"), ("mirror", "http://x/;rm"),
    ("packages", ("guix\n",)), ("packages", ("-y",)), ("name", "Bad")])
def test_recipe_fields_refused(field: str, bad) -> None:
    r = RootfsRecipe(name="fwenv-unit", suite="sid", mirror="http://deb.debian.org/debian")
    from dataclasses import replace

    with pytest.raises(FwenvError):
        replace(r, **{field: bad}).validate()


SAFE = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-"


@given(st.text(max_size=140))
def test_property_an_accepted_version_is_one_plain_path_component(s: str) -> None:
    try:
        check_version(s)
    except FwenvError:
        return
    assert s.isascii() and 1 <= len(s) <= 128 and s[0].isalnum()
    assert set(s) <= set(SAFE)
    base = Path("/release")
    assert (base / s).resolve().parent == base, "a version must not leave release/"


@given(st.text(alphabet=SAFE, min_size=1, max_size=128).filter(lambda s: s[0].isalnum()))
def test_property_every_plain_version_is_accepted(s: str) -> None:
    assert check_version(s) == s
    assert check_pack_name(s) == s
