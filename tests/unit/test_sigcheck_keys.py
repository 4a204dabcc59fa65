"""fwenv.sigcheck with real gpg and ssh keys: the exact verdict of each refusal (never a signer
named on a refusal), key files as users write them, pinned fingerprints as users type them, and
a missing program named with its package."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.sigcheck import Verdict, gpg_primary_fingerprint, gpg_verify, ssh_fingerprint, ssh_verify


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    f = tmp_path / "SHA256SUMS"
    f.write_text("0" * 64 + "  coreboot-build-env-docker.tar.gz\n")
    return f


def test_missing_signature_is_a_refusal_without_a_signer(data: Path, gpg_keys, ssh_keys) -> None:
    assert gpg_verify(data, data.with_name("x.asc"), gpg_keys["alice"].public) == Verdict(
        False, "", "no signature (x.asc missing)")
    assert ssh_verify(data, data.with_name("x.sig"), ssh_keys["carol"].public, principal="carol",
                      namespace="fwenv") == Verdict(False, "", "no signature (x.sig missing)")


def test_pinned_fingerprint_as_typed_with_spaces_and_lower_case(data: Path, gpg_keys) -> None:
    alice = gpg_keys["alice"]
    sig = alice.sign(data)
    typed = " ".join(alice.fpr[i:i + 4] for i in range(0, 40, 4)).lower()
    assert gpg_verify(data, sig, alice.public, fingerprint=typed) == Verdict(True, alice.fpr)
    other = gpg_keys["bob"].fpr
    assert gpg_verify(data, sig, alice.public, fingerprint=other) == Verdict(
        False, "", f"alice.gpg holds key {alice.fpr}, not the pinned {other}")


def test_refusals_by_gpgv_name_no_signer(data: Path, gpg_keys) -> None:
    alice, mallory = gpg_keys["alice"], gpg_keys["mallory"]
    v = gpg_verify(data, mallory.sign(data, ".m.asc"), alice.public)
    assert v.signer == "" and not v.ok and v.reason.endswith(f"not the signer's key {alice.fpr}")
    garbage = data.with_name("garbage.asc")
    garbage.write_text("-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n")
    assert gpg_verify(data, garbage, alice.public) == Verdict(
        False, "", "garbage.asc is not a readable signature")


def test_binary_key_file_verifies(tmp_path: Path, data: Path, gpg_keys) -> None:
    alice = gpg_keys["alice"]
    binary = tmp_path / "alice-binary.gpg"
    binary.write_bytes(alice.gpg("--export", alice.fpr))
    assert gpg_primary_fingerprint(binary) == alice.fpr
    assert gpg_verify(data, alice.sign(data), binary) == Verdict(True, alice.fpr)


def test_primary_fingerprint_is_the_primary_keys_not_a_subkeys(tmp_path: Path, gpg_keys) -> None:
    bob = gpg_keys["bob"]
    home = tmp_path / "gnupg-bob-sub"
    shutil.copytree(bob.home, home, ignore=shutil.ignore_patterns("S.*"))
    run = ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback",
           "--passphrase", ""]
    subprocess.run([*run, "--quick-add-key", bob.fpr, "ed25519", "sign", "never"], check=True,  # noqa: S603
                   capture_output=True)
    public = tmp_path / "bob-with-subkey.gpg"
    public.write_bytes(subprocess.run([*run, "--armor", "--export", bob.fpr], check=True,  # noqa: S603
                                      capture_output=True).stdout)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False,  # noqa: S603,S607
                   capture_output=True)
    assert gpg_primary_fingerprint(public) == bob.fpr


def _path_with(tmp_path: Path, *programs: str) -> str:
    d = tmp_path / "bin"
    d.mkdir()
    for p in programs:
        (d / p).symlink_to(shutil.which(p) or p)
    return str(d)


def test_missing_programs_are_named_with_their_package(tmp_path: Path, data: Path, gpg_keys, ssh_keys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    alice = gpg_keys["alice"]
    sig = alice.sign(data)
    monkeypatch.setenv("PATH", _path_with(tmp_path, "gpg"))  # gpg, no gpgv
    with pytest.raises(FwenvError, match=r"^gpgv not found: apt-get install gpgv$"):
        gpg_verify(data, sig, alice.public)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(FwenvError, match=r"^gpg not found: apt-get install gpg$"):
        gpg_primary_fingerprint(alice.public)
    with pytest.raises(FwenvError, match=r"^ssh-keygen not found: apt-get install openssh-client$"):
        ssh_fingerprint(ssh_keys["carol"].public)
    assert os.environ["PATH"].endswith("nothing")


# -- ssh ------------------------------------------------------------------------------------------
def _fingerprint(pub: Path) -> str:
    return subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], check=True,  # noqa: S603,S607
                          capture_output=True, text=True).stdout.split()[1]


def test_ssh_key_file_with_comment_and_blank_lines_verifies(tmp_path: Path, data: Path, ssh_keys) -> None:
    carol = ssh_keys["carol"]
    pub = tmp_path / "carol.pub"
    pub.write_text("# carol's build key\n\n" + carol.public.read_text())
    assert ssh_fingerprint(pub) == _fingerprint(carol.public)
    assert ssh_verify(data, carol.sign(data), pub, principal="carol", namespace="fwenv") == Verdict(
        True, _fingerprint(carol.public))


def test_ssh_key_with_a_comment_that_is_not_utf8_verifies(tmp_path: Path, data: Path, ssh_keys) -> None:
    carol = ssh_keys["carol"]
    pub = tmp_path / "carol.pub"
    pub.write_bytes(carol.public.read_bytes().rstrip(b"\n") + b" caf\xe9\n")
    assert ssh_fingerprint(pub) == _fingerprint(carol.public)
    assert ssh_verify(data, carol.sign(data), pub, principal="carol", namespace="fwenv").ok


@pytest.mark.parametrize("body", [
    "two keys",
    b"\xff\xfe not a key\n",
    "",
    "# only a comment\n",
])
def test_ssh_key_file_must_hold_exactly_one_key(tmp_path: Path, ssh_keys, body: str | bytes) -> None:
    pub = tmp_path / "k.pub"
    if body == "two keys":
        body = ssh_keys["carol"].public.read_text() + ssh_keys["dave"].public.read_text()
    if isinstance(body, bytes):
        pub.write_bytes(body)
    else:
        pub.write_text(body)
    with pytest.raises(FwenvError, match=r"not one ssh public key \(one line, as ssh-keygen writes it\)"):
        ssh_fingerprint(pub)


def test_ssh_refusal_carries_ssh_keygens_own_reason(data: Path, ssh_keys) -> None:
    carol, dave = ssh_keys["carol"], ssh_keys["dave"]
    other = data.with_name("other")
    other.write_bytes(data.read_bytes())
    sig = dave.sign(other)  # a sound signature of the same bytes, by another key
    v = ssh_verify(data, sig, carol.public, principal="carol", namespace="fwenv")
    assert v.signer == "" and not v.ok and v.ok is False and v.unknown_key
    assert v.reason.startswith("signed by another ssh key, not the signer's key SHA256:")
    other.write_bytes(data.read_bytes() + b"changed")
    sig.unlink()
    v = ssh_verify(data, carol.sign(other), carol.public, principal="carol", namespace="fwenv")
    assert not v.ok and not v.unknown_key
    assert v.reason.startswith("bad ssh signature: ") and v.reason != "bad ssh signature: rejected"
    assert "\n" not in v.reason and len(v.reason) > len("bad ssh signature: ")
    # the principal and namespace given are the ones checked
    good = carol.sign(data)
    assert ssh_verify(data, good, carol.public, principal="carol", namespace="fwenv").ok
    assert not ssh_verify(data, good, carol.public, principal="carol", namespace="git").ok


def test_key_whose_user_id_is_not_utf8_verifies(tmp_path: Path, data: Path, gpg_keys) -> None:
    home = tmp_path / "gnupg-latin1"
    home.mkdir(mode=0o700)
    run = ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback",
           "--passphrase", ""]
    try:  # the user ID's bytes as given (Latin-1 "café"): gpg lists them raw
        subprocess.run([*run, "--utf8-strings", "--quick-gen-key", b"caf\xe9 <c@example.org>",  # noqa: S603
                        "ed25519", "sign", "never"], check=True, capture_output=True)
        public = tmp_path / "latin1.gpg"
        public.write_bytes(subprocess.run([*run, "--armor", "--export"], check=True,  # noqa: S603
                                          capture_output=True).stdout)
        subprocess.run([*run, "--armor", "--output", str(data) + ".asc", "--detach-sign", str(data)],  # noqa: S603
                       check=True, capture_output=True)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False,  # noqa: S603,S607
                       capture_output=True)
    fpr = gpg_primary_fingerprint(public)
    sig = data.with_name(data.name + ".asc")
    assert len(fpr) == 40 and gpg_verify(data, sig, public) == Verdict(True, fpr)
