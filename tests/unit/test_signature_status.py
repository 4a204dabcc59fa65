"""gpgv's status lines and what they mean for a signature (fwenv.sigcheck), as a table: each
status gpgv can print, alone or with others, and the one verdict it gives."""

from __future__ import annotations

import pytest

from fwenv.sigcheck import Verdict, _gpg_verdict, _status

PRIMARY = "A" * 40
SUBKEY = "B" * 40
# VALIDSIG <signing key fpr> <date> <ts> <expire> <ver> <res> <pk algo> <hash algo> <class> <primary>
VALID = [SUBKEY, "2026-12-06", "1796000000", "0", "4", "0", "22", "10", "00", PRIMARY]
GOOD = {"NEWSIG": [], "GOODSIG": ["BBBBBBBBBBBBBBBB", "alice"], "VALIDSIG": VALID}


def test_status_keeps_gnupg_lines_only_each_code_first_seen() -> None:
    out = (b"gpgv: Signature made today\n"
           b"[GNUPG:] NEWSIG\n"
           b"[GNUPG:] GOODSIG 1234 alice <a@x>\n"
           b"[GNUPG:] GOODSIG 5678 mallory\n"   # a second one does not replace the first
           b"[GNUPG:] \n"                       # a bare prefix carries nothing
           b"  [GNUPG:] BADSIG 99 indented\n"   # not at the start of a line: not a status
           b"[GNUPG:]BADSIG 99 no-space\n"
           b"\xff[GNUPG:] ERRSIG\n")
    assert _status(out) == {"NEWSIG": [], "GOODSIG": ["1234", "alice", "<a@x>"]}


def test_status_of_nothing_is_empty() -> None:
    assert _status(b"") == {}


@pytest.mark.parametrize(("st", "reason"), [
    ({**GOOD, "BADSIG": ["1234", "alice"]}, "bad signature (the file was changed after signing): 1234"),
    ({**GOOD, "REVKEYSIG": ["1234"]}, "signed by a revoked key: 1234"),
    ({**GOOD, "EXPKEYSIG": ["1234"]}, "signed by an expired key: 1234"),
    ({**GOOD, "EXPSIG": ["1234"]}, "the signature has expired: 1234"),
    ({"BADSIG": []}, "bad signature (the file was changed after signing): "),
    ({"NO_PUBKEY": ["CAFE"], "ERRSIG": ["BEEF", "22", "10", "00", "1", "9"]},
     f"signed by key CAFE, not the signer's key {PRIMARY}"),
    ({"ERRSIG": ["BEEF", "22", "10", "00", "1", "9"]}, f"signed by key BEEF, not the signer's key {PRIMARY}"),
    ({"NO_PUBKEY": []}, f"signed by key ?, not the signer's key {PRIMARY}"),
    ({"ERRSIG": ["BEEF", "22", "10", "00", "1", "4"]}, "S.asc is not a readable signature"),
    ({"ERRSIG": ["BEEF", "22", "10", "00", "1"]}, "S.asc is not a readable signature"),
    ({"NODATA": ["1"]}, "S.asc is not a readable signature"),
    ({"BADARMOR": []}, "S.asc is not a readable signature"),
    ({"GOODSIG": ["1234"]}, "gpgv did not accept S.asc (exit 0)"),
    ({"VALIDSIG": VALID}, "gpgv did not accept S.asc (exit 0)"),
    ({"GOODSIG": ["1234"], "VALIDSIG": []}, "gpgv did not accept S.asc (exit 0)"),
    ({}, "gpgv did not accept S.asc (exit 0)"),
    ({**GOOD, "VALIDSIG": ["C" * 40, *VALID[1:9], "C" * 40]},
     f"signed by {'C' * 40}, not the signer's key {PRIMARY}"),
])
def test_each_status_refuses_with_its_reason(st: dict[str, list[str]], reason: str) -> None:
    # another key's signature (no public key for it, or a VALIDSIG of another primary) is an
    # unknown key, reported as such (issue 15.6); everything else is a bad signature
    unknown = "not the signer's key" in reason
    assert _gpg_verdict(0, st, PRIMARY, "S.asc") == Verdict(False, "", reason, unknown_key=unknown)


def test_a_good_status_with_a_failing_exit_code_is_refused() -> None:
    assert _gpg_verdict(2, GOOD, PRIMARY, "S.asc") == Verdict(False, "", "gpgv did not accept S.asc (exit 2)")


def test_good_signature_by_a_subkey_is_the_primary_keys() -> None:
    v = _gpg_verdict(0, GOOD, PRIMARY, "S.asc")
    assert v == Verdict(True, PRIMARY) and str(v) == f"good signature by {PRIMARY}"
    assert _gpg_verdict(0, GOOD, PRIMARY.lower(), "S.asc") == Verdict(True, PRIMARY.lower())


def test_validsig_without_a_primary_field_names_the_signing_key() -> None:
    short = {**GOOD, "VALIDSIG": [PRIMARY, "2026-12-06"]}  # old gpgv: no primary field
    assert _gpg_verdict(0, short, PRIMARY, "S.asc").ok
    nine = {**GOOD, "VALIDSIG": VALID[:9]}  # 9 fields: the first is the signing key (a subkey)
    assert _gpg_verdict(0, nine, PRIMARY, "S.asc") == Verdict(
        False, "", f"signed by {SUBKEY}, not the signer's key {PRIMARY}", unknown_key=True)


def test_a_refusal_prints_its_reason() -> None:
    assert str(Verdict(False, "", "why")) == "why"
