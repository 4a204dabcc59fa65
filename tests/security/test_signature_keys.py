"""A signature counts only when the one given key made it: real gpg and ssh keys, made here.

Each attack is a real key and a real signature: tampered data, an expired key, a revoked key,
another key, a key that sits in the user's default keyring, no signature, two keys in one file."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.sigcheck import gpg_primary_fingerprint, gpg_verify, ssh_fingerprint, ssh_verify

pytestmark = pytest.mark.skipif(shutil.which("gpgv") is None or shutil.which("ssh-keygen") is None,
                                reason="needs gpg, gpgv and ssh-keygen (scripts/setup)")


@dataclass
class Key:
    home: Path
    fpr: str
    public: Path  # armored public key file

    def gpg(self, *args: str, faked: str | None = None) -> str:
        argv = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--pinentry-mode", "loopback",
                "--passphrase", "", *(["--faked-system-time", faked] if faked else []), *args]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603

    def sign(self, data: Path, faked: str | None = None, suffix: str = ".asc") -> Path:
        sig = data.with_name(data.name + suffix)
        self.gpg("--armor", "--local-user", self.fpr, "--output", str(sig), "--detach-sign", str(data),
                 faked=faked)
        return sig


_HOMES: list[Path] = []


@pytest.fixture(autouse=True)
def _stop_agents() -> Iterator[None]:
    """Each key's gpg-agent is stopped with its test (no daemon outlives the run)."""
    yield
    while _HOMES:
        subprocess.run(["gpgconf", "--homedir", str(_HOMES.pop()), "--kill", "gpg-agent"],  # noqa: S603,S607
                       capture_output=True, check=False)


def make_key(where: Path, name: str, *, faked: str | None = None, expire: str = "never") -> Key:
    home = where / f"gnupg-{name}"
    home.mkdir(mode=0o700)
    _HOMES.append(home)
    k = Key(home, "", where / f"{name}.gpg")
    k.gpg("--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", expire, faked=faked)
    listing = k.gpg("--with-colons", "--list-keys")
    k.fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
    k.public.write_text(k.gpg("--armor", "--export", k.fpr))
    return k


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    f = tmp_path / "SHA256SUMS"
    f.write_text("0" * 64 + "  coreboot-build-env-docker.tar.gz\n")
    return f


@pytest.fixture()
def alice(tmp_path: Path) -> Key:
    return make_key(tmp_path, "alice")


def test_good_signature_names_the_primary_fingerprint(alice: Key, data: Path) -> None:
    v = gpg_verify(data, alice.sign(data), alice.public)
    assert v.ok and v.signer == alice.fpr
    assert gpg_verify(data, data.with_name(data.name + ".asc"), alice.public, fingerprint=alice.fpr).ok


def test_tampered_file_is_a_bad_signature(alice: Key, data: Path) -> None:
    sig = alice.sign(data)
    data.write_text(data.read_text().replace("0", "1", 1))
    v = gpg_verify(data, sig, alice.public)
    assert not v.ok and v.reason.startswith("bad signature") and not v.unknown_key


def test_expired_key_is_refused(tmp_path: Path, data: Path) -> None:
    old = make_key(tmp_path, "old", faked="20200101T000000", expire="1d")
    sig = old.sign(data, faked="20200101T010000")
    v = gpg_verify(data, sig, old.public)
    assert not v.ok and "expired key" in v.reason


def test_revoked_key_is_refused(tmp_path: Path, alice: Key, data: Path) -> None:
    sig = alice.sign(data)
    rev = (alice.home / "openpgp-revocs.d" / f"{alice.fpr}.rev").read_text()
    cert = tmp_path / "revoke.asc"
    cert.write_text(rev.replace(":-----BEGIN", "-----BEGIN"))
    alice.gpg("--import", str(cert))
    alice.public.write_text(alice.gpg("--armor", "--export", alice.fpr))
    v = gpg_verify(data, sig, alice.public)
    assert not v.ok and "revoked key" in v.reason


def test_another_key_is_refused(tmp_path: Path, alice: Key, data: Path) -> None:
    mallory = make_key(tmp_path, "mallory")
    v = gpg_verify(data, mallory.sign(data), alice.public)
    assert not v.ok and f"not the signer's key {alice.fpr}" in v.reason
    assert v.unknown_key  # reported as "unknown key", never as a bad signature


def test_key_in_the_default_keyring_is_never_consulted(tmp_path: Path, alice: Key, data: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    mallory = make_key(tmp_path, "mallory")
    sig = mallory.sign(data)
    monkeypatch.setenv("GNUPGHOME", str(mallory.home))  # mallory's key is trusted there
    assert subprocess.run(["gpg", "--batch", "--verify", str(sig), str(data)],  # noqa: S603,S607
                          capture_output=True).returncode == 0, "plain gpg accepts it"
    assert not gpg_verify(data, sig, alice.public).ok


def test_missing_signature(alice: Key, data: Path) -> None:
    v = gpg_verify(data, data.with_name("SHA256SUMS.asc"), alice.public)
    assert not v.ok and "missing" in v.reason


def test_pinned_fingerprint_must_match_the_key_file(tmp_path: Path, alice: Key, data: Path) -> None:
    mallory = make_key(tmp_path, "mallory")
    v = gpg_verify(data, mallory.sign(data), mallory.public, fingerprint=alice.fpr)
    assert not v.ok and "not the pinned" in v.reason


def test_a_key_file_holds_exactly_one_key(tmp_path: Path, alice: Key) -> None:
    bob = make_key(tmp_path, "bob")
    both = tmp_path / "both.gpg"
    both.write_text(alice.public.read_text() + bob.public.read_text())
    with pytest.raises(FwenvError, match="holds 2 keys"):
        gpg_primary_fingerprint(both)
    junk = tmp_path / "junk.gpg"
    junk.write_text("not a key\n")
    with pytest.raises(FwenvError, match="not an OpenPGP public key"):
        gpg_primary_fingerprint(junk)


def test_garbage_signature_is_unreadable(alice: Key, data: Path) -> None:
    sig = data.with_name(data.name + ".asc")
    sig.write_text("-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n")
    assert not gpg_verify(data, sig, alice.public).ok


# -- ssh ------------------------------------------------------------------------------------------
@pytest.fixture()
def ssh_key(tmp_path: Path) -> Iterator[Path]:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "carol", "-f", str(key)],  # noqa: S603,S607
                   check=True)
    yield key


def ssh_sign(key: Path, data: Path, namespace: str = "fwenv") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", namespace, str(data)],  # noqa: S603,S607
                   check=True, capture_output=True)
    return data.with_name(data.name + ".sig")


def test_ssh_good_and_forged(tmp_path: Path, ssh_key: Path, data: Path) -> None:
    pub = ssh_key.with_suffix(".pub")
    sig = ssh_sign(ssh_key, data)
    v = ssh_verify(data, sig, pub, principal="carol", namespace="fwenv")
    assert v.ok and v.signer == ssh_fingerprint(pub)
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)  # noqa: S603,S607
    assert not ssh_verify(data, sig, other.with_suffix(".pub"), principal="carol", namespace="fwenv").ok
    data.write_text("changed\n")
    assert not ssh_verify(data, sig, pub, principal="carol", namespace="fwenv").ok


def test_ssh_other_namespace_is_refused(ssh_key: Path, data: Path) -> None:
    sig = ssh_sign(ssh_key, data, namespace="git")
    v = ssh_verify(data, sig, ssh_key.with_suffix(".pub"), principal="carol", namespace="fwenv")
    assert not v.ok and v.reason.startswith("bad ssh signature")


def test_gnupghome_of_the_user_is_untouched(alice: Key, data: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "user-gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    assert gpg_verify(data, alice.sign(data), alice.public).ok
    assert sorted(os.listdir(home)) == [], "verification wrote into the user's GNUPGHOME"


# -- the binary builder recipe's tarball check (issue: trust) --------------------------------------
def test_binary_recipe_tarball_check_refuses_each_bad_kind(tmp_path: Path, alice: Key) -> None:
    from fwenv.guix.builder import check_tarball_signature

    tarball = tmp_path / "guix-binary-1.4.0.x86_64-linux.tar.xz"
    tarball.write_bytes(b"tarball")
    sig = alice.sign(tarball)
    check_tarball_signature(tarball, sig, alice.public, alice.fpr)  # the honest one passes
    mallory = make_key(tmp_path, "mallory")
    old = make_key(tmp_path, "old", faked="20200101T000000", expire="1d")
    cases = {
        "not the signer's key": (mallory.sign(tarball, suffix=".m.sig"), alice.public, alice.fpr),
        "not the pinned": (mallory.sign(tarball, suffix=".m.sig"), mallory.public, alice.fpr),
        "expired key": (old.sign(tarball, faked="20200101T010000", suffix=".o.sig"), old.public,
                        old.fpr),
        "missing": (tmp_path / "none.sig", alice.public, alice.fpr),
    }
    for why, (s, key, fpr) in cases.items():
        with pytest.raises(FwenvError, match=rf"{why}.*refusing it \(the pinned signer is"):
            check_tarball_signature(tarball, s, key, fpr)
    good = alice.sign(tarball)
    tarball.write_bytes(b"tarball, swapped")
    with pytest.raises(FwenvError, match="bad signature"):
        check_tarball_signature(tarball, good, alice.public, alice.fpr)
