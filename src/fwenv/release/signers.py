"""Signers bound to keys, as Bitcoin Core's guix.sigs: who attested what, and does it count.

    SIGS/builder-keys/<name>.gpg   the signer's armored OpenPGP public key (exactly one key)
    SIGS/builder-keys/<name>.pub   or the signer's ssh public key
    SIGS/<V>/<name>/SHA256SUMS     what that signer's own rebuild produced, with
    SIGS/<V>/<name>/SHA256SUMS.asc|.sig   a detached signature by that key only

A signer directory is checked with its own key file and nothing else (fwenv.sigcheck: gpgv on
a keyring of that one key, or an allowed_signers of that one ssh key); one key under several
names counts once; a directory without a key file is an unknown signer, never verified. A
release directory's SHA256SUMS, provenance.json and REPORT.md must be signed by one of those keys, and
every file in it must be listed or be one of those signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from ..sigcheck import Verdict, gpg_primary_fingerprint, gpg_verify, ssh_fingerprint, ssh_verify
from .sign import SSH_NAMESPACE, SUMS, check_files, parse_sums
from .verify import keyed_diff

KEYS_DIR = "builder-keys"
PROVENANCE = "provenance.json"
REPORT = "REPORT.md"  # fwenv.release.report (signed like provenance.json)
SIGNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
# Statuses that fail a verification; "unknown signer" and "same key" only do not count.
# "unknown key": a signature that may be sound but is by a key builder-keys/ does not bind to
# that name (never "bad signature", which says the file or signature was damaged).
FAILING = ("differs", "bad signature", "unknown key", "missing", "unlisted file",
           "too few signers")


def shown(name: str) -> str:
    """A name from disk as it may be printed: control and non-ASCII characters escaped."""
    return name.encode("unicode_escape").decode("ascii")


def check_signer_name(name: str) -> str:
    """A signer name is one plain path component: checked before any path is made from it."""
    if not SIGNER_NAME.match(name or "") or ".." in name:
        raise FwenvError(f"bad signer name '{shown(name)}': use 1-64 letters, digits, '.', '_', "
                         "'+', '-' (no '/', no '..', not starting with '.' or '-')")
    return name


@dataclass(frozen=True)
class SignerKey:
    name: str
    path: Path
    fingerprint: str

    def verify(self, data: Path) -> Verdict:
        """Did this key sign `data` (data.asc for gpg, data.sig for ssh)?"""
        if self.path.suffix == ".gpg":
            return gpg_verify(data, data.with_name(data.name + ".asc"), self.path)
        return ssh_verify(data, data.with_name(data.name + ".sig"), self.path,
                          principal=self.name, namespace=SSH_NAMESPACE)


def builder_keys(keys_dir: Path) -> dict[str, SignerKey]:
    """Every `<name>.gpg` / `<name>.pub` in `keys_dir`, each holding exactly one key."""
    if not keys_dir.is_dir():
        raise FwenvError(f"no {keys_dir}: put each signer's public key there as <name>.gpg "
                         "(armored) or <name>.pub (ssh), or pass --keys DIR")
    keys: dict[str, SignerKey] = {}
    for p in sorted(keys_dir.iterdir()):
        if p.suffix not in (".gpg", ".pub"):
            continue
        if not SIGNER_NAME.match(p.stem) or p.stem in keys or p.is_symlink() or not p.is_file():
            raise FwenvError(f"bad key file {shown(p.name)} in {keys_dir}: one regular file "
                             "<name>.gpg or <name>.pub per signer")
        fpr = gpg_primary_fingerprint(p) if p.suffix == ".gpg" else ssh_fingerprint(p)
        keys[p.stem] = SignerKey(p.stem, p, fpr)
    if not keys:
        raise FwenvError(f"{keys_dir} holds no <name>.gpg or <name>.pub key file")
    return keys


@dataclass
class SignerResult:
    signer: str
    status: str  # verified | differs | bad signature | missing | unknown signer | same key | …
    detail: str = ""
    sums: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in FAILING

    @property
    def counts(self) -> bool:
        return self.status == "verified"

    def line(self) -> str:
        return f"{self.status}: {self.signer}" + (f" ({self.detail})" if self.detail else "")

    def as_dict(self) -> dict[str, Any]:
        return {"signer": self.signer, "status": self.status, "detail": self.detail,
                "fingerprint": self.fingerprint}


def compare_sums(base: dict[str, str], other: dict[str, str]) -> list[str]:
    """Names whose hashes differ, or that only one side lists."""
    said = {"first": "missing", "second": "extra", "both": "differs"}
    return [f"{n} {said[where]}" for n, where in keyed_diff(base, other)]


def signed_sums(directory: Path, key: SignerKey, label: str) -> SignerResult:
    """`directory/SHA256SUMS`, signed by `key`, parsed."""
    sums_path = directory / SUMS
    if not sums_path.is_file() or sums_path.is_symlink():
        return SignerResult(label, "missing", f"no {SUMS}")
    verdict = key.verify(sums_path)
    if not verdict.ok:
        return SignerResult(label, "unknown key" if verdict.unknown_key else "bad signature",
                            f"{key.name}'s key: {verdict.reason}")
    try:
        sums = parse_sums(sums_path.read_text(encoding="utf-8"), f"{label}/{SUMS}")
    except (FwenvError, UnicodeDecodeError) as e:
        return SignerResult(label, "bad signature", f"signed but unreadable: {e}")
    return SignerResult(label, "verified", f"key {key.fingerprint}", sums, key.fingerprint)


def verify_signers(sigs_dir: Path, version: str, keys: dict[str, SignerKey], *,
                   base: dict[str, str] | None = None) -> list[SignerResult]:
    """Every directory under `sigs_dir/version/`, each with its own key, against the base.

    The base is `base` when given (the release's signed sums or a local rebuild's), else the
    first signer (by name) whose signature verifies."""
    root = sigs_dir / version
    if not root.is_dir():
        raise FwenvError(f"no signatures for {version} in {sigs_dir}: "
                         f"run invoke release.attest --version {version} --sigs DIR first")
    results: list[SignerResult] = []
    counted: dict[str, str] = {}  # fingerprint -> the first signer name it counted for
    for d in sorted(root.iterdir()):
        label = shown(d.name)
        key = keys.get(d.name)
        if d.is_symlink() or not d.is_dir():
            results.append(SignerResult(label, "unknown signer", "not a directory"))
        elif key is None:
            results.append(SignerResult(label, "unknown signer",
                                        f"no {KEYS_DIR}/{label}.gpg or .pub: not verified"))
        else:
            results.append(signed_sums(d, key, label))
    if not results:
        raise FwenvError(f"{root} holds no signer directories: run invoke release.attest")
    if base is None:
        base = next((r.sums for r in results if r.counts), None)
    for r in results:
        if not r.counts:
            continue
        diff = compare_sums(base, r.sums) if base is not None else []
        if diff:
            r.status, r.detail = "differs", "; ".join(diff)
        elif r.fingerprint in counted:
            r.status, r.detail = "same key", f"key {r.fingerprint} already counted as " \
                                             f"{counted[r.fingerprint]}: counts once"
        else:
            counted[r.fingerprint] = r.signer
    return results


def verify_release_dir(release_dir: Path, keys: dict[str, SignerKey]) -> SignerResult:
    """A release directory: SHA256SUMS signed by a builder key, every listed file's hash,
    provenance.json signed, and no file that neither SHA256SUMS nor a signature covers."""
    label = f"release {shown(release_dir.name)}"
    tried = []
    for key in keys.values():
        r = signed_sums(release_dir, key, label)
        if r.status == "missing":
            return r
        if r.counts:
            result = r
            result.detail = f"signed by {key.name}, key {key.fingerprint}"
            break
        tried.append(r.status)
    else:
        return _unsigned(label, SUMS, tried)
    for signed_file in (PROVENANCE, REPORT):
        if (release_dir / signed_file).exists():
            verdicts = [k.verify(release_dir / signed_file) for k in keys.values()]
            if not any(v.ok for v in verdicts):
                return _unsigned(label, signed_file, ["unknown key" if v.unknown_key
                                                      else "bad signature" for v in verdicts])
    covered = {SUMS, PROVENANCE, REPORT, *result.sums}
    covered |= {n + s for n in (SUMS, PROVENANCE, REPORT) for s in (".asc", ".sig")}
    unlisted = sorted(shown(p.name) for p in release_dir.iterdir() if p.name not in covered)
    if unlisted:
        result.status = "unlisted file"
        result.detail = f"{', '.join(unlisted)}: not listed in {SUMS}"
        return result
    problems = check_files(release_dir, result.sums)
    if problems:
        result.status, result.detail = "differs", "; ".join(problems)
    return result


def _unsigned(label: str, name: str, statuses: list[str]) -> SignerResult:
    """No builder key made a good signature of `name`: "unknown key" when every key says the
    signature is another key's (a sound signature by someone not in builder-keys/), else
    "bad signature" (damaged, missing, or a revoked/expired key)."""
    if statuses and all(s == "unknown key" for s in statuses):
        return SignerResult(label, "unknown key",
                            f"{name} is signed by a key that is not in {KEYS_DIR}/")
    return SignerResult(label, "bad signature",
                        f"{name} has no valid signature by a key in {KEYS_DIR}/")


def threshold(results: list[SignerResult], min_signers: int) -> SignerResult | None:
    """A failing line when fewer than `min_signers` independent keys attest the base."""
    n = sum(1 for r in results if r.counts)
    if n >= min_signers:
        return None
    return SignerResult("signers", "too few signers",
                        f"{n} independent signer{'s match' if n != 1 else ' matches'}, "
                        f"--min-signers is {min_signers}")
