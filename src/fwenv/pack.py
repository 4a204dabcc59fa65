"""`guix pack` in a fresh builder container: the environment tarball and its provenance.

One container per pack (`--rm`), guix-daemon as its main process (fwenv.guixd). Mounted:
the manifest's and channels' directories and each `--load-path` dir read-only at fixed
paths, and a work dir (a temp dir inside output/) at /fwenv/out. The Guix store lives in
a named volume (`fwenv-guix-store-<builder id>`, with `-var` for /var/guix) unless
`ephemeral`; Guix addresses outputs by their inputs, so the pack is bit-identical either way.
Network: none when the run needs neither substitutes nor time-machine, else the default
bridge (downloads only; builds stay in the daemon's sandbox).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .config import Config, load_toml
from .engine import Engine, Mount
from .errors import FwenvError
from .fsutil import remove, sha256_file, write_text_atomic
from .guixd import GuixSession, daemon_spec, guix_session, last_line
from .plan import Runner
from .provenance import (
    SCHEMA_ID,
    digest,
    dumps,
    load_provenance,
    parse_channels,
    tree_sha256,
)

FORMATS = ("docker", "tarball")
COMPRESSORS = {"gzip": ".tar.gz", "xz": ".tar.xz", "zstd": ".tar.zst"}
DEFAULT_SUBSTITUTE_URLS = ("https://bordeaux.guix.gnu.org", "https://ci.guix.gnu.org")
# Each target must exist in the profile (Guix refuses dangling links).
DEFAULT_SYMLINKS = ("/bin=bin", "/usr/bin/env=bin/env")
IN_MANIFEST = "/fwenv/manifest"
IN_CHANNELS = "/fwenv/channels"
IN_LOAD = "/fwenv/load-path"
IN_OUT = "/fwenv/out"
STORE_LABEL = "org.fwenv.role"
STORE_ROLE = "guix-store"
_PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")

# Reads every form of a file: Guile reports syntax errors as FILE:LINE:COL.
_READ_ALL = ("(let ((p (open-input-file (cadr (command-line)))))"
             " (let loop () (unless (eof-object? (read p)) (loop))))")


@dataclass
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
    force: bool = False
    daemon_mode: str = "unprivileged"
    recipe: str | None = None  # builder recipe, recorded

    def pack_name(self) -> str:
        return self.name or f"coreboot-build-env-{self.format}"


@dataclass
class PackResult:
    tarball: Path
    provenance: Path
    sha256: str
    derivation: str
    store_path: str
    skipped: bool
    record: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"tarball": str(self.tarball), "provenance": str(self.provenance),
                "sha256": self.sha256, "derivation": self.derivation,
                "store_path": self.store_path, "skipped": self.skipped}


def environment_shape(root: Path) -> dict[str, Any]:
    """guix/environment.toml [pack]: the symlinks, load path and entry point of the real
    environment (paths made absolute under `root`)."""
    path = root / "guix" / "environment.toml"
    if not path.is_file():
        return {}
    shape = dict(load_toml(path).get("pack", {}))
    shape["load_path"] = [str(root / p) for p in shape.get("load_path", [])]
    return shape


def store_volume(builder_digest: str) -> str:
    return f"fwenv-guix-store-{builder_digest.removeprefix('sha256:')[:12]}"


def _rel(cfg: Config, path: Path) -> str:
    """A path as recorded: relative to the project root, else its name (never host-absolute)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(cfg.root).as_posix()
    except ValueError:
        return p.name


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
    if "--bootstrap" in opts.guix_options and opts.compressor != "xz":
        # guix pack --bootstrap ignores -C and always compresses with xz
        raise FwenvError(f"--guix-option=--bootstrap always writes xz, not {opts.compressor}: "
                         "add --compressor=xz")
    if opts.time_machine and opts.channels is None:
        raise FwenvError("guix time-machine needs channels: pass --channels FILE "
                         "or --no-time-machine")
    check_pack_name(opts.pack_name())


def check_pack_name(name: str) -> str:
    """ASCII letters, digits, '.', '_', '-' (not first); no look-alikes, no paths."""
    if not _PACK_NAME.match(name):
        raise FwenvError(f"invalid pack name {name!r}: use letters, digits, '.', '_', '-'")
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
    if not opts.substitutes:
        pack.append("--no-substitutes")
    elif opts.substitute_urls:
        pack.append("--substitute-urls=" + " ".join(opts.substitute_urls))
    if opts.cores:
        pack.append(f"--cores={opts.cores}")
    if opts.jobs:
        pack.append(f"--max-jobs={opts.jobs}")
    pack += list(opts.guix_options)
    if derivation_only:
        pack.append("-d")
    if opts.time_machine:
        assert opts.channels is not None
        return ["guix", "time-machine", "-C", f"{IN_CHANNELS}/{Path(opts.channels).name}",
                "--", *pack]
    return ["guix", *pack]


def _mounts(opts: PackOptions, out_dir: Path | None, volume: str | None) -> list[Mount]:
    m = [Mount(str(Path(opts.manifest).resolve().parent), IN_MANIFEST, read_only=True)]
    if opts.channels is not None:
        m.append(Mount(str(Path(opts.channels).resolve().parent), IN_CHANNELS, read_only=True))
    m += [Mount(str(Path(d).resolve()), f"{IN_LOAD}/{i}", read_only=True)
          for i, d in enumerate(opts.load_path)]
    if out_dir is not None:
        m.append(Mount(str(out_dir), IN_OUT))
    if volume:
        m += [Mount(volume, "/gnu/store", kind="volume"),
              Mount(volume + "-var", "/var/guix", kind="volume")]
    return m


def _network(opts: PackOptions) -> str:
    return "bridge" if (opts.time_machine or opts.substitutes) else "none"


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


def check_channels_syntax(session: GuixSession, opts: PackOptions, shown: str) -> None:
    """Let Guile read channels.scm; turn its syntax error into one line naming file:line."""
    if opts.channels is None:
        return
    code, out = session.exec(
        ["guile", "--no-auto-compile", "-c", _READ_ALL,
         f"{IN_CHANNELS}/{Path(opts.channels).name}"], check=False)
    if code != 0:
        detail = last_line(out)
        loc = ""
        for ln in out.splitlines():
            if f"{IN_CHANNELS}/" in ln and ":" in ln:
                rest = ln.split(f"{IN_CHANNELS}/{Path(opts.channels).name}:", 1)
                if len(rest) == 2:
                    loc = ":" + rest[1].split(":")[0]
                    break
        raise FwenvError(f"{shown}{loc}: malformed channels file ({detail}): fix the syntax")


def _guix_error(out: str, opts: PackOptions, shown_manifest: str) -> FwenvError:
    text = out.replace(f"{IN_MANIFEST}/", "")
    line = last_line(text)
    low = text.lower()
    unknown = [ln.strip() for ln in text.splitlines() if "unknown package" in ln]
    if unknown:
        return FwenvError(f"{shown_manifest}: {unknown[-1]}: fix the package name "
                          "(guix search NAME in invoke guix.shell)")
    if "unknown package" in low or "no such package" in low or "unbound variable" in low:
        return FwenvError(f"{shown_manifest}: {line}: fix the package name "
                          "(guix search NAME in invoke guix.shell)")
    if ("could not find" in low or "cannot resolve" in low or "failed to download" in low
            or "network is unreachable" in low or "name service" in low):
        return FwenvError(f"guix pack needs a download that failed ({line}): connect to the "
                          "network, pass --substitute-urls, or --no-substitutes")
    return FwenvError(f"guix pack failed: {line}: rerun with -v to see Guix's output")


def _run_guix(session: GuixSession, argv: list[str], opts: PackOptions, shown: str,
              runner: Runner) -> str:
    code, out = session.exec(argv, check=False)
    if code != 0:
        log = re.search(r"View build log at\s+'([^']+)'", out.replace("\n", ""))
        if log:  # the failing builder's own last error line says more than guix's summary
            _, text = session.exec(["zcat", log.group(1)], check=False)
            tail = [ln for ln in text.replace("\r", "\n").splitlines() if ln.strip()
                    and "%" not in ln]
            if runner.verbose:
                for ln in tail[-40:]:
                    runner.console.print(ln, markup=False, highlight=False)
            cause = [ln.strip() for ln in tail if not ln.startswith(" ")
                     and not ln.startswith(("In ", "Backtrace", "guile: warning"))]
            if cause:
                return_line = cause[-1]
                raise FwenvError(f"guix pack: a build failed: {return_line}: "
                                 "rerun with -v to see Guix's output")
        raise _guix_error(out, opts, shown)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("/gnu/store/")]
    if not lines:
        raise FwenvError(f"guix pack printed no store path: {last_line(out)}")
    return lines[-1]


def _inputs(cfg: Config, opts: PackOptions, builder_id: str) -> dict[str, Any]:
    chan = Path(opts.channels) if opts.channels else None
    return {
        "builder_content_digest": builder_id,
        "manifest": sha256_file(opts.manifest),
        "channels": sha256_file(chan) if chan and chan.is_file() else None,
        "load_path": [tree_sha256(Path(d)) for d in opts.load_path],
        "argv": guix_argv(opts),
        "recipe": opts.recipe,
    }


def _verified(out: Path, prov: Path, inputs_digest: str) -> dict[str, Any] | None:
    rec = load_provenance(prov)
    if not rec or rec.get("inputs_digest") != inputs_digest:
        return None
    tar = out / rec["tarball"]["file"]
    if not tar.is_file() or sha256_file(tar) != rec["tarball"]["sha256"]:
        return None
    return rec


def _builder_id(engine: Engine | None, image: str) -> str:
    """The builder's content digest: its layer digests, hashed. Unlike the image ID, which
    `docker import` stamps with the import time, it is the same wherever the builder is rebuilt."""
    if engine is None:
        return "sha256:" + "0" * 64
    img = engine.image(image)
    if img is None:
        raise FwenvError(f"builder image {image} not found: run invoke guix.base first")
    layers = img.attrs["RootFS"]["Layers"]
    return "sha256:" + hashlib.sha256("\n".join(layers).encode()).hexdigest()


def _guix_version(session: GuixSession) -> str:
    _, out = session.exec(["guix", "--version"], what="guix --version")
    first = out.strip().splitlines()[0] if out.strip() else "unknown"
    return first.split()[-1]


def pack_derivation(cfg: Config, runner: Runner, engine: Engine | None, builder_image: str,
                    opts: PackOptions) -> str | None:
    """The pack's derivation path (`guix pack -d`), in a fresh ephemeral container.

    Prints the exact commands in dry-run; returns None when there is no engine to ask.
    Offline, this needs --no-time-machine (time-machine must fetch the pinned Guix).
    """
    check_options(opts)
    shown = _rel(cfg, Path(opts.channels)) if opts.channels else ""
    channels = parse_channels(Path(opts.channels), shown) if opts.channels else []
    argv = guix_argv(opts, derivation_only=True)
    spec = daemon_spec(builder_image, opts.daemon_mode, mounts=_mounts(opts, None, None),
                       network=_network(opts))
    if engine is None:
        with guix_session(None, runner, spec) as s:
            s.exec(argv)
        return None
    if opts.time_machine:
        preflight_network(opts, channels)
    live = Runner(dry_run=False, verbose=runner.verbose, console=runner.console)
    with live.step("guix pack -d (derivation)"), guix_session(engine, live, spec) as s:
        check_channels_syntax(s, opts, shown)
        drv = _run_guix(s, argv, opts, _rel(cfg, Path(opts.manifest)), live)
    if not drv.endswith(".drv"):
        raise FwenvError(f"guix pack -d printed {drv!r}, not a derivation")
    if runner.dry_run:
        print(f"derivation: {drv}", flush=True)
    return drv


def build_pack(cfg: Config, runner: Runner, engine: Engine | None, builder_image: str,
               opts: PackOptions) -> PackResult:
    """Build the pack into cfg.output_dir, atomically, with provenance; skip if up to date."""
    check_options(opts)
    out = cfg.output_dir
    name = opts.pack_name()
    tarball = out / (name + COMPRESSORS[opts.compressor])
    prov = out / f"{name}.provenance.json"
    shown_ch = _rel(cfg, Path(opts.channels)) if opts.channels else ""
    channels = parse_channels(Path(opts.channels), shown_ch) if opts.channels else []
    builder_id = _builder_id(engine, builder_image)
    inputs = _inputs(cfg, opts, builder_id)
    inputs_digest = digest(inputs)

    if not opts.force and not runner.dry_run:
        rec = _verified(out, prov, inputs_digest)
        if rec:
            runner.info(f"[green]✓[/] guix pack: skipped ({tarball.name} is up to date, "
                        "its sha256 verifies; --force rebuilds)")
            return PackResult(tarball, prov, rec["tarball"]["sha256"], rec["derivation"],
                              rec["store_path"], True, rec)

    if not runner.dry_run and (opts.time_machine or opts.substitutes):
        preflight_network(opts, channels)

    volume = None if opts.ephemeral else store_volume(builder_id)
    if volume and engine is not None:
        _ensure_volume(engine, volume)
        _ensure_volume(engine, volume + "-var")

    argv = guix_argv(opts)
    shown_mf = _rel(cfg, Path(opts.manifest))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out))
    try:
        os.chmod(work, 0o777)  # written by the container's root
        spec = daemon_spec(builder_image, opts.daemon_mode, mounts=_mounts(opts, work, volume),
                           network=_network(opts), cores=opts.cores)
        title = (f"guix pack ({opts.format}, {opts.compressor}"
                 f"{', ephemeral store' if not volume else ''})")
        session: list[GuixSession] = []
        try:
            with runner.step(title), guix_session(engine, runner, spec) as s:
                session.append(s)
                result = _pack_in(s, opts, argv, shown_ch, shown_mf, runner)
        except BaseException:
            if engine is not None and session:  # Ctrl-C mid-stream: make sure it is gone
                _force_remove(engine, session[0].name)
            raise
        version, drv, store_path = result["version"], result["drv"], result["store_path"]
        if runner.dry_run:
            return PackResult(tarball, prov, "", "", "", False)
        packed = work / "pack"
        if not packed.is_file():
            raise FwenvError(f"guix pack gave no tarball at {store_path}: rerun with -v")
        sha = sha256_file(packed)
        record = pack_record(cfg, opts, builder_image, inputs, channels, tarball.name, sha,
                             packed.stat().st_size, version, drv, store_path)
        prov.unlink(missing_ok=True)  # never leave a provenance that names another tarball
        os.chmod(packed, 0o644)
        os.replace(packed, tarball)
    finally:
        remove(work)
    write_text_atomic(prov, dumps(record))
    return PackResult(tarball, prov, sha, drv, store_path, False, record)


def pack_record(cfg: Config, opts: PackOptions, builder_image: str, inputs: dict[str, Any],
                channels: list[dict[str, str]], tarball_name: str, sha: str, size: int,
                version: str, drv: str, store_path: str) -> dict[str, Any]:
    """The provenance record of a built pack: inputs by digest and project-relative name only
    (an input outside the project is recorded by its file name, never a host path)."""
    return {
        "schema": SCHEMA_ID,
        "name": opts.pack_name(),
        "format": opts.format,
        "compressor": opts.compressor,
        "tarball": {"file": tarball_name, "sha256": sha, "size": size},
        "derivation": drv,
        "store_path": store_path,
        "guix": {"version": version, "time_machine": opts.time_machine,
                 "channels": channels,
                 "channels_file": _rel(cfg, Path(opts.channels)) if opts.channels else None,
                 "channels_sha256": inputs["channels"]},
        "manifest": {"file": _rel(cfg, Path(opts.manifest)), "sha256": inputs["manifest"]},
        "load_path": [{"dir": _rel(cfg, Path(d)), "sha256": h}
                      for d, h in zip(opts.load_path, inputs["load_path"], strict=False)],
        "builder": {"image": builder_image, "content_digest": inputs["builder_content_digest"],
                    "recipe": opts.recipe},
        "command": guix_argv(opts),
        "options": _recorded_options(opts),
        "inputs_digest": digest(inputs),
    }


def _pack_in(s: GuixSession, opts: PackOptions, argv: list[str], shown_ch: str,
             shown_mf: str, runner: Runner) -> dict[str, str]:
    """Inside the builder: check channels, guix version, derivation, build, copy out."""
    check_channels_syntax(s, opts, shown_ch)
    if s.container is None:  # dry-run: show the commands
        s.exec(["guix", "--version"])
        s.exec(guix_argv(opts, derivation_only=True))
        s.exec(argv)
        version = drv = store_path = ""
    else:
        version = _guix_version(s)
        drv = _run_guix(s, guix_argv(opts, derivation_only=True), opts, shown_mf, runner)
        store_path = _run_guix(s, argv, opts, shown_mf, runner)
    s.exec(["cp", "--dereference", store_path or "STORE_PATH", f"{IN_OUT}/pack"],
           what="copy the pack out of the container")
    return {"version": version, "drv": drv, "store_path": store_path}


def _force_remove(engine: Engine, name: str) -> None:
    try:
        engine.client.containers.get(name).remove(force=True, v=True)
    except Exception:  # already gone
        pass


def _recorded_options(opts: PackOptions) -> dict[str, Any]:
    d = asdict(opts)
    for k in ("manifest", "channels", "load_path", "force"):
        d.pop(k, None)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _ensure_volume(engine: Engine, name: str) -> None:
    if not engine.volume_exists(name):
        engine.client.volumes.create(name=name, labels={STORE_LABEL: STORE_ROLE})


def store_volumes(engine: Engine) -> list[str]:
    return sorted(v.name for v in engine.client.volumes.list(
        filters={"label": f"{STORE_LABEL}={STORE_ROLE}"}))

