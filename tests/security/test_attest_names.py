"""release.attest --name and --version are checked before any path is made from them: `--name /`
reached `rmtree` of the root directory (as root), `--name ../x` one outside the attest area.

shutil.rmtree is replaced by a guard for these tests, so the code as it was could be shown to
fail without deleting anything; every test also checks the planted files are still there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fwenv.config import Config, load_config
from fwenv.engine import Engine
from fwenv.errors import FwenvError
from fwenv.guix.options import PackOptions
from fwenv.plan import Runner
from fwenv.release.attest import attest, write_attestation
from fwenv.release.options import BuildSpec, ReleaseOptions
from fwenv.release.sign import Signer

ROOT = Path(__file__).resolve().parents[2]
SUMS = {"coreboot-build-env-1.0.tar.gz": "a" * 64}


@pytest.fixture()
def no_rmtree(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def guard(path: object, *a: object, **k: object) -> None:
        calls.append(str(path))
        raise AssertionError(f"rmtree({path}) was reached")

    monkeypatch.setattr(shutil, "rmtree", guard)
    return calls


def _opts(name: str, version: str = "1.0") -> ReleaseOptions:
    pack = PackOptions(manifest=ROOT / "guix" / "manifest.scm", channels=None)
    return ReleaseOptions(version=version, build=BuildSpec("fwenv-no-such-builder:0", pack),
                          signer=Signer("gpg", "0" * 40), signer_name=name)


@pytest.mark.parametrize("name", ["/", "../x", "..", "a/b", ".hidden", "-rf",
                                  "x\x1b[2J", "a" * 65])
def test_attest_refuses_a_bad_name_before_any_filesystem_action(tmp_path: Path, name: str,
                                                               no_rmtree: list[str],
                                                               record) -> None:
    out = tmp_path / "output"
    planted = out / "attest" / "x" / "keep"
    planted.parent.mkdir(parents=True)
    planted.write_text("mine\n")
    cfg = Config(root=ROOT, data={**load_config(ROOT).data, "output_dir": str(out)})
    with pytest.raises(FwenvError) as e:
        attest(cfg, Runner(), Engine.on_demand(), _opts(name), tmp_path / "sigs")
    assert record(f"release.attest --name {name!r}", str(e.value)).startswith("bad signer name")
    assert no_rmtree == [] and planted.read_text() == "mine\n"
    assert not (tmp_path / "sigs").exists()


@pytest.mark.parametrize("version", ["../1.0", "/", ""])
def test_attest_refuses_a_bad_version(tmp_path: Path, version: str, no_rmtree: list[str],
                                      record) -> None:
    cfg = Config(root=ROOT, data={**load_config(ROOT).data, "output_dir": str(tmp_path / "o")})
    with pytest.raises(FwenvError) as e:
        attest(cfg, Runner(), Engine.on_demand(), _opts("alice", version), tmp_path / "sigs")
    assert record(f"release.attest --version {version!r}", str(e.value)).startswith("bad version")
    assert no_rmtree == [] and not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["/", "../bob", "bob/../../x"])
def test_write_attestation_refuses_a_bad_signer_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(FwenvError, match="bad signer name"):
        write_attestation(Runner(), tmp_path / "sigs", "1.0", name, Signer("gpg", "K"), SUMS)
    assert not (tmp_path / "sigs").exists()
