"""A team substitute cache with Guix's own machinery (never a home-made one).

`serve()` runs `guix publish` in a builder container over a store volume (the one the packs
use: fwenv-guix-store-<builder id>, or --store), in the host's network namespace, listening
on one address only (loopback by default). The publish signing key is generated once per store volume and
kept in `<store>-publish-key` (root-only, never on the host); its public half is exported to
output/cache/signing-key.pub for `--authorize`. Ctrl-C or SIGTERM stops it and removes the
container. `machines_scm()` writes the `guix offload` machines file from [tool.fwenv.offload].
"""

from __future__ import annotations

import io
import re
import socket
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine, Mount
from ..errors import FwenvError
from ..fsutil import script, write_text_atomic
from ..plan import Runner
from .builder import default_builder
from .daemon import daemon_spec, guix_session
from .pack import STORE_LABEL, STORE_ROLE, _builder_id, store_volume

_PUBLISH_KEY = script(__package__, "publish-key.sh")
IN_KEYS = "/fwenv/publish-key"
KEY_FILE = "signing-key.pub"


@dataclass(frozen=True)
class ServeOptions:
    """What `invoke cache.serve` serves, resolved once from the project (from_project)."""

    builder: str  # image ref, or "" for the newest guix-pack-builder
    builder_name: str = "guix-pack-builder"
    key_file: Path = Path("output/cache") / KEY_FILE
    address: str = "127.0.0.1"
    port: int = 8080
    store: str | None = None  # default: the builder's store volume
    daemon_mode: str = "unprivileged"

    @classmethod
    def from_project(cls, cfg: Config, **overrides: Any) -> ServeOptions:
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{"builder": "", "builder_name": cfg.builder_image,
                      "key_file": cfg.output_dir / "cache" / KEY_FILE,
                      "daemon_mode": str(cfg.get("builder.daemon_mode", "unprivileged")),
                      **given})


def check_serve(opts: ServeOptions) -> None:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in opts.address else socket.AF_INET,
                         opts.address)
    except OSError:
        raise FwenvError(f"--address {opts.address!r} is not an IP address: pass one, e.g. "
                         "127.0.0.1 (this machine only) or the LAN address to share") from None
    if not 0 < opts.port < 65536:
        raise FwenvError(f"--port {opts.port} is out of range: pass 1-65535")


def serve(runner: Runner, engine: Engine, opts: ServeOptions) -> dict[str, Any]:
    """Serve the store until interrupted; the container is removed however it stops."""
    check_serve(opts)
    builder = opts.builder or default_builder(opts.builder_name, runner, engine)
    volume = opts.store or store_volume(_builder_id(runner, engine, builder))
    if not runner.dry_run and not engine.volume_exists(volume):
        raise FwenvError(f"store volume {volume} does not exist: pack first (invoke guix.pack), "
                         "or pass --store with the volume to serve")
    keys = volume + "-publish-key"
    if not runner.dry_run:
        engine.ensure_volume(keys, {STORE_LABEL: STORE_ROLE})
    # The host's network namespace: guix publish listens on the one address given, as a
    # host service would (builds never run in this container).
    spec = daemon_spec(builder, opts.daemon_mode, network="host", mounts=[
        Mount(volume, "/gnu/store", kind="volume"),
        Mount(volume + "-var", "/var/guix", kind="volume"),
        Mount(keys, IN_KEYS, kind="volume")])
    url = f"http://{opts.address}:{opts.port}"
    publish = ["guix", "publish", f"--listen={opts.address}", f"--port={opts.port}",
               "--user=guix-daemon"]
    with guix_session(engine, runner, spec) as s:
        s.exec(["sh", "-c", _PUBLISH_KEY, "sh", IN_KEYS], user="root",
               what="prepare the publish signing key")
        if not runner.dry_run:
            export_key(b"".join(s.get_file("/etc/guix/" + KEY_FILE)), opts.key_file)
            runner.info(f"serving {volume} at {url} (guix publish); clients: --substitute-urls"
                        f" {url} --authorize {opts.key_file}; Ctrl-C stops")
        s.exec(publish, user="root", what="guix publish", fix="check that the port is free")
    return {"url": url, "store": volume}


def export_key(archive: bytes, dest: Path) -> None:
    """The public key out of the tar stream the engine gives, written atomically."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.getmember(KEY_FILE)
        f = tar.extractfile(member) if member.isfile() else None
        if f is None:
            raise FwenvError(f"the builder's {KEY_FILE} is not a regular file")
        text = f.read().decode()
    if not text.startswith("(public-key"):
        raise FwenvError(f"the builder's {KEY_FILE} is not a Guix public key")
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(dest, text)


# -- guix offload -----------------------------------------------------------------------------
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}\Z")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\Z")
_HOST_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( [^\"\\]*)?\Z")
_SYSTEM = re.compile(r"^[a-z0-9_]+-(linux|gnu|hurd)\Z")
_PATH = re.compile(r"^/[^\"\\\n]*\Z")


def _str(value: str) -> str:
    return '"' + value + '"'  # callers validated: no quote, backslash or newline


def _machine(i: int, m: dict[str, Any]) -> str:
    where = f"[[tool.fwenv.offload.machines]] #{i + 1}"

    def need(key: str, pattern: re.Pattern[str], what: str) -> str:
        value = m.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise FwenvError(f"{where}: {key} {value!r} is not {what}: fix pyproject.toml")
        return value

    name = need("name", _HOST, "a host name")
    fields = [f"(name {_str(name)})"]
    systems = m.get("systems", ["x86_64-linux"])
    if not isinstance(systems, list) or not systems or not all(
            isinstance(s, str) and _SYSTEM.match(s) for s in systems):
        raise FwenvError(f"{where}: systems {systems!r} is not a list of Guix systems "
                         "(e.g. [\"x86_64-linux\"]): fix pyproject.toml")
    fields.append("(systems (list " + " ".join(_str(s) for s in systems) + "))")
    fields.append(f"(host-key {_str(need('host_key', _HOST_KEY, 'an SSH public host key'))})")
    fields.append(f"(user {_str(need('user', _USER, 'a user name'))})")
    if "port" in m:
        port = m["port"]
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise FwenvError(f"{where}: port {port!r} is not 1-65535: fix pyproject.toml")
        fields.append(f"(port {port})")
    if "private_key" in m:
        fields.append(f"(private-key {_str(need('private_key', _PATH, 'an absolute path'))})")
    if "parallel_builds" in m:
        n = m["parallel_builds"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise FwenvError(f"{where}: parallel_builds {n!r} is not a whole number ≥ 1: "
                             "fix pyproject.toml")
        fields.append(f"(parallel-builds {n})")
    if "speed" in m:
        speed = m["speed"]
        if not isinstance(speed, (int, float)) or isinstance(speed, bool) or speed <= 0:
            raise FwenvError(f"{where}: speed {speed!r} is not a positive number: "
                             "fix pyproject.toml")
        fields.append(f"(speed {float(speed)!r})")
    return "  (build-machine\n" + "".join(f"    {f}\n" for f in fields).rstrip("\n") + ")"


def machines_scm(machines: Any) -> str:
    """/etc/guix/machines.scm for `guix offload`, from [[tool.fwenv.offload.machines]]."""
    if not isinstance(machines, list) or not machines:
        raise FwenvError("[tool.fwenv.offload] lists no machines: add [[tool.fwenv.offload."
                         "machines]] tables (name, host_key, user) to pyproject.toml")
    body = "\n".join(_machine(i, m if isinstance(m, dict) else {})
                     for i, m in enumerate(machines))
    return (";; guix offload build machines; written by `invoke cache.machines` from\n"
            ";; [tool.fwenv.offload] in pyproject.toml: edit that, not this file.\n"
            f"(list\n{body})\n")


def write_machines(machines: Any, dest: Path, runner: Runner) -> Path:
    text = machines_scm(machines)
    runner.show(f"write {dest}")
    if not runner.dry_run:
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(dest, text)
    return dest
