"""fwenv.release.signers with real keys: which key files are read, which signer directories count,
the exact status and detail of each outcome, and the threshold. No engine; gpg and ssh-keygen."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.release.sign import SSH_NAMESPACE
from fwenv.release.signers import (
    SignerKey,
    SignerResult,
    builder_keys,
    check_signer_name,
    shown,
    signed_sums,
    threshold,
    verify_release_dir,
    verify_signers,
)
from fwenv.sigcheck import ssh_fingerprint

FILES = {"coreboot-build-env-1.0.tar.gz": b"the environment\n", "sbom.cdx.json": b"{}\n"}


def sums_of(files: dict[str, bytes]) -> str:
    return "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(files.items()))


def key_of(k) -> SignerKey:
    return SignerKey(k.name, k.public, k.fpr)


def signer_dir(root: Path, name: str, key, files: dict[str, bytes] = FILES, text: str | None = None) -> Path:
    d = root / "1.0" / name
    d.mkdir(parents=True)
    (d / "SHA256SUMS").write_text(sums_of(files) if text is None else text)
    if hasattr(key, "fpr"):
        key.sign(d / "SHA256SUMS")
    else:
        key.sign(d / "SHA256SUMS", SSH_NAMESPACE)
    return d


def triples(results: list[SignerResult]) -> list[tuple[str, str, str]]:
    return [(r.signer, r.status, r.detail) for r in results]


# -- key files ------------------------------------------------------------------------------------
def test_builder_keys_reads_gpg_and_ssh_key_files_and_nothing_else(tmp_path: Path, gpg_keys,
                                                                   ssh_keys) -> None:
    kd = tmp_path / "builder-keys"
    kd.mkdir()
    (kd / "README.md").write_text("one key file per signer\n")  # sorts first: skipped, not the end
    (kd / "alice.gpg").write_bytes(gpg_keys["alice"].public.read_bytes())
    (kd / "carol.pub").write_bytes(ssh_keys["carol"].public.read_bytes())
    (kd / "zz.txt").write_text("")
    assert builder_keys(kd) == {
        "alice": SignerKey("alice", kd / "alice.gpg", gpg_keys["alice"].fpr),
        "carol": SignerKey("carol", kd / "carol.pub", ssh_fingerprint(ssh_keys["carol"].public)),
    }


@pytest.mark.parametrize("bad", ["bad-name", "same-name", "symlink", "directory"])
def test_builder_keys_refuses_each_bad_key_file(tmp_path: Path, gpg_keys, ssh_keys, bad: str) -> None:
    kd = tmp_path / "builder-keys"
    kd.mkdir()
    (kd / "alice.gpg").write_bytes(gpg_keys["alice"].public.read_bytes())
    culprit = {"bad-name": "-alice.gpg", "same-name": "alice.pub", "symlink": "bob.gpg",
               "directory": "dir.gpg"}[bad]
    if bad == "bad-name":
        (kd / culprit).write_bytes(gpg_keys["bob"].public.read_bytes())
    elif bad == "same-name":
        (kd / culprit).write_bytes(ssh_keys["carol"].public.read_bytes())
    elif bad == "symlink":
        (kd / culprit).symlink_to(gpg_keys["bob"].public)
    else:
        (kd / culprit).mkdir()
    with pytest.raises(FwenvError, match=rf"^bad key file {culprit} in "):
        builder_keys(kd)


def test_builder_keys_of_nothing(tmp_path: Path) -> None:
    with pytest.raises(FwenvError, match="^no "):
        builder_keys(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FwenvError, match="holds no <name>.gpg or <name>.pub key file"):
        builder_keys(tmp_path / "empty")


@pytest.mark.parametrize("name", ["", "a..b", "..", ".a", "-a", "a/b", "a b", "a" * 65, "\u0430lice"])
def test_check_signer_name_refuses(name: str) -> None:
    with pytest.raises(FwenvError, match="^bad signer name"):
        check_signer_name(name)


@pytest.mark.parametrize("name", ["alice", "a.b", "A_1+x-y", "a" * 64])
def test_check_signer_name_accepts(name: str) -> None:
    assert check_signer_name(name) == name


def test_shown_escapes_control_and_non_ascii() -> None:
    assert shown("al\x1b[2Jice\u00e9") == "al\\x1b[2Jice\\xe9"


# -- one signer directory -------------------------------------------------------------------------
def test_signed_sums_outcomes(tmp_path: Path, gpg_keys) -> None:
    alice = gpg_keys["alice"]
    assert triples([signed_sums(tmp_path, key_of(alice), "x")]) == [("x", "missing", "no SHA256SUMS")]
    good = signer_dir(tmp_path, "alice", alice)
    r = signed_sums(good, key_of(alice), "alice")
    assert (r.signer, r.status, r.detail, r.fingerprint) == ("alice", "verified", f"key {alice.fpr}",
                                                             alice.fpr)
    assert r.sums == {n: hashlib.sha256(b).hexdigest() for n, b in FILES.items()} and r.counts and r.ok
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "SHA256SUMS").symlink_to(good / "SHA256SUMS")
    (linked / "SHA256SUMS.asc").write_bytes((good / "SHA256SUMS.asc").read_bytes())
    assert triples([signed_sums(linked, key_of(alice), "l")]) == [("l", "missing", "no SHA256SUMS")]


def test_signed_but_unreadable_sums_name_where(tmp_path: Path, gpg_keys) -> None:
    alice = gpg_keys["alice"]
    d = signer_dir(tmp_path, "alice", alice, text="not a sums line\n")
    r = signed_sums(d, key_of(alice), "alice")
    assert (r.signer, r.status) == ("alice", "bad signature") and not r.ok and not r.counts
    assert r.detail.startswith("signed but unreadable: alice/SHA256SUMS line 1 is not")


def test_signature_by_another_key_is_an_unknown_key(tmp_path: Path, gpg_keys) -> None:
    d = signer_dir(tmp_path, "alice", gpg_keys["mallory"])
    r = signed_sums(d, key_of(gpg_keys["alice"]), "alice")
    assert (r.status, r.sums, r.ok) == ("unknown key", {}, False)
    assert r.detail.startswith("alice's key: signed by ")


# -- all signers of a version ---------------------------------------------------------------------
def test_verify_signers_each_entry_by_kind(tmp_path: Path, gpg_keys, ssh_keys) -> None:
    alice, bob = gpg_keys["alice"], gpg_keys["bob"]
    carol = ssh_keys["carol"]
    sigs = tmp_path / "sigs"
    signer_dir(sigs, "alice", alice)
    signer_dir(sigs, "bob", bob, {**FILES, "sbom.cdx.json": b"other\n"})
    signer_dir(sigs, "carol", carol)
    (sigs / "1.0" / "a-file").write_text("")
    (sigs / "1.0" / "dave").symlink_to(sigs / "1.0" / "alice")  # dave's key, alice's directory
    (sigs / "1.0" / "eve").mkdir()
    keys = {"alice": key_of(alice), "bob": key_of(bob), "dave": key_of(bob),
            "carol": SignerKey("carol", carol.public, ssh_fingerprint(carol.public))}
    results = verify_signers(sigs, "1.0", keys)
    assert triples(results) == [
        ("a-file", "unknown signer", "not a directory"),
        ("alice", "verified", f"key {alice.fpr}"),
        ("bob", "differs", "sbom.cdx.json differs"),
        ("carol", "verified", f"key {ssh_fingerprint(carol.public)}"),
        ("dave", "unknown signer", "not a directory"),
        ("eve", "unknown signer", "no builder-keys/eve.gpg or .pub: not verified"),
    ]
    assert [r.ok for r in results] == [True, True, False, True, True, True]


def test_verify_signers_one_key_counts_once_and_names_the_first(tmp_path: Path, gpg_keys) -> None:
    alice = gpg_keys["alice"]
    sigs = tmp_path / "sigs"
    signer_dir(sigs, "alice", alice)
    signer_dir(sigs, "alias", alice)
    signer_dir(sigs, "alias2", alice)
    keys = {n: SignerKey(n, alice.public, alice.fpr) for n in ("alice", "alias", "alias2")}
    counted = f"key {alice.fpr} already counted as alias: counts once"
    assert triples(verify_signers(sigs, "1.0", keys)) == [
        ("alias", "verified", f"key {alice.fpr}"), ("alias2", "same key", counted),
        ("alice", "same key", counted)]


def test_verify_signers_with_none_verifying_and_a_given_base(tmp_path: Path, gpg_keys) -> None:
    sigs = tmp_path / "sigs"
    signer_dir(sigs, "alice", gpg_keys["mallory"])
    signer_dir(sigs, "bob", gpg_keys["bob"])
    keys = {"alice": key_of(gpg_keys["alice"])}
    assert [r.status for r in verify_signers(sigs, "1.0", keys)] == ["unknown key", "unknown signer"]
    keys["bob"] = key_of(gpg_keys["bob"])
    base = {"coreboot-build-env-1.0.tar.gz": "0" * 64}
    results = verify_signers(sigs, "1.0", keys, base=base)
    assert triples(results)[1] == ("bob", "differs",
                                   "coreboot-build-env-1.0.tar.gz differs; sbom.cdx.json extra")


def test_verify_signers_without_signatures(tmp_path: Path) -> None:
    with pytest.raises(FwenvError, match="^no signatures for 1.0 in "):
        verify_signers(tmp_path, "1.0", {})
    (tmp_path / "1.0").mkdir()
    with pytest.raises(FwenvError, match="holds no signer directories"):
        verify_signers(tmp_path, "1.0", {})


# -- a release directory --------------------------------------------------------------------------
def release(root: Path, key, files: dict[str, bytes] = FILES) -> Path:
    d = root / "release-1.0"
    d.mkdir(parents=True)
    for n, b in files.items():
        (d / n).write_bytes(b)
    (d / "SHA256SUMS").write_text(sums_of(files))
    (d / "provenance.json").write_text(json.dumps({"schema": "fwenv-release/1"}))
    for n in ("SHA256SUMS", "provenance.json"):
        key.sign(d / n) if hasattr(key, "fpr") else key.sign(d / n, SSH_NAMESPACE)
    return d


def test_release_dir_signed_with_gpg_or_ssh(tmp_path: Path, gpg_keys, ssh_keys) -> None:
    alice, carol = gpg_keys["alice"], ssh_keys["carol"]
    r = verify_release_dir(release(tmp_path / "g", alice), {"alice": key_of(alice)})
    assert (r.signer, r.status, r.detail) == ("release release-1.0", "verified",
                                              f"signed by alice, key {alice.fpr}")
    cfpr = ssh_fingerprint(carol.public)
    r = verify_release_dir(release(tmp_path / "s", carol), {"carol": SignerKey("carol", carol.public, cfpr)})
    assert (r.status, r.detail) == ("verified", f"signed by carol, key {cfpr}")


def test_release_dir_problems(tmp_path: Path, gpg_keys) -> None:
    alice = gpg_keys["alice"]
    keys = {"alice": key_of(alice)}
    d = release(tmp_path, alice)
    (d / "b-extra").write_text("")
    (d / "a-extra").write_text("")
    r = verify_release_dir(d, keys)
    assert (r.status, r.detail) == ("unlisted file", "a-extra, b-extra: not listed in SHA256SUMS")
    (d / "a-extra").unlink()
    (d / "b-extra").unlink()
    (d / "sbom.cdx.json").unlink()
    (d / "coreboot-build-env-1.0.tar.gz").write_bytes(b"swapped\n")
    r = verify_release_dir(d, keys)
    assert (r.status, r.detail) == ("differs", "coreboot-build-env-1.0.tar.gz: sha256 differs from "
                                    "SHA256SUMS; sbom.cdx.json: missing")
    (d / "SHA256SUMS").unlink()
    r = verify_release_dir(d, keys)
    assert (r.status, r.detail, r.ok) == ("missing", "no SHA256SUMS", False)


def test_release_dir_signed_by_no_given_key(tmp_path: Path, gpg_keys) -> None:
    d = release(tmp_path, gpg_keys["mallory"])
    r = verify_release_dir(d, {"alice": key_of(gpg_keys["alice"]), "bob": key_of(gpg_keys["bob"])})
    assert (r.status, r.detail) == ("unknown key",
                                    "SHA256SUMS is signed by a key that is not in builder-keys/")


# -- threshold and reporting ----------------------------------------------------------------------
def test_threshold_counts_verified_only() -> None:
    ok, other = SignerResult("a", "verified"), SignerResult("b", "same key")
    assert threshold([ok, ok], 2) is None and threshold([ok, ok, other], 2) is None
    one = threshold([ok, other], 2)
    assert one is not None and (one.signer, one.status, one.detail, one.ok) == (
        "signers", "too few signers", "1 independent signer matches, --min-signers is 2", False)
    none = threshold([], 1)
    assert none is not None and none.detail == "0 independent signers match, --min-signers is 1"


def test_result_line_and_dict() -> None:
    r = SignerResult("alice", "differs", "x differs", {"x": "0" * 64}, "F" * 40)
    assert r.line() == "differs: alice (x differs)"
    assert SignerResult("bob", "verified").line() == "verified: bob"
    assert r.as_dict() == {"signer": "alice", "status": "differs", "detail": "x differs",
                           "fingerprint": "F" * 40}
