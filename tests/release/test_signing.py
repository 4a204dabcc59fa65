"""SHA256SUMS and detached signatures with a real gpg (throwaway keys) and ssh-keygen."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.plan import Runner
from fwenv.release.sign import (
    SUMS,
    Signer,
    check_files,
    hash_files,
    parse_signer,
    parse_sums,
    sums_text,
)
from fwenv.release.signers import builder_keys
from fwenv.sigcheck import Verdict


def _files(d: Path) -> dict[str, str]:
    (d / "b.tar.gz").write_bytes(b"image")
    (d / "a.json").write_text("{}\n")
    return hash_files(d, ["b.tar.gz", "a.json"])


def _check(signer: Signer, data: Path, name: str) -> Verdict:
    """Verify with the signer's exported public key only (builder-keys/<name>.gpg|.pub)."""
    keys = data.parent / "builder-keys"
    signer.public_key(keys, name)
    return builder_keys(keys)[name].verify(data)


def test_sums_are_sorted_and_sha256sum_compatible(tmp_path: Path) -> None:
    sums = _files(tmp_path)
    text = sums_text(sums)
    assert text.splitlines()[0].endswith("  a.json")
    (tmp_path / SUMS).write_text(text)
    # coreutils agrees with us
    subprocess.run(["sha256sum", "--check", "--strict", SUMS], cwd=tmp_path, check=True,
                   capture_output=True)
    assert parse_sums(text) == sums
    assert check_files(tmp_path, sums) == []


def test_check_files_names_the_changed_and_missing_file(tmp_path: Path) -> None:
    sums = _files(tmp_path)
    with open(tmp_path / "b.tar.gz", "r+b") as f:
        f.write(b"I")
    (tmp_path / "a.json").unlink()
    assert check_files(tmp_path, sums) == ["a.json: missing",
                                           "b.tar.gz: sha256 differs from SHA256SUMS"]


@pytest.mark.parametrize("bad", ["nothex  file\n", f"{'0' * 64}  ../etc/passwd\n",
                                 f"{'0' * 64}  a\n{'1' * 64}  a\n", "\n", f"{'0' * 64} x/y\n"])
def test_parse_sums_rejects_bad_lines(bad: str) -> None:
    with pytest.raises(FwenvError):
        parse_sums(bad)


def test_gpg_sign_verify_and_tamper(tmp_path: Path, gnupghome: dict[str, str]) -> None:
    sums = tmp_path / SUMS
    sums.write_text(sums_text(_files(tmp_path)))
    signer = parse_signer(gnupghome["alice"])
    assert signer.default_name() == "alice"
    sig = signer.sign(sums, Runner())
    assert sig.name == "SHA256SUMS.asc"
    assert sig.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    ok = _check(signer, sums, "alice")
    assert ok.ok and ok.signer == gnupghome["alice"]

    sums.write_text(sums.read_text().replace("a.json", "a.jsom"))
    bad = _check(signer, sums, "alice")
    assert not bad.ok and bad.reason.startswith("bad signature")


def test_gpg_corrupt_signature_is_rejected(tmp_path: Path, gnupghome: dict[str, str]) -> None:
    f = tmp_path / "x"
    f.write_text("x\n")
    bob = Signer("gpg", gnupghome["bob"])
    sig = bob.sign(f, Runner())
    lines = sig.read_text().splitlines()
    body = next(i for i, ln in enumerate(lines) if ln and not ln.startswith("-----") and i > 1)
    lines[body] = lines[body][:10] + ("A" if lines[body][10] != "A" else "B") + lines[body][11:]
    sig.write_text("\n".join(lines) + "\n")
    assert not _check(bob, f, "bob").ok


def test_unknown_gpg_key_is_an_error_naming_the_fix(gnupghome: dict[str, str]) -> None:
    with pytest.raises(FwenvError, match="gpg --list-secret-keys"):
        parse_signer("nobody@example.invalid").default_name()


def test_ssh_sign_and_verify(tmp_path: Path, ssh_signer: tuple[Signer, Path]) -> None:
    signer, _ = ssh_signer
    f = tmp_path / SUMS
    f.write_text("0" * 64 + "  a\n")
    sig = signer.sign(f, Runner())
    assert sig.name == "SHA256SUMS.sig"
    assert _check(signer, f, "carol").ok
    assert signer.default_name() == "carol"
    signer.sign(f, Runner())  # re-signing replaces the old signature
    f.write_text("1" * 64 + "  a\n")
    res = _check(signer, f, "carol")
    assert not res.ok and "bad ssh signature" in res.reason


def test_dry_run_signing_prints_and_writes_nothing(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / SUMS
    f.write_text("x")
    Signer("gpg", "KEYID").sign(f, Runner(dry_run=True))
    out = capsys.readouterr().out
    assert "gpg --batch --yes --armor --local-user KEYID" in out
    assert "--detach-sign" in out
    assert not (tmp_path / "SHA256SUMS.asc").exists()


def test_parse_signer_forms(tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("k")
    assert parse_signer(f"ssh:{key}") == Signer("ssh", str(key))
    assert parse_signer("gpg:ABCD") == Signer("gpg", "ABCD")
    with pytest.raises(FwenvError, match="not found"):
        parse_signer("ssh:/nonexistent/key")
    with pytest.raises(FwenvError):
        parse_signer("--oops")
