"""Attestations, per-signer verification and the archive comparison (no engine needed)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.plan import Runner
from fwenv.release.attest import write_attestation
from fwenv.release.sign import SUMS, Signer, sums_text
from fwenv.release.signers import builder_keys, verify_signers
from fwenv.release.verify import compare_archives, image_digests, store_items

SUMS_A = {"coreboot-build-env-1.0.tar.gz": "a" * 64, "sbom.cdx.json": "b" * 64}


def _tar(files: dict[str, bytes], mtime: int = 1) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, body in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(body), mtime, 0o644
            tf.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def docker_archive(path: Path, files: dict[str, bytes], mtime: int = 1) -> Path:
    """A `docker save`-shaped archive with one layer holding `files`, gzip-compressed."""
    layer = _tar(files, mtime)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["t:1"],
                            "Layers": ["l1/layer.tar"]}]).encode()
    outer = _tar({"config.json": config, "manifest.json": manifest, "l1/layer.tar": layer})
    import gzip
    path.write_bytes(gzip.compress(outer, mtime=0))
    return path


def _keys(sigs: Path) -> dict:
    return builder_keys(sigs / "builder-keys")


def _signed(sigs: Path, version: str, name: str, key: str, sums: dict[str, str]) -> Path:
    return write_attestation(Runner(), sigs, version, name, Signer("gpg", key), sums)


def test_two_signers_verify(tmp_path: Path, gnupghome: dict[str, str]) -> None:
    _signed(tmp_path, "1.0", "alice", gnupghome["alice"], SUMS_A)
    _signed(tmp_path, "1.0", "bob", gnupghome["bob"], SUMS_A)
    lines = [r.line() for r in verify_signers(tmp_path, "1.0", _keys(tmp_path))]
    assert lines[0].startswith("verified: alice (key ")
    assert lines[1].startswith("verified: bob (key ")


def test_attest_refuses_to_overwrite_a_differing_file(tmp_path: Path,
                                                      gnupghome: dict[str, str]) -> None:
    _signed(tmp_path, "1.0", "alice", gnupghome["alice"], SUMS_A)
    _signed(tmp_path, "1.0", "alice", gnupghome["alice"], SUMS_A)  # same sums: fine
    other = {**SUMS_A, "sbom.cdx.json": "c" * 64}
    with pytest.raises(FwenvError,
                       match=r"exists and differs \(sbom.cdx.json differs\): refusing"):
        _signed(tmp_path, "1.0", "alice", gnupghome["alice"], other)
    assert (tmp_path / "1.0" / "alice" / SUMS).read_text() == sums_text(SUMS_A)


def test_tampered_sums_line_is_a_bad_signature(tmp_path: Path,
                                               gnupghome: dict[str, str]) -> None:
    _signed(tmp_path, "1.0", "alice", gnupghome["alice"], SUMS_A)
    d = _signed(tmp_path, "1.0", "bob", gnupghome["bob"], SUMS_A)
    text = (d / SUMS).read_text()
    (d / SUMS).write_text(text.replace("a" * 64, "a" * 63 + "0"))
    res = {r.signer: r for r in verify_signers(tmp_path, "1.0", _keys(tmp_path))}
    assert res["alice"].status == "verified"
    assert res["bob"].status == "bad signature"
    assert res["bob"].line().startswith("bad signature: bob (bob's key: bad signature")


def test_signer_with_other_sums_differs(tmp_path: Path, gnupghome: dict[str, str]) -> None:
    _signed(tmp_path, "1.0", "alice", gnupghome["alice"], SUMS_A)
    _signed(tmp_path, "1.0", "bob", gnupghome["bob"],
            {**SUMS_A, "coreboot-build-env-1.0.tar.gz": "f" * 64})
    res = {r.signer: r for r in verify_signers(tmp_path, "1.0", _keys(tmp_path))}
    assert res["bob"].line() == "differs: bob (coreboot-build-env-1.0.tar.gz differs)"
    # against an explicit base (e.g. a local rebuild), alice differs too
    res = {r.signer: r for r in verify_signers(tmp_path, "1.0", _keys(tmp_path), base={"x.rom": "1" * 64})}
    assert res["alice"].status == "differs" and "x.rom missing" in res["alice"].detail


def test_corrupt_or_missing_signature(tmp_path: Path, gnupghome: dict[str, str]) -> None:
    _signed(tmp_path, "1.0", "alice", gnupghome["alice"], SUMS_A)
    d = _signed(tmp_path, "1.0", "bob", gnupghome["bob"], SUMS_A)
    (d / "SHA256SUMS.asc").write_text("-----BEGIN PGP SIGNATURE-----\n\ngarbage\n"
                                      "-----END PGP SIGNATURE-----\n")
    e = tmp_path / "1.0" / "eve"
    e.mkdir()
    (e / SUMS).write_text(sums_text(SUMS_A))
    res = {r.signer: r for r in verify_signers(tmp_path, "1.0", _keys(tmp_path))}
    assert res["bob"].status == "bad signature"
    assert res["eve"].line() == "unknown signer: eve (no builder-keys/eve.gpg or .pub: not verified)"
    assert res["alice"].ok


def test_verify_without_signatures_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FwenvError, match="release.attest"):
        verify_signers(tmp_path, "9.9", {})


def test_ssh_signer_verifies_with_allowed_signers(tmp_path: Path,
                                                  ssh_signer: tuple[Signer, Path]) -> None:
    signer, _ = ssh_signer
    write_attestation(Runner(), tmp_path, "1.0", "carol", signer, SUMS_A)
    [r] = verify_signers(tmp_path, "1.0", _keys(tmp_path))
    assert r.status == "verified" and r.detail.startswith("key SHA256:")


def test_identical_archives_compare_equal(tmp_path: Path) -> None:
    a = docker_archive(tmp_path / "a.tar.gz", {"gnu/store/aaa-hello-1.0/bin/hello": b"hi"})
    b = docker_archive(tmp_path / "b.tar.gz", {"gnu/store/aaa-hello-1.0/bin/hello": b"hi"})
    assert compare_archives(a, b) == []


def test_differing_layers_name_the_file(tmp_path: Path) -> None:
    a = docker_archive(tmp_path / "a.tar.gz", {"gnu/store/aaa-hello-1.0/bin/hello": b"hi",
                                               "gnu/store/aaa-hello-1.0/stamp": b"1700000000"})
    b = docker_archive(tmp_path / "b.tar.gz", {"gnu/store/aaa-hello-1.0/bin/hello": b"hi",
                                               "gnu/store/aaa-hello-1.0/stamp": b"1700000007"})
    diff = compare_archives(a, b)
    assert "layer l1/layer.tar: gnu/store/aaa-hello-1.0/stamp: content differs" in diff
    assert not any("bin/hello" in d for d in diff)
    assert any(d.startswith("config.json") for d in diff)  # diff_ids changed too


def test_mtime_difference_is_reported(tmp_path: Path) -> None:
    a = docker_archive(tmp_path / "a.tar.gz", {"f": b"x"}, mtime=1)
    b = docker_archive(tmp_path / "b.tar.gz", {"f": b"x"}, mtime=2)
    assert "layer l1/layer.tar: f: mtime 1 vs 2" in compare_archives(a, b)


def test_image_digests_and_store_items(tmp_path: Path) -> None:
    a = docker_archive(tmp_path / "a.tar.gz", {"gnu/store/aaa-hello-1.0/bin/hello": b"hi",
                                               "gnu/store/bbb-profile/bin": b""})
    d = image_digests(a)
    assert d.image_id.startswith("sha256:") and len(d.diff_ids) == 1 and d.repo_tags == ("t:1",)
    assert store_items(a) == ["/gnu/store/aaa-hello-1.0", "/gnu/store/bbb-profile"]
    with pytest.raises(FwenvError, match="not a docker image archive"):
        image_digests(_plain(tmp_path / "plain.tar"))


def _plain(p: Path) -> Path:
    p.write_bytes(_tar({"x": b"y"}))
    return p
