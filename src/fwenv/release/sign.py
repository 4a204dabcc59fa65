"""Detached signatures and SHA256SUMS files.

Signers: `gpg:KEY` (or a bare KEY: key id, fingerprint or e-mail in the gpg keyring; armored
`gpg --armor --detach-sign` -> FILE.asc) and `ssh:PATH` (a private key; `ssh-keygen -Y sign`
-> FILE.sig, namespace `fwenv-release`, checked against an allowed_signers file).
Signing uses the keyring GNUPGHOME points at, as gpg itself does; checking never does (it uses
the signer's own key file: fwenv.release.signers, fwenv.sigcheck).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import FwenvError
from ..fsutil import sha256_file
from ..plan import Runner

SSH_NAMESPACE = "fwenv-release"
SUMS = "SHA256SUMS"
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](\S(?:.*\S)?)\Z")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z")


# -- SHA256SUMS ----------------------------------------------------------------------------------
def sums_text(hashes: Mapping[str, str]) -> str:
    """`sha256sum`-compatible text, sorted by name (so equal inputs give equal bytes)."""
    for name in hashes:
        check_member_name(name)
    return "".join(f"{hashes[n]}  {n}\n" for n in sorted(hashes))


def hash_files(directory: Path, names: Iterable[str]) -> dict[str, str]:
    return {n: sha256_file(directory / n) for n in names}


def parse_sums(text: str, origin: str = SUMS) -> dict[str, str]:
    """Parse SHA256SUMS text strictly: every non-empty line is `<64 hex>  <name>`."""
    out: dict[str, str] = {}
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _SUM_LINE.match(line)
        if not m:
            raise FwenvError(f"{origin} line {no} is not '<sha256>  <file>': "
                             "regenerate it (invoke release / release.attest)")
        digest, name = m.groups()
        check_member_name(name)
        if name in out:
            raise FwenvError(f"{origin} lists {name} twice: regenerate it")
        out[name] = digest
    if not out:
        raise FwenvError(f"{origin} is empty: regenerate it")
    return out


def check_member_name(name: str) -> str:
    """Release file names are plain names (no directories, no '..')."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise FwenvError(f"bad file name {name!r} in a release: only plain names are allowed")
    return name


def check_files(directory: Path, sums: Mapping[str, str]) -> list[str]:
    """Problems (one line each) of `directory`'s files against `sums`; empty when all match."""
    problems = []
    for name, digest in sorted(sums.items()):
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: sha256 differs from {SUMS}")
    return problems


# -- signers -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signer:
    kind: str  # gpg | ssh
    key: str  # gpg key spec, or path of an ssh private key

    @property
    def suffix(self) -> str:
        return ".asc" if self.kind == "gpg" else ".sig"

    def sign(self, path: Path, runner: Runner) -> Path:
        """Write the detached signature beside `path`; return its path."""
        sig = path.with_name(path.name + self.suffix)
        if self.kind == "gpg":
            runner.run(["gpg", "--batch", "--yes", "--armor", "--local-user", self.key,
                        "--output", str(sig), "--detach-sign", str(path)],
                       what=f"gpg signing {path.name} with {self.key}",
                       fix="check the key id (gpg --list-secret-keys) and GNUPGHOME")
        else:
            if not runner.dry_run and sig.exists():
                sig.unlink()  # ssh-keygen refuses to overwrite
            runner.run(["ssh-keygen", "-q", "-Y", "sign", "-f", self.key, "-n", SSH_NAMESPACE,
                        str(path)],
                       what=f"ssh signing {path.name} with {self.key}",
                       fix="check the ssh private key path (unencrypted or in ssh-agent)")
        return sig

    def public_key(self, keys_dir: Path, name: str) -> Path:
        """Write this signer's public key as `keys_dir/<name>.gpg|.pub` when none is there
        (the maintainers review what joins builder-keys/; verify trusts only that)."""
        suffix = ".gpg" if self.kind == "gpg" else ".pub"
        path = keys_dir / (name + suffix)
        if (keys_dir / f"{name}.gpg").exists() or (keys_dir / f"{name}.pub").exists():
            return path
        keys_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "ssh":
            text = Path(self.key + ".pub").read_text(encoding="utf-8")
        else:
            text = subprocess.run(["gpg", "--batch", "--armor", "--export", self.key],
                                  capture_output=True, text=True, check=False).stdout
            if "BEGIN PGP PUBLIC KEY BLOCK" not in text:
                raise FwenvError(f"gpg cannot export key {self.key!r}: check GNUPGHOME")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    def default_name(self) -> str:
        """A directory-safe signer name: gpg uid e-mail's local part, or the ssh key's stem."""
        if self.kind == "ssh":
            raw = Path(self.key).stem
        else:
            raw = gpg_uid_email(self.key).split("@")[0] or self.key
        name = re.sub(r"[^A-Za-z0-9._+-]", "-", raw).strip("-.") or "signer"
        return name[:64]


def parse_signer(spec: str) -> Signer:
    """`gpg:KEY`, `ssh:PATH`, or a bare gpg KEY."""
    kind, sep, key = spec.partition(":")
    if sep and kind in ("gpg", "ssh"):
        if not key:
            raise FwenvError(f"empty key in signer {spec!r}: use gpg:KEYID or ssh:PATH")
        if kind == "ssh" and not Path(key).is_file():
            raise FwenvError(f"ssh key {key} not found: give the private key path (ssh:PATH)")
        return Signer(kind, key)
    if not spec or spec.startswith("-"):
        raise FwenvError(f"bad signer {spec!r}: use gpg:KEYID or ssh:PATH")
    return Signer("gpg", spec)


def gpg_uid_email(key: str) -> str:
    try:
        out = subprocess.run(["gpg", "--batch", "--with-colons", "--list-secret-keys", key],
                             capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        raise FwenvError("gpg not found: apt-get install gnupg") from None
    for line in out.splitlines():
        f = line.split(":")
        if f[0] == "uid" and len(f) > 9:
            m = re.search(r"<([^>]+)>", f[9])
            return m.group(1) if m else f[9]
    raise FwenvError(f"no gpg secret key {key!r}: import it or check GNUPGHOME "
                     "(gpg --list-secret-keys)")
