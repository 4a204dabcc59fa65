"""What decides a pack: PackOptions, resolved once from the project (from_project), and the
exact in-container `guix pack` command and mounts they give."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..config import Config, load_toml
from ..engine import Mount
from ..errors import FwenvError

FORMATS = ("docker", "tarball")
COMPRESSORS = {"gzip": ".tar.gz", "xz": ".tar.xz", "zstd": ".tar.zst"}
DEFAULT_SUBSTITUTE_URLS = ("https://bordeaux.guix.gnu.org", "https://ci.guix.gnu.org")
# Each target must exist in the profile (Guix refuses dangling links).
DEFAULT_SYMLINKS = ("/bin=bin", "/usr/bin/env=bin/env")
IN_MANIFEST = "/fwenv/manifest"
IN_CHANNELS = "/fwenv/channels"
IN_LOAD = "/fwenv/load-path"
IN_OUT = "/fwenv/out"
IN_KEY = "/fwenv/authorize.pub"  # --authorize: the substitute server's public key
IN_HOST = "/fwenv/host"  # inputs as mounted; staged to IN_MANIFEST etc. for the client user


@dataclass(frozen=True)
class PackOptions:
    """Everything that decides a pack (see `invoke guix.pack --help`)."""

    manifest: Path
    channels: Path | None = None
    format: str = "docker"
    compressor: str = "gzip"
    substitute_urls: tuple[str, ...] = ()
    substitutes: bool = True
    cores: int | None = None
    jobs: int | None = None
    time_machine: bool = True
    load_path: tuple[Path, ...] = ()
    guix_options: tuple[str, ...] = ()  # passed to `guix pack` as is (e.g. --bootstrap)
    symlinks: tuple[str, ...] = DEFAULT_SYMLINKS
    entry_point: str | None = "bin/bash"
    name: str | None = None  # default: coreboot-build-env-<format>
    ephemeral: bool = False
    store: str | None = None  # store volume name (default fwenv-guix-store-<builder id>)
    authorize: Path | None = None  # a substitute server's public key, authorized before packing
    force: bool = False
    daemon_mode: str = "unprivileged"
    recipe: str | None = None  # builder recipe, recorded
    # An air-gapped rebuild (env.build --bundle): --network=none even with time-machine, whose
    # Guix the bundle put in the store; nothing is fetched, so nothing is checked for reach.
    air_gapped: bool = False
    # Where, not what: not recorded. Paths are recorded relative to root; the pack lands in
    # output_dir.
    root: Path = Path(".")
    output_dir: Path = Path("output")

    def pack_name(self) -> str:
        return self.name or f"coreboot-build-env-{self.format}"

    @classmethod
    def from_project(cls, cfg: Config, **overrides: Any) -> PackOptions:
        """The options for `cfg`'s project, with task options (None: not given) on top.

        Defaults: guix/manifest.scm pinned by guix/channels.scm (none with
        time_machine=False), the environment's own shape (the environment.toml beside the
        manifest: guix/environment.toml for the default one), the daemon mode and recipe from
        [tool.fwenv.builder].
        `substitute_urls` may be one space-separated string.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        root = cfg.root
        manifest = Path(given.pop("manifest", root / "guix" / "manifest.scm"))
        shape = environment_shape(root, manifest)
        time_machine = bool(given.pop("time_machine", True))
        channels = given.pop("channels", None if not time_machine else
                             root / "guix" / "channels.scm")
        urls = given.pop("substitute_urls", ())
        values: dict[str, Any] = {
            "manifest": manifest, "time_machine": time_machine,
            "channels": Path(channels) if channels is not None else None,
            "substitute_urls": tuple(urls.split() if isinstance(urls, str) else urls),
            "load_path": tuple(Path(p) for p in (given.pop("load_path", None)
                                                 or shape.get("load_path", []))),
            "symlinks": tuple(shape.get("symlinks", DEFAULT_SYMLINKS)),
            "entry_point": shape.get("entry_point", "bin/bash"),
            "daemon_mode": str(cfg.get("builder.daemon_mode", "unprivileged")),
            "recipe": cfg.get("builder.recipe"),
            "root": root, "output_dir": cfg.output_dir,
        }
        for key, value in given.items():
            values[key] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


def environment_shape(root: Path, manifest: Path | None = None) -> dict[str, Any]:
    """[pack] of the environment.toml beside `manifest` (default guix/manifest.scm, so
    guix/environment.toml): the symlinks, load path and entry point of that environment, so
    that `docker run IMAGE` runs what it provides (load path made absolute under `root`)."""
    path = Path(manifest or root / "guix" / "manifest.scm").parent / "environment.toml"
    if not path.is_file():
        return {}
    shape = dict(load_toml(path).get("pack", {}))
    shape["load_path"] = [str(root / p) for p in shape.get("load_path", [])]
    return shape


def check_options(opts: PackOptions) -> None:
    if opts.format not in FORMATS:
        raise FwenvError(f"unknown pack format {opts.format!r}: use docker or tarball")
    if opts.compressor not in COMPRESSORS:
        raise FwenvError(f"unknown compressor {opts.compressor!r}: use gzip, xz or zstd")
    if not Path(opts.manifest).is_file():
        raise FwenvError(f"manifest {opts.manifest} not found: pass --manifest FILE")
    for d in opts.load_path:
        if not Path(d).is_dir():
            raise FwenvError(f"load path {d} is not a directory: pass --load-path DIR")
    for url in opts.substitute_urls:
        if urlparse(url).scheme not in ("http", "https"):
            raise FwenvError(f"substitute URL {url!r} is not http(s): fix --substitute-urls")
    if opts.authorize is not None and not Path(opts.authorize).is_file():
        raise FwenvError(f"signing key {opts.authorize} not found: pass --authorize with the "
                         "server's key (cache.serve writes output/cache/signing-key.pub)")
    if opts.store is not None:
        check_pack_name(opts.store, "--store volume name")
    if "--bootstrap" in opts.guix_options and opts.compressor != "xz":
        # guix pack --bootstrap ignores -C and always compresses with xz
        raise FwenvError(f"--guix-option=--bootstrap always writes xz, not {opts.compressor}: "
                         "add --compressor=xz")
    if opts.air_gapped and opts.substitutes:
        raise FwenvError("an air-gapped pack cannot use substitutes: add --no-substitutes")
    if opts.time_machine and opts.channels is None:
        raise FwenvError("guix time-machine needs channels: pass --channels FILE "
                         "or --no-time-machine")
    check_pack_name(opts.pack_name())


_PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")


def check_pack_name(name: str, what: str = "pack name") -> str:
    """ASCII letters, digits, '.', '_', '-' (not first); no look-alikes, no paths."""
    if not _PACK_NAME.match(name):
        raise FwenvError(f"invalid {what} {name!r}: use letters, digits, '.', '_', '-'")
    return name


def guix_argv(opts: PackOptions, *, derivation_only: bool = False) -> list[str]:
    """The exact in-container command (fixed paths only)."""
    pack = ["pack", "-f", opts.format, "-C", opts.compressor, "--save-provenance",
            "-m", f"{IN_MANIFEST}/{Path(opts.manifest).name}"]
    for i, _ in enumerate(opts.load_path):
        pack += ["-L", f"{IN_LOAD}/{i}"]
    pack += [f"--symlink={s}" for s in opts.symlinks]
    if opts.format == "docker" and opts.entry_point:
        pack += [f"--entry-point={opts.entry_point}"]
    pack += [*_build_settings(opts), *opts.guix_options]
    if derivation_only:
        pack.append("-d")
    if opts.time_machine:
        assert opts.channels is not None
        return ["guix", "time-machine", "-C", f"{IN_CHANNELS}/{Path(opts.channels).name}",
                "--", *pack]
    return ["guix", *pack]


# `guix build` options that change how a derivation is built, not which one (Guix 1.5's
# %standard-build-options and `guix build`'s own); the others in --guix-option shape the
# derivation and go only to `guix pack -d`.
BUILD_ONLY_OPTIONS = ("-K", "--keep-failed", "-k", "--keep-going", "--rounds", "--fallback",
                      "--no-offload", "--no-build-hook", "--max-silent-time", "--timeout",
                      "--debug", "--verbosity", "--check")


def build_argv(opts: PackOptions, drv: str) -> list[str]:
    """`guix build DRV`: builds the pack's derivation, as computed by `guix pack -d` (the pinned
    Guix with time-machine), without evaluating the manifest again; the same pack as
    guix_argv(opts) gives. The daemon builds; the builder's own client only asks it."""
    return ["guix", "build", *_build_settings(opts),
            *[o for o in opts.guix_options if o.split("=", 1)[0] in BUILD_ONLY_OPTIONS], drv]


def _build_settings(opts: PackOptions) -> list[str]:
    """Substitutes, cores and jobs, as both `guix pack` and `guix build` take them."""
    argv = []
    if not opts.substitutes:
        argv.append("--no-substitutes")
    elif opts.substitute_urls:
        argv.append("--substitute-urls=" + " ".join(opts.substitute_urls))
    if opts.cores:
        argv.append(f"--cores={opts.cores}")
    if opts.jobs:
        argv.append(f"--max-jobs={opts.jobs}")
    return argv


def pack_mounts(opts: PackOptions, out_dir: Path | None, volume: str | None) -> list[Mount]:
    """Inputs read-only under IN_HOST (stage-inputs.sh copies them for the client user), the
    work dir at IN_OUT, the store volumes."""
    m = [Mount(str(Path(opts.manifest).resolve().parent), f"{IN_HOST}/manifest", read_only=True)]
    if opts.channels is not None:
        m.append(Mount(str(Path(opts.channels).resolve().parent), f"{IN_HOST}/channels",
                       read_only=True))
    m += [Mount(str(Path(d).resolve()), f"{IN_HOST}/load-path/{i}", read_only=True)
          for i, d in enumerate(opts.load_path)]
    if opts.authorize is not None:
        m.append(Mount(str(Path(opts.authorize).resolve()), IN_KEY, read_only=True))
    if out_dir is not None:
        m.append(Mount(str(out_dir), IN_OUT))
    if volume:
        m += [Mount(volume, "/gnu/store", kind="volume"),
              Mount(volume + "-var", "/var/guix", kind="volume")]
    return m


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def pack_network(opts: PackOptions) -> str:
    """none when nothing is downloaded (or the run is air-gapped); host when every substitute
    server is on this machine's loopback (a cache.serve; only the host's network namespace
    reaches it); else bridge."""
    if opts.air_gapped or not (opts.time_machine or opts.substitutes):
        return "none"
    if (opts.substitutes and opts.substitute_urls and not opts.time_machine
            and all(urlparse(u).hostname in LOOPBACK for u in opts.substitute_urls)):
        return "host"
    return "bridge"


def _reachable(url: str, timeout: float = 3.0) -> bool:
    u = urlparse(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((u.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def preflight_network(opts: PackOptions, channels: list[dict[str, str]]) -> None:
    """Fail fast, before any container, when what the run must download is out of reach."""
    if opts.air_gapped:
        return
    if opts.time_machine:
        for ch in channels:
            if not _reachable(ch["url"]):
                raise FwenvError(
                    f"guix time-machine must fetch {ch['name']} {ch['commit'][:12]} from "
                    f"{ch['url']}, which is unreachable: connect to the network, or pass "
                    "--no-time-machine to use the builder's own Guix")
    if opts.substitutes:
        urls = opts.substitute_urls or DEFAULT_SUBSTITUTE_URLS
        if not any(_reachable(u) for u in urls):
            raise FwenvError(
                f"substitute servers unreachable ({', '.join(urls)}): connect to the network, "
                "pass --substitute-urls with a reachable mirror, or --no-substitutes to "
                "build everything from source")
