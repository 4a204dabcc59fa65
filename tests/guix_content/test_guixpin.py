"""guix/channels.scm and `invoke guix.pin`: parsing, checking and diffing channel pins."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.guix import provenance
from fwenv.guix.pin import check_pinned, nix_base32, parse_channels, pin_from_text

from .conftest import GUIX_DIR

V150 = "230aa373f315f247852ee07dff34146e9b480aec"

# What `guix describe -f channels` prints for a pulled Guix plus a second channel
# (format as printed by Guix 1.5.0; commits are made up except the v1.5.0 one).
DESCRIBE = """\
(list (channel
        (name 'guix)
        (url "https://git.guix.gnu.org/guix.git")
        (branch "master")
        (commit
          "0123456789abcdef0123456789abcdef01234567")
        (introduction
          (make-channel-introduction
            "9edb3f66fd807b096b48283debdcddccfea34bad"
            (openpgp-fingerprint
              "BBB0 2DDF 2CEA F6A8 0D1D  E643 A2A0 6DF2 A33A 54FA"))))
      (channel
        (name 'extra)
        (url "https://example.org/extra.git")
        (branch "main")
        (commit
          "fedcba9876543210fedcba9876543210fedcba98")))
"""

# What it prints in the Debian builder (Guix from the distribution package): no commit.
DEBIAN_DESCRIBE = """\
(list (channel
       (name 'guix)
       (url #f)
       (branch #f)
       (introduction
        (make-channel-introduction
         "9edb3f66fd807b096b48283debdcddccfea34bad"
         (openpgp-fingerprint
          "BBB0 2DDF 2CEA F6A8 0D1D  E643 A2A0 6DF2 A33A 54FA")))))
"""


def test_pinned_channels_file_is_v150_with_introduction() -> None:
    (ch,) = parse_channels((GUIX_DIR / "channels.scm").read_text())
    assert (ch.name, ch.commit) == ("guix", V150)
    assert ch.url == "https://git.guix.gnu.org/guix.git"
    assert ch.intro_commit == "9edb3f66fd807b096b48283debdcddccfea34bad"
    assert ch.intro_fingerprint == "BBB0 2DDF 2CEA F6A8 0D1D  E643 A2A0 6DF2 A33A 54FA"
    check_pinned([ch], "channels.scm")


def test_parse_describe_output() -> None:
    guix, extra = parse_channels(DESCRIBE)
    assert guix.commit == "0123456789abcdef0123456789abcdef01234567"
    assert guix.intro_commit == "9edb3f66fd807b096b48283debdcddccfea34bad"
    assert (extra.name, extra.branch, extra.intro_commit) == ("extra", "main", None)


def test_pin_dry_run_prints_diff_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "channels.scm"
    path.write_text((GUIX_DIR / "channels.scm").read_text())
    before = path.read_bytes()
    r = pin_from_text(DESCRIBE, path, source="test", dry_run=True)
    assert r.changed and not r.written and path.read_bytes() == before
    minus = [ln for ln in r.diff.splitlines() if ln.startswith("-")]
    plus = [ln for ln in r.diff.splitlines() if ln.startswith("+")]
    assert any(V150 in ln for ln in minus)
    assert any("0123456789abcdef0123456789abcdef01234567" in ln for ln in plus)
    assert any("(name 'extra)" in ln for ln in plus)  # the second channel


def test_pin_writes_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "channels.scm"
    r = pin_from_text(DESCRIBE, path, source="test", dry_run=False)
    assert r.written
    assert parse_channels(path.read_text()) == parse_channels(DESCRIBE)
    again = pin_from_text(DESCRIBE, path, source="test", dry_run=False)
    assert not again.changed and again.diff == "" and not again.written


def test_pin_same_commit_is_unchanged() -> None:
    text = (GUIX_DIR / "channels.scm").read_text()
    r = pin_from_text(text, GUIX_DIR / "channels.scm", source="test", dry_run=True)
    assert not r.changed and r.diff == ""


def test_debian_describe_has_no_commit_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(FwenvError) as e:
        pin_from_text(DEBIAN_DESCRIBE, tmp_path / "c.scm", source="guix describe", dry_run=False)
    msg = str(e.value)
    assert "\n" not in msg and "no commit" in msg and "--from" in msg
    assert not (tmp_path / "c.scm").exists()


@pytest.mark.parametrize(
    "text, words",
    [
        ("(list (channel (name 'guix) (url \"u\") (commit \"abc\")))", "40-hex"),
        ("(list (channel (name 'guix)", "x:1: malformed channels (a '(' here is never closed)"),
        ("(channel (name 'guix))", "does not start"),
        (DESCRIBE.replace("(introduction", "(intro"), "introduction"),
    ],
)
def test_bad_channels_text_one_line(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(FwenvError) as e:
        pin_from_text(text, tmp_path / "c.scm", source="x", dry_run=False)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_nix_base32_matches_guix_hashes() -> None:
    # gcc-14.2.0.tar.xz: the sha256 published for the tarball and the base32 Guix's own
    # gcc-14 package carried for 14.2.0 (two independent sources).
    assert nix_base32("a7b39bc69cbf9e25826c5a60ab26477001f7c08d85cec04bc0e29cabed6f3cc9") == (
        "1j9wdznsp772q15w1kl5ip0gf0bh8wkanq2sdj12b7mzkk39pcx7")
    assert nix_base32(hashlib.sha256(b"").digest()) == (
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73")


# -- one reader (fwenv.guix.channels) for the pinned file and for describe output ----------
COMMENTED = ";; a comment (with a paren\n#| a block comment ( too |#\n" + DESCRIBE


def test_both_readers_read_the_same_channels(tmp_path: Path) -> None:
    f = tmp_path / "channels.scm"
    f.write_text(COMMENTED)
    described = parse_channels(COMMENTED)
    assert provenance.parse_channels(f, "channels.scm") == [
        {"name": c.name, "url": c.url, "commit": c.commit} for c in described]
    assert [(c.line, c.commit_line) for c in described] == [(3, 7), (14, 18)]
    assert described == parse_channels(DESCRIBE)


@pytest.mark.parametrize("text, line, words", [
    # a ')' missing: the form still open at the end is named (here the list)
    (COMMENTED.replace('(url "https://example.org/extra.git")',
                       '(url "https://example.org/extra.git"'), 3, "never closed"),
    # one too many: the ')' left over is named
    (COMMENTED.replace('(branch "master")', '(branch "master"))'), 19, "closes nothing"),
    (COMMENTED.replace("fedcba98765432", "not-a-commit"), 18, "not 40 lowercase hex"),
])
def test_a_pinned_file_error_names_its_line(tmp_path: Path, text: str, line: int,
                                            words: str) -> None:
    f = tmp_path / "channels.scm"
    f.write_text(text)
    with pytest.raises(FwenvError) as e:
        provenance.parse_channels(f, "guix/channels.scm")
    msg = str(e.value)
    assert msg.startswith(f"guix/channels.scm:{line}: ") and words in msg, msg
    assert "\n" not in msg


def test_a_describe_error_names_its_source_and_line(tmp_path: Path) -> None:
    text = COMMENTED.replace("(channel\n        (name 'extra)", "(chanel\n        (name 'extra)")
    with pytest.raises(FwenvError) as e:
        pin_from_text(text, tmp_path / "c.scm", source="describe.txt", dry_run=False)
    assert str(e.value).startswith("describe.txt:14: expected (channel ...)"), str(e.value)
    with pytest.raises(FwenvError, match=r"^describe\.txt:3: malformed channels \(a '\(' here "
                                         r"is never closed\)"):
        pin_from_text(COMMENTED.rstrip().removesuffix(")"), tmp_path / "c.scm",
                      source="describe.txt", dry_run=False)
    assert not (tmp_path / "c.scm").exists()
