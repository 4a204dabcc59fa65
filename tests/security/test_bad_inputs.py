"""More bad inputs, each the one line it gives: sums files, key files, signatures of each bad kind
(real throwaway keys), unpinned image references and the tasks' own flags (the real CLI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fwenv.env.pull import check_pinned
from fwenv.errors import FwenvError
from fwenv.release.sign import parse_sums
from fwenv.release.signers import builder_keys, check_signer_name, verify_signers
from fwenv.sigcheck import gpg_verify

pytestmark = pytest.mark.skipif(shutil.which("gpgv") is None, reason="needs gpg and gpgv")
ROOT = Path(__file__).resolve().parents[2]
H = "0" * 64


@pytest.mark.parametrize("text", [f"{H} ../etc/passwd", f"{H}  a/b", f"{H}  x\n{H}  x", "", "junk",
                                  f"{H[:-1]}  short"])
def test_bad_sums_file(text: str, record) -> None:
    with pytest.raises(FwenvError) as e:
        parse_sums(text, "SHA256SUMS")
    record(f"SHA256SUMS text {text[-16:]!r}", str(e.value))


@pytest.mark.parametrize("kind", ["garbage", "symlink", "empty dir", "bad name", "ssh garbage"])
def test_bad_builder_keys(tmp_path: Path, kind: str, keys, record) -> None:
    d = tmp_path / "builder-keys"
    d.mkdir()
    if kind == "garbage":
        (d / "alice.gpg").write_text("not a key\n")
    elif kind == "symlink":
        (d / "alice.gpg").symlink_to(keys["alice"].public)
    elif kind == "bad name":
        (d / "-rf.gpg").write_text(keys["alice"].public.read_text())
    elif kind == "ssh garbage":
        (d / "carol.pub").write_text("ssh-ed25519 AAAAnotakey carol\n")
    with pytest.raises(FwenvError) as e:
        builder_keys(d)
    record(f"builder-keys/ with a {kind} key file", str(e.value))


def _signed_data(tmp_path: Path, keys) -> Path:
    f = tmp_path / "SHA256SUMS"
    f.write_text(f"{H}  coreboot-build-env-docker.tar.gz\n")
    keys["alice"].sign(f)
    return f


@pytest.mark.parametrize("kind", ["tampered data", "another key", "no signature", "garbage",
                                  "empty signature"])
def test_each_bad_gpg_signature_kind(tmp_path: Path, kind: str, keys, record) -> None:
    f = _signed_data(tmp_path, keys)
    sig = f.with_name(f.name + ".asc")
    if kind == "tampered data":
        f.write_text(f"{'1' * 64}  coreboot-build-env-docker.tar.gz\n")
    elif kind == "another key":
        keys["mallory"].sign(f)
    elif kind == "no signature":
        sig.unlink()
    elif kind == "garbage":
        sig.write_text("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n")
    else:
        sig.write_text("")
    verdict = gpg_verify(f, sig, keys["alice"].public)
    assert not verdict.ok
    record(f"signature check: {kind}", verdict.reason)


def test_signer_without_sums(tmp_path: Path, keys, kit, record) -> None:
    kit.write_signer(tmp_path, "alice", keys["alice"])
    kit.write_signer(tmp_path, "bob", keys["bob"])
    (tmp_path / "1.0" / "bob" / "SHA256SUMS").unlink()
    res = verify_signers(tmp_path, "1.0", builder_keys(tmp_path / "builder-keys"))
    assert record("signer directory without SHA256SUMS", res[1].line()) == \
        "missing: bob (no SHA256SUMS)"


def test_signer_directory_that_is_a_symlink(tmp_path: Path, keys, kit, record) -> None:
    kit.write_signer(tmp_path, "alice", keys["alice"])
    (tmp_path / "1.0" / "bob").symlink_to(tmp_path / "1.0" / "alice")
    res = verify_signers(tmp_path, "1.0", builder_keys(tmp_path / "builder-keys"))
    assert record("signer directory that is a symlink to another", res[1].line()) == \
        "unknown signer: bob (not a directory)"
    assert sum(r.counts for r in res) == 1


@pytest.mark.parametrize("ref", ["coreboot-build-env:latest", "r/x@sha256:abc",
                                 "r/x@sha256:" + "G" * 64, "@sha256:" + "a" * 64])
def test_unpinned_image_reference(ref: str, record) -> None:
    with pytest.raises(FwenvError) as e:
        check_pinned(ref)
    record(f"image reference {ref[:30]!r}", str(e.value))


@pytest.mark.parametrize("name", ["Ali ce", "a" * 65, "é"])
def test_bad_signer_names(name: str, record) -> None:
    with pytest.raises(FwenvError) as e:
        check_signer_name(name)
    record(f"signer name {name[:20]!r}", str(e.value))


def _invoke(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock", **extra}
    env.pop("FWENV_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], cwd=cwd,
                          capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("args", [
    ("release.verify", "--version", "1.0", "--sigs", "SIGS", "--min-signers", "two"),
    ("env.pull", "--version", "1.0"),
    ("env.pull", "--version", "1.0", "--sigs", "SIGS"),
    ("env.pull", "--version", "../1.0", "--sigs", "SIGS", "--release-dir", "REL"),
    ("release.verify", "--version", "1.0", "--sigs", "SIGS"),
])
def test_task_flags(tmp_path: Path, args: tuple[str, ...], keys, kit, record) -> None:
    rel = kit.write_release(tmp_path, keys["alice"])
    (tmp_path / "sigs").mkdir()
    argv = [a.replace("SIGS", str(tmp_path / "sigs")).replace("REL", str(rel)) for a in args]
    before = kit.tree_state(tmp_path)
    proc = _invoke(*argv, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    record("invoke " + " ".join(args), line)
    assert kit.tree_state(tmp_path) == before


@pytest.mark.parametrize("args", [
    ("guix.pack", "--store", "/"), ("guix.pack", "--store", "../x"), ("guix.pack", "--store", "a b"),
    ("guix.pack", "--authorize", "/"), ("guix.pack", "--authorize", "../none.pub"),
    ("guix.pack", "--substitute-urls", "file:///etc"), ("guix.pack", "--substitute-urls", "ftp://x"),
    ("release.bundle", "--version", "../x"), ("release.bundle", "--version", "/"),
    ("env.build", "--bundle", "/"), ("env.build", "--bundle", "/etc/passwd"),
    ("cache.serve", "--port", "0"), ("cache.serve", "--address", "a b"),
    ("firmware.build", "--src", "/", "--board", "emulation/qemu-q35"),
    ("firmware.build", "--src", ".", "--board", "../x"),
])
def test_option_names_and_paths(tmp_path: Path, args: tuple[str, ...], record) -> None:
    """Each refused in one line naming the value, before anything is written (the output dir
    is never made; a dry run where the task has one: the refusal comes before the plan)."""
    dry = ("--dry-run",) if args[0] != "cache.serve" else ()
    out = tmp_path / "output"
    proc = _invoke(*args, *dry, cwd=ROOT, FWENV_OUTPUT_DIR=str(out))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    bad = args[-1] if args[0] != "firmware.build" else args[2 if args[2] == "/" else 4]
    assert repr(bad) in line or f" {bad}" in line or f"{bad}:" in line \
        or Path(bad).name in line, line  # the bad value itself is named
    record("invoke " + " ".join(args), line)
    assert not out.exists()


def _ssh_key(where: Path, name: str) -> Path:
    key = where / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True)
    return key


def test_ssh_signer_directory_signed_by_another_ssh_key(tmp_path: Path, kit, record) -> None:
    from fwenv.release.sign import SSH_NAMESPACE
    carol, mallory = _ssh_key(tmp_path, "carol"), _ssh_key(tmp_path, "mallory")
    sigs = tmp_path / "sigs"
    d = sigs / "1.0" / "carol"
    d.mkdir(parents=True)
    (d / "SHA256SUMS").write_text(kit.sums_of(kit.HONEST))
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(mallory), "-n", SSH_NAMESPACE,
                    str(d / "SHA256SUMS")], check=True)
    (sigs / "builder-keys").mkdir()
    shutil.copy(f"{carol}.pub", sigs / "builder-keys" / "carol.pub")
    keys = builder_keys(sigs / "builder-keys")
    [r] = verify_signers(sigs, "1.0", keys)
    assert record("ssh signer directory signed by another ssh key", r.line()).startswith(
        "unknown key: carol (carol's key: signed by another ssh key, not the signer's key SHA256:")
    # a sound signature by the right key over changed sums is a bad signature, not unknown
    (d / "SHA256SUMS.sig").unlink()
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(carol), "-n", SSH_NAMESPACE,
                    str(d / "SHA256SUMS")], check=True)
    (d / "SHA256SUMS").write_text(kit.sums_of({**kit.HONEST, "x": b"x"}))
    [r] = verify_signers(sigs, "1.0", keys)
    assert record("ssh signer's sums changed after signing", r.line()).startswith(
        "bad signature: carol (carol's key: bad ssh signature")
