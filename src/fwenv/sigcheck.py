"""Check a detached signature against exactly one given public key, and nothing else.

A release is trusted through keys that a signers directory binds to names (as Bitcoin Core's
guix.sigs does), and the binary builder recipe through one pinned key. Both must hold even when
the machine's own keyring holds other keys, a key server is reachable, or the key has expired or
been revoked: so gpg signatures go through `gpgv` on a keyring made from the one key file (gpgv
never reads the user's keyring or trust database and never fetches keys), ssh signatures through
an allowed_signers file holding only that key. A signature counts only when gpgv exits 0, says
GOODSIG and VALIDSIG, says nothing of expiry or revocation, and VALIDSIG names the key file's
primary fingerprint.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import FwenvError


@dataclass(frozen=True)
class Verdict:
    ok: bool
    signer: str  # the key that made a good signature: gpg primary fingerprint or ssh SHA256:…
    reason: str = ""  # why it does not count, one phrase
    unknown_key: bool = False  # made by a key other than the one given: not bad, not ours

    def __str__(self) -> str:
        return f"good signature by {self.signer}" if self.ok else self.reason


def _run(argv: list[str], missing: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise FwenvError(f"{argv[0]} not found: {missing}") from None


# -- gpg ------------------------------------------------------------------------------------------
def gpg_primary_fingerprint(keyfile: Path) -> str:
    """The one primary key in an (armored or binary) public key file; more or none is an error."""
    with tempfile.TemporaryDirectory(prefix="fwenv-gpg-") as home:  # never the user's GNUPGHOME
        proc = _run(["gpg", "--homedir", home, "--batch", "--no-options", "--with-colons",
                     "--show-keys", str(keyfile)], "apt-get install gpg")
    lines = proc.stdout.decode(errors="replace").splitlines()
    fprs, primary = [], False
    for ln in lines:
        f = ln.split(":")
        if f[0] in ("pub", "sub", "sec", "ssb"):
            primary = f[0] == "pub"
        elif f[0] == "fpr" and primary:
            fprs.append(f[9])
            primary = False
    if proc.returncode != 0 or not fprs:
        raise FwenvError(f"{keyfile}: not an OpenPGP public key file")
    if len(fprs) > 1:
        raise FwenvError(f"{keyfile}: holds {len(fprs)} keys; a signer's key file holds exactly one")
    return fprs[0]


def _status(out: bytes) -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {}
    for ln in out.decode(errors="replace").splitlines():
        if ln.startswith("[GNUPG:] "):
            parts = ln.split()[1:]
            if parts:
                codes.setdefault(parts[0], parts[1:])
    return codes


def gpg_verify(data: Path, sig: Path, keyfile: Path, *, fingerprint: str | None = None) -> Verdict:
    """Did the key in `keyfile` (and, if given, the key with primary `fingerprint`) sign `data`?"""
    if not sig.is_file():
        return Verdict(False, "", f"no signature ({sig.name} missing)")
    primary = gpg_primary_fingerprint(keyfile)
    if fingerprint and primary.upper() != fingerprint.replace(" ", "").upper():
        return Verdict(False, "", f"{keyfile.name} holds key {primary}, not the pinned {fingerprint}")
    with tempfile.TemporaryDirectory(prefix="fwenv-gpgv-") as home:
        keyring = Path(home) / "signer.gpg"
        dearmored = _run(["gpg", "--homedir", home, "--batch", "--no-options", "--yes", "--dearmor",
                          "--output", str(keyring), str(keyfile)], "apt-get install gpg")
        if dearmored.returncode != 0 or not keyring.exists():  # already binary: use it as is
            keyring.write_bytes(keyfile.read_bytes())
        proc = _run(["gpgv", "--homedir", home, "--keyring", str(keyring), "--status-fd", "1",
                     str(sig), str(data)], "apt-get install gpgv")
    return _gpg_verdict(proc.returncode, _status(proc.stdout), primary, sig.name)


def _gpg_verdict(code: int, st: dict[str, list[str]], primary: str, signame: str) -> Verdict:
    for bad, why in (("BADSIG", "bad signature (the file was changed after signing)"),
                     ("REVKEYSIG", "signed by a revoked key"),
                     ("EXPKEYSIG", "signed by an expired key"),
                     ("EXPSIG", "the signature has expired")):
        if bad in st:
            return Verdict(False, "", f"{why}: {' '.join(st[bad][:1])}")
    errsig = st.get("ERRSIG", [])
    if "NO_PUBKEY" in st or (len(errsig) > 5 and errsig[5] == "9"):  # rc 9: no public key
        keyid = (st.get("NO_PUBKEY") or st.get("ERRSIG") or ["?"])[0]
        return Verdict(False, "", f"signed by key {keyid}, not the signer's key {primary}",
                       unknown_key=True)
    if "NODATA" in st or "ERRSIG" in st or "BADARMOR" in st:
        return Verdict(False, "", f"{signame} is not a readable signature")
    valid = st.get("VALIDSIG", [])
    signer = valid[9] if len(valid) > 9 else (valid[0] if valid else "")
    if code != 0 or "GOODSIG" not in st or not valid:
        return Verdict(False, "", f"gpgv did not accept {signame} (exit {code})")
    if signer.upper() != primary.upper():
        return Verdict(False, "", f"signed by {signer}, not the signer's key {primary}",
                       unknown_key=True)
    return Verdict(True, primary)


# -- ssh ------------------------------------------------------------------------------------------
def ssh_fingerprint(pubkey: Path) -> str:
    proc = _run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pubkey)], "apt-get install openssh-client")
    words = proc.stdout.decode(errors="replace").split()
    lines = [ln for ln in pubkey.read_text(errors="replace").splitlines()
             if ln.strip() and not ln.startswith("#")]
    if proc.returncode != 0 or len(words) < 2 or len(lines) != 1:
        raise FwenvError(f"{pubkey}: not one ssh public key (one line, as ssh-keygen writes it)")
    return words[1]


def ssh_verify(data: Path, sig: Path, pubkey: Path, *, principal: str, namespace: str) -> Verdict:
    """Did the key in `pubkey` sign `data` in `namespace`? (`ssh-keygen -Y verify -I principal`)"""
    if not sig.is_file():
        return Verdict(False, "", f"no signature ({sig.name} missing)")
    fpr = ssh_fingerprint(pubkey)
    key = next(ln for ln in pubkey.read_text(errors="replace").splitlines()
               if ln.strip() and not ln.startswith("#"))
    with tempfile.TemporaryDirectory(prefix="fwenv-ssh-") as home:
        allowed = Path(home) / "allowed_signers"
        allowed.write_text(f'{principal} namespaces="{namespace}" {key.strip()}\n')
        proc = _run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principal,
                     "-n", namespace, "-s", str(sig)], "apt-get install openssh-client",
                    stdin=data.read_bytes())
        if proc.returncode != 0:  # a signature good for the key it carries: another key's
            other = _run(["ssh-keygen", "-Y", "check-novalidate", "-n", namespace,
                          "-s", str(sig)], "apt-get install openssh-client",
                         stdin=data.read_bytes())
            if other.returncode == 0:
                return Verdict(False, "", f"signed by another ssh key, not the signer's key "
                                          f"{fpr}", unknown_key=True)
    if proc.returncode == 0:
        return Verdict(True, fpr)
    text = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
    return Verdict(False, "", f"bad ssh signature: {(text or ['rejected'])[-1]}")
