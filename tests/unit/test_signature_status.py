"""gpg/ssh signature status → verified or refused, with real gpg and ssh-keygen (no engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fwenv.release.sign import SigCheck, gpg_status, verify_signature
from fwenv.release.verify import check_signed_sums, verify_release_dir


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
    assert check.ok is False and check.detail == f"BAD gpg signature by key {gpg_homes['fpr'][-16:]}"


def test_gpg_unknown_key_names_the_fix(signed, gpg_homes, monkeypatch) -> None:
    check = _check(gpg_homes["stranger"], *signed, monkeypatch)
    assert check == SigCheck(False, f"unknown gpg key {gpg_homes['fpr'][-16:]}: import the signer's key")


@pytest.mark.parametrize("garbage", ["", "not a signature\n",
                                     "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"])
def test_gpg_unreadable_signature(signed, gpg_homes, monkeypatch, garbage: str) -> None:
    data, sig = signed
    sig.write_text(garbage)
    check = _check(gpg_homes["signer"], data, sig, monkeypatch)
    assert check == SigCheck(False, "unreadable gpg signature")


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
    assert good.ok is True
    assert good.detail.startswith('ssh "fwenv-release" signature for carol with ED25519 key SHA256:')
    assert verify_signature(data, sig, allowed_signers=allowed, principal="carol") == good
    wrong = verify_signature(data, sig, allowed_signers=allowed, principal="mallory")
    assert wrong.ok is False and wrong.detail.startswith("BAD ssh signature: ")
    none = verify_signature(data, sig, allowed_signers=None)
    assert none == SigCheck(False, "ssh signature but no allowed_signers file: pass --allowed-signers")
    assert verify_signature(data, sig, allowed_signers=tmp_path / "absent") == none
    data.write_text("y\n")
    bad = verify_signature(data, sig, allowed_signers=allowed)
    assert bad.ok is False and bad.detail.startswith("BAD ssh signature: ") and "\n" not in bad.detail
    other = tmp_path / "other_allowed"
    shutil.copy(allowed, other)
    other.write_text(other.read_text().replace("carol ", "dave ").replace("AAAA", "AAAB", 1))
    data.write_text("x\n")
    stranger = verify_signature(data, sig, allowed_signers=other)
    assert stranger == SigCheck(False, "BAD ssh signature: no key in allowed_signers made it")


# -- gpg status lines (the --status-fd protocol, doc/DETAILS in gnupg) -------------------------------
FPR = "A" * 40
GOOD = f"[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {FPR[-16:]} u <u@x>\n[GNUPG:] VALIDSIG {FPR} 2026-11-28 0\n"


@pytest.mark.parametrize("status,code,stderr,expected", [
    (GOOD, 0, "", SigCheck(True, f"gpg {FPR}")),
    (GOOD, 2, "gpg: oops", SigCheck(False, "gpg: gpg: oops")),  # exit status wins
    (GOOD.replace("[GNUPG:] GOODSIG", "[GNUPG:] EXPKEYSIG"), 0, "", SigCheck(False, "gpg: gpg failed")),
    (GOOD.replace("VALIDSIG", "X"), 0, "", SigCheck(False, "gpg: gpg failed")),
    (f"[GNUPG:] BADSIG {FPR[-16:]} u\n", 1, "", SigCheck(False, f"BAD gpg signature by key {FPR[-16:]}")),
    (f"[GNUPG:] ERRSIG K 22 8 00 1 9\n[GNUPG:] NO_PUBKEY {FPR[-16:]}\n", 2, "",
     SigCheck(False, f"unknown gpg key {FPR[-16:]}: import the signer's key")),
    ("[GNUPG:] NODATA 1\n", 2, "", SigCheck(False, "unreadable gpg signature")),
    ("[GNUPG:] ERRSIG K 22 8 00 1 4\n", 2, "", SigCheck(False, "unreadable gpg signature")),
    ("[GNUPG:] BADARMOR\n", 2, "", SigCheck(False, "unreadable gpg signature")),
    ("", 2, "gpg: first\ngpg: can't check\n", SigCheck(False, "gpg: gpg: can't check")),
    ("[GNUPG:]\nGOODSIG x\nVALIDSIG y\n", 0, "", SigCheck(False, "gpg: gpg failed")),  # no status prefix
])
def test_gpg_status(status: str, code: int, stderr: str, expected: SigCheck) -> None:
    assert gpg_status(status, code, stderr) == expected


# -- signed sums directories -------------------------------------------------------------------------
def _signed_dir(d: Path, gpg_homes, monkeypatch, files: dict[str, bytes]) -> Path:
    import hashlib

    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "SHA256SUMS").write_text("".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n"
                                          for k, v in sorted(files.items())))
    _gpg(gpg_homes["signer"], "--armor", "--detach-sign", "--output", str(d / "SHA256SUMS.asc"),
         str(d / "SHA256SUMS"))
    monkeypatch.setenv("GNUPGHOME", str(gpg_homes["signer"]))
    return d


def test_check_signed_sums_statuses(tmp_path: Path, gpg_homes, monkeypatch) -> None:
    d = _signed_dir(tmp_path / "alice", gpg_homes, monkeypatch, {"a.rom": b"a"})
    ok = check_signed_sums(d)
    assert (ok.signer, ok.status, ok.detail, ok.ok) == ("alice", "verified", f"gpg {gpg_homes['fpr']}", True)
    assert list(ok.sums) == ["a.rom"]
    missing = check_signed_sums(tmp_path / "nobody")
    assert (missing.signer, missing.status, missing.detail) == ("nobody", "missing", "no SHA256SUMS")
    (d / "SHA256SUMS").write_text("0" * 64 + "  a.rom\n")
    bad = check_signed_sums(d)
    assert (bad.signer, bad.status, bad.ok) == ("alice", "bad signature", False)
    assert bad.detail.startswith("BAD gpg signature") and bad.sums == {}
    (d / "SHA256SUMS.asc").unlink()
    unsigned = check_signed_sums(d)
    assert (unsigned.status, unsigned.detail) == ("bad signature", "no SHA256SUMS.asc or SHA256SUMS.sig")


def test_check_signed_sums_signed_but_unreadable(tmp_path: Path, gpg_homes, monkeypatch) -> None:
    d = tmp_path / "bob"
    d.mkdir()
    (d / "SHA256SUMS").write_text("not a sums line\n")
    _gpg(gpg_homes["signer"], "--armor", "--detach-sign", "--output", str(d / "SHA256SUMS.asc"),
         str(d / "SHA256SUMS"))
    monkeypatch.setenv("GNUPGHOME", str(gpg_homes["signer"]))
    r = check_signed_sums(d)
    assert (r.signer, r.status) == ("bob", "bad signature")
    assert r.detail.startswith("signed but unreadable: bob/SHA256SUMS line 1 is not")


def test_check_signed_sums_ssh_with_principal(tmp_path: Path, ssh_key) -> None:
    key, allowed = ssh_key
    d = tmp_path / "carol-dir"
    d.mkdir()
    (d / "SHA256SUMS").write_text("0" * 64 + "  a\n")
    _ssh_sign(key, d / "SHA256SUMS")
    assert check_signed_sums(d, allowed, principal="carol").ok is True
    assert check_signed_sums(d, allowed, principal="mallory").status == "bad signature"


def test_verify_release_dir(tmp_path: Path, gpg_homes, monkeypatch) -> None:
    d = _signed_dir(tmp_path / "1.0", gpg_homes, monkeypatch, {"env.tar.xz": b"env", "sbom.cdx.json": b"{}"})
    (d / "provenance.json").write_text("{}\n")
    _gpg(gpg_homes["signer"], "--armor", "--detach-sign", "--output", str(d / "provenance.json.asc"),
         str(d / "provenance.json"))
    ok = verify_release_dir(d)
    assert (ok.signer, ok.status, ok.detail) == ("release 1.0", "verified", f"gpg {gpg_homes['fpr']}")
    (d / "provenance.json").write_text('{"changed": true}\n')
    bad = verify_release_dir(d)
    assert bad.status == "bad signature" and bad.detail.startswith("provenance.json: BAD gpg signature")
    (d / "provenance.json.asc").unlink()  # unsigned provenance: the sums decide
    (d / "env.tar.xz").write_bytes(b"other")
    (d / "sbom.cdx.json").unlink()
    differs = verify_release_dir(d)
    assert (differs.signer, differs.status) == ("release 1.0", "differs")
    assert differs.detail == "env.tar.xz: sha256 differs from SHA256SUMS; sbom.cdx.json: missing"
    (d / "SHA256SUMS.asc").unlink()
    assert verify_release_dir(d).status == "bad signature"


def test_verify_release_dir_with_ssh_signatures(tmp_path: Path, ssh_key) -> None:
    import hashlib

    key, allowed = ssh_key
    d = tmp_path / "2.0"
    d.mkdir()
    (d / "a.rom").write_bytes(b"rom")
    (d / "SHA256SUMS").write_text(f"{hashlib.sha256(b'rom').hexdigest()}  a.rom\n")
    _ssh_sign(key, d / "SHA256SUMS")
    (d / "provenance.json").write_text("{}\n")
    _ssh_sign(key, d / "provenance.json")
    assert verify_release_dir(d, allowed).status == "verified"
    (d / "provenance.json").write_text('{"x": 1}\n')
    r = verify_release_dir(d, allowed)
    assert r.status == "bad signature" and r.detail.startswith("provenance.json: BAD ssh signature")
    assert verify_release_dir(d).detail.startswith("ssh signature but no allowed_signers file")


def test_verify_signers_joins_every_difference(tmp_path: Path, gpg_homes, monkeypatch) -> None:
    from fwenv.release.verify import verify_signers

    _signed_dir(tmp_path / "3.0" / "alice", gpg_homes, monkeypatch, {"a": b"a", "b": b"b"})
    base = {"a": "0" * 64, "c": "1" * 64}
    (r,) = verify_signers(tmp_path, "3.0", base=base)
    assert (r.status, r.detail) == ("differs", "a differs; b extra; c missing")
