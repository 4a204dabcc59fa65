"""Bad inputs and attacks record what each gives; docs/bad-inputs.md is made from the records.

`record(given, message)` (a fixture) checks that the message is one line without a traceback and
keeps it, normalized (temp paths, key fingerprints and hashes vary per run). With
FWENV_WRITE_BAD_INPUTS=1 the session rewrites the table's rows of the tests it ran
(scripts/bad-inputs-doc); without it, test_zz_bad_inputs_doc checks the table says the same."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "bad-inputs.md"
HEADER = ("# Bad inputs and attacks, and what fwenv says\n\n"
          "Generated from the tests in tests/security/ (`scripts/bad-inputs-doc`), not by hand;\n"
          "`tests/security/test_zz_bad_inputs_doc.py` fails when this table is out of date.\n"
          "Each message is the one line the library raises (the tasks print it after `error: `,\n"
          "exit 1, no traceback); temp paths, the checkout, fingerprints and hashes are shown as\n"
          "<tmp>, <checkout>, <fpr> and <sha256>.\n\n"
          "| test | bad input or attack | what fwenv says |\n|---|---|---|\n")
RECORDS: dict[tuple[str, str], str] = {}


def normalize(text: str, temps: list[str]) -> str:
    for t in sorted(temps, key=len, reverse=True):
        text = text.replace(t, "<tmp>")
    text = text.replace(str(ROOT), "<checkout>")
    text = re.sub(r"\b[0-9A-Fa-f]{64}\b", "<sha256>", text)
    text = re.sub(r"\b[0-9A-F]{40}\b", "<fpr>", text)
    text = re.sub(r"\b[0-9A-F]{16}\b", "<keyid>", text)
    text = re.sub(r"SHA256:[A-Za-z0-9+/]{43}", "<ssh-fpr>", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\(\d+\)\] exec", "(<pid>)] exec", text)  # the container init names its pid
    return text


def cell(text: str) -> str:
    return text.replace("|", "\\|")


@pytest.fixture()
def record(request: pytest.FixtureRequest, tmp_path: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], str]:
    test = request.node.name.split("[")[0]
    temps = [str(tmp_path), str(tmp_path_factory.getbasetemp()), os.environ.get("TMPDIR", "/tmp")]

    def rec(given: str, message: str) -> str:
        message = str(message).removeprefix("error: ").strip()
        assert message and "\n" not in message and "Traceback" not in message, message
        RECORDS[(test, normalize(given, temps))] = normalize(message, temps)
        return message

    return rec


def doc_rows(text: str) -> dict[tuple[str, str], str]:
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (.*?) \| (.*) \|$", line)
        if m:
            rows[(m.group(1), m.group(2).replace("\\|", "|"))] = m.group(3).replace("\\|", "|")
    return rows


def render(rows: dict[tuple[str, str], str]) -> str:
    return HEADER + "".join(f"| `{t}` | {cell(g)} | {cell(m)} |\n"
                            for (t, g), m in sorted(rows.items()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if os.environ.get("FWENV_WRITE_BAD_INPUTS") != "1" or not RECORDS:
        return
    rows = doc_rows(DOC.read_text()) if DOC.exists() else {}
    ran = {t for t, _ in RECORDS}
    rows = {k: v for k, v in rows.items() if k[0] not in ran} | RECORDS
    tmp = DOC.with_name(DOC.name + ".tmp")
    tmp.write_text(render(rows))
    os.replace(tmp, DOC)


# -- real gpg keys, each in its own home, and a release with its signers ---------------------------
class Key:
    def __init__(self, where: Path, name: str) -> None:
        self.name, self.home = name, where / f"gnupg-{name}"
        self.home.mkdir(mode=0o700)
        self.gpg("--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", "never")
        listing = self.gpg("--with-colons", "--list-keys")
        self.fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
        self.public = where / f"{name}.public.gpg"
        self.public.write_text(self.gpg("--armor", "--export", self.fpr))

    def gpg(self, *args: str) -> str:
        argv = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--pinentry-mode",
                "loopback", "--passphrase", "", *args]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603

    def sign(self, data: Path) -> Path:
        sig = data.with_name(data.name + ".asc")
        self.gpg("--armor", "--local-user", self.fpr, "--output", str(sig), "--detach-sign",
                 str(data))
        return sig


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    """Throwaway signing keys: alice, bob, carol (builders) and mallory (the attacker)."""
    where = tmp_path_factory.mktemp("keys")
    return {n: Key(where, n) for n in ("alice", "bob", "carol", "mallory")}


HONEST = {"coreboot-build-env-1.0.tar.gz": b"the honest environment image\n",
          "sbom.cdx.json": b'{"bomFormat": "CycloneDX"}\n'}


def sums_of(files: dict[str, bytes]) -> str:
    import hashlib
    return "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(files.items()))


def write_release(root: Path, key: Key, files: dict[str, bytes] | None = None,
                  provenance: dict | None = None) -> Path:
    """root/release/1.0: the files, SHA256SUMS and provenance.json, both signed by `key`."""
    import json
    d = root / "release" / "1.0"
    d.mkdir(parents=True)
    files = files if files is not None else HONEST
    for n, b in files.items():
        (d / n).write_bytes(b)
    (d / "SHA256SUMS").write_text(sums_of(files))
    key.sign(d / "SHA256SUMS")
    (d / "provenance.json").write_text(json.dumps(provenance or {"schema": "fwenv-release/1"}))
    key.sign(d / "provenance.json")
    return d


def write_signer(sigs: Path, name: str, key: Key, files: dict[str, bytes] | None = None,
                 *, key_file: bool = True) -> Path:
    """sigs/1.0/<name>/SHA256SUMS(.asc) signed by `key`; sigs/builder-keys/<name>.gpg."""
    d = sigs / "1.0" / name
    d.mkdir(parents=True)
    (d / "SHA256SUMS").write_text(sums_of(files if files is not None else HONEST))
    key.sign(d / "SHA256SUMS")
    if key_file:
        (sigs / "builder-keys").mkdir(exist_ok=True)
        (sigs / "builder-keys" / f"{name}.gpg").write_text(key.public.read_text())
    return d


def tree_state(*roots: Path) -> dict[str, tuple[int, str]]:
    """Every path under the roots with its mode and content hash: 'nothing changed' checks."""
    import hashlib
    state = {}
    for r in roots:
        for p in sorted([r, *r.rglob("*")]):
            body = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
            state[str(p)] = (p.lstat().st_mode, body)
    return state


@pytest.fixture()
def kit():  # the helpers above, for test modules (importlib mode cannot import conftest)
    import types
    return types.SimpleNamespace(write_release=write_release, write_signer=write_signer,
                                 tree_state=tree_state, sums_of=sums_of, HONEST=HONEST)


@pytest.fixture()
def bad_input_records() -> dict[tuple[str, str], str]:
    return RECORDS
