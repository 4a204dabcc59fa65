"""Fixtures for the release tests: throwaway gpg/ssh keys, a loopback registry, a tiny image."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fwenv.release.sign import Signer

from ..conftest import unique


def _gen_gpg_key(home: Path, name: str) -> str:
    params = (f"%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n"
              f"Name-Real: {name}\nName-Email: {name}@example.invalid\nExpire-Date: 0\n"
              "%commit\n")
    subprocess.run(["gpg", "--batch", "--gen-key"], input=params, text=True, check=True,
                   capture_output=True, env={**os.environ, "GNUPGHOME": str(home)})
    out = subprocess.run(["gpg", "--batch", "--with-colons", "--list-secret-keys",
                          f"{name}@example.invalid"], capture_output=True, text=True,
                         check=True, env={**os.environ, "GNUPGHOME": str(home)}).stdout
    return next(ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:"))


@pytest.fixture(scope="session")
def gnupghome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A temp GNUPGHOME with two unprotected signing keys (alice, bob); GNUPGHOME is set for
    the session and the agent we started is stopped at the end."""
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    keys = {name: _gen_gpg_key(home, name) for name in ("alice", "bob")}
    old = os.environ.get("GNUPGHOME")
    os.environ["GNUPGHOME"] = str(home)
    try:
        yield keys
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False,
                       env={**os.environ, "GNUPGHOME": str(home)})
        if old is None:
            os.environ.pop("GNUPGHOME", None)
        else:
            os.environ["GNUPGHOME"] = old


@pytest.fixture(scope="session")
def ssh_signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Signer, Path]:
    """An ssh ed25519 key (no passphrase) and an allowed_signers file naming it 'carol'."""
    d = tmp_path_factory.mktemp("ssh")
    key = d / "carol"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "carol", "-f", str(key)],
                   check=True)
    allowed = d / "allowed_signers"
    allowed.write_text("carol " + (d / "carol.pub").read_text().split(" ", 2)[0] + " "
                       + (d / "carol.pub").read_text().split(" ", 2)[1] + "\n")
    return Signer("ssh", str(key)), allowed


@pytest.fixture(scope="session")
def tiny_image(engine) -> Iterator[str]:
    """A one-file image made with `docker import` (no pulls), removed afterwards."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.GNU_FORMAT) as tf:
        body = b"fwenv release test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(body), 1
        tf.addfile(info, io.BytesIO(body))
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"fwenv-test-tiny-{os.getpid()}.tar"
    path.write_bytes(data.getvalue())
    try:
        image_id = engine.import_tar(path)
    finally:
        path.unlink()
    ref = unique("fwenv-test-release-tiny") + ":1"
    engine.tag(image_id, ref)
    yield image_id
    engine.remove_image(ref)
    engine.remove_image(image_id)
