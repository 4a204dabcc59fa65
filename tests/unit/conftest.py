"""Real signing keys for the signature tests of tests/unit: gpg (ed25519, made in a fraction of a
second each, in their own homes) and ssh. Made once per session; no gpg-agent outlives it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class GpgKey:
    name: str
    home: Path
    fpr: str
    public: Path  # armored public key file

    def gpg(self, *args: str) -> bytes:
        argv = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--pinentry-mode", "loopback",
                "--passphrase", "", *args]
        return subprocess.run(argv, check=True, capture_output=True).stdout  # noqa: S603

    def sign(self, data: Path, suffix: str = ".asc") -> Path:
        sig = data.with_name(data.name + suffix)
        self.gpg("--armor", "--local-user", self.fpr, "--output", str(sig), "--detach-sign", str(data))
        return sig


@dataclass
class SshKey:
    private: Path
    public: Path

    def sign(self, data: Path, namespace: str = "fwenv") -> Path:
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(self.private),  # noqa: S603,S607
                        "-n", namespace, str(data)], check=True, capture_output=True)
        return data.with_name(data.name + ".sig")


@pytest.fixture(scope="session")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory,
             needs: Callable[..., str]) -> Iterator[dict[str, GpgKey]]:
    """alice and bob (builders), mallory (the attacker): one ed25519 primary key each."""
    needs("gpg", "gpg (apt-get install gpg)")
    needs("gpgv", "gpgv (apt-get install gpgv)")
    where = tmp_path_factory.mktemp("gpg-keys")
    keys = {}
    for name in ("alice", "bob", "mallory"):
        home = where / f"gnupg-{name}"
        home.mkdir(mode=0o700)
        k = GpgKey(name, home, "", where / f"{name}.gpg")
        k.gpg("--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", "never")
        listing = k.gpg("--with-colons", "--list-keys").decode()
        k.fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
        k.public.write_bytes(k.gpg("--armor", "--export", k.fpr))
        keys[name] = k
    yield keys
    for k in keys.values():
        subprocess.run(["gpgconf", "--homedir", str(k.home), "--kill", "gpg-agent"],  # noqa: S603,S607
                       capture_output=True, check=False)


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory, needs: Callable[..., str]) -> dict[str, SshKey]:
    """carol and dave: ed25519 ssh keys (comment = name)."""
    needs("ssh-keygen", "ssh-keygen (apt-get install openssh-client)")
    where = tmp_path_factory.mktemp("ssh-keys")
    keys = {}
    for name in ("carol", "dave"):
        key = where / f"id_{name}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,  # noqa: S603,S607
                        "-f", str(key)], check=True)
        keys[name] = SshKey(key, key.with_suffix(".pub"))
    return keys
