"""gpg/ssh signature status → verified or refused, with real gpg and ssh-keygen (no engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fwenv.signing import SigCheck, verify_signature


def _gpg(home: Path, *args: str, data: str | None = None) -> str:
    return subprocess.run(["gpg", "--batch", "--homedir", str(home), *args], input=data, text=True,
                          check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def gpg_homes(tmp_path_factory, needs):
    """Two keyrings: `signer` holds the secret key; `stranger` knows no key at all."""
    needs("gpg", "gpg (apt-get install gpg)")
    signer = tmp_path_factory.mktemp("gpg-signer")
    stranger = tmp_path_factory.mktemp("gpg-stranger")
    for h in (signer, stranger):
        os.chmod(h, 0o700)
    _gpg(signer, "--passphrase", "", "--quick-gen-key", "unit@example.invalid", "ed25519", "sign", "0")
    fpr = next(ln.split(":")[9] for ln in _gpg(signer, "--with-colons", "--list-keys").splitlines()
               if ln.startswith("fpr:"))
    yield {"signer": signer, "stranger": stranger, "fpr": fpr}
    for h in (signer, stranger):
        subprocess.run(["gpgconf", "--homedir", str(h), "--kill", "gpg-agent"], check=False)


def _check(home: Path, path: Path, sig: Path, monkeypatch) -> SigCheck:
    monkeypatch.setenv("GNUPGHOME", str(home))
    return verify_signature(path, sig)


@pytest.fixture()
def signed(tmp_path: Path, gpg_homes) -> tuple[Path, Path]:
    data = tmp_path / "SHA256SUMS"
    data.write_text("0" * 64 + "  a\n")
    _gpg(gpg_homes["signer"], "--armor", "--detach-sign", "--output", str(tmp_path / "SHA256SUMS.asc"),
         str(data))
    return data, tmp_path / "SHA256SUMS.asc"


def test_gpg_good_signature_names_the_fingerprint(signed, gpg_homes, monkeypatch) -> None:
    assert _check(gpg_homes["signer"], *signed, monkeypatch) == SigCheck(True, f"gpg {gpg_homes['fpr']}")


def test_gpg_changed_data_is_a_bad_signature(signed, gpg_homes, monkeypatch) -> None:
    data, sig = signed
    data.write_text("1" * 64 + "  a\n")
    check = _check(gpg_homes["signer"], data, sig, monkeypatch)
    assert not check.ok and check.detail.startswith("BAD gpg signature by key ")


def test_gpg_unknown_key_names_the_fix(signed, gpg_homes, monkeypatch) -> None:
    check = _check(gpg_homes["stranger"], *signed, monkeypatch)
    assert not check.ok and check.detail.startswith("unknown gpg key ")
    assert check.detail.endswith("import the signer's key")


@pytest.mark.parametrize("garbage", ["", "not a signature\n",
                                     "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"])
def test_gpg_unreadable_signature(signed, gpg_homes, monkeypatch, garbage: str) -> None:
    data, sig = signed
    sig.write_text(garbage)
    check = _check(gpg_homes["signer"], data, sig, monkeypatch)
    assert not check.ok and ("unreadable" in check.detail or check.detail.startswith("gpg: "))


@pytest.fixture()
def ssh_key(tmp_path: Path, needs) -> tuple[Path, Path]:
    needs("ssh-keygen", "ssh-keygen (apt-get install openssh-client)")
    key = tmp_path / "carol"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "carol", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"carol {(tmp_path / 'carol.pub').read_text().strip()}\n")
    return key, allowed


def _ssh_sign(key: Path, path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", "fwenv-release", str(path)],
                   check=True)
    return path.with_name(path.name + ".sig")


def test_ssh_statuses(tmp_path: Path, ssh_key) -> None:
    key, allowed = ssh_key
    data = tmp_path / "SHA256SUMS"
    data.write_text("x\n")
    sig = _ssh_sign(key, data)
    good = verify_signature(data, sig, allowed_signers=allowed)
    assert good.ok and "carol" in good.detail
    assert verify_signature(data, sig, allowed_signers=allowed, principal="carol").ok
    assert not verify_signature(data, sig, allowed_signers=allowed, principal="mallory").ok
    none = verify_signature(data, sig, allowed_signers=None)
    assert not none.ok and "--allowed-signers" in none.detail
    data.write_text("y\n")
    bad = verify_signature(data, sig, allowed_signers=allowed)
    assert not bad.ok and bad.detail.startswith("BAD ssh signature")
    other = tmp_path / "other_allowed"
    shutil.copy(allowed, other)
    other.write_text(other.read_text().replace("carol ", "dave ").replace("AAAA", "AAAB", 1))
    data.write_text("x\n")
    stranger = verify_signature(data, sig, allowed_signers=other)
    assert stranger == SigCheck(False, "BAD ssh signature: no key in allowed_signers made it")
