"""`guix pack` in a fresh builder container: the environment tarball and its provenance.

One container per pack (`--rm`), guix-daemon as its main process (fwenv.guixd). Mounted:
the manifest's and channels' directories and each `--load-path` dir read-only at fixed
paths, and a work dir (a temp dir inside output/) at /fwenv/out. The Guix store lives in
a named volume (`fwenv-guix-store-<builder id>`, with `-var` for /var/guix) unless
`ephemeral`; Guix addresses outputs by their inputs, so the pack is bit-identical either way.
Network: none when the run needs neither substitutes nor time-machine, host when every
substitute server is on loopback (a local cache.serve), else the default bridge (downloads
only; builds stay in the daemon's sandbox). With --substitute-urls, fwenv.guix.substitutes
authorizes --authorize's key and refuses an untrusted server before anything is built.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import (
    file_in,
    is_regular,
    make_temp,
    output_lock,
    remove,
    script,
    sha256_file,
    take_regular_file,
    write_text_atomic,
)
from ..plan import Runner
from ..recording import RecordingEngine
from .builder import default_builder
from .daemon import CLIENT_UID, CLIENT_USER, GuixSession, daemon_spec, guix_session, last_line
from .errors import diagnose
from .options import (
    COMPRESSORS,
    IN_CHANNELS,
    IN_MANIFEST,
    IN_OUT,
    PackOptions,
    build_argv,
    check_options,
    guix_argv,
    pack_mounts,
    pack_network,
    preflight_network,
)
from .provenance import (
    digest,
    dumps,
    load_provenance,
    parse_channels,
)
from .record import Packed, pack_inputs, pack_record, shown_path
from .substitutes import plan_substitutes

STORE_LABEL = "org.fwenv.role"
STORE_ROLE = "guix-store"

# Reads every form of a file: Guile reports syntax errors as FILE:LINE:COL.
_READ_ALL = script(__package__, "read-all.scm")
_STAGE_INPUTS = script(__package__, "stage-inputs.sh")


@dataclass
class PackResult:
    tarball: Path
    provenance: Path
    sha256: str
    derivation: str
    store_path: str
    skipped: bool
    record: dict[str, Any] = field(default_factory=dict)
    substitutes: dict[str, Any] | None = None  # the daemon's plan, with --substitute-urls

    def summary(self) -> dict[str, Any]:
        return {"tarball": str(self.tarball), "provenance": str(self.provenance),
                "sha256": self.sha256, "derivation": self.derivation,
                "store_path": self.store_path, "skipped": self.skipped,
                **({"substitutes": self.substitutes} if self.substitutes else {})}


def store_volume(builder_digest: str) -> str:
    return f"fwenv-guix-store-{builder_digest.removeprefix('sha256:')[:12]}"


def stage_inputs(session: GuixSession) -> None:
    """As root, a fixed script: copy the mounted inputs where guix reads them, owned by the
    client user, before any guix command runs (as that user)."""
    session.exec(["sh", "-c", _STAGE_INPUTS, "sh", CLIENT_USER], user="root",
                 what="stage the pack inputs")


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
    """One line for a failed `guix pack`: a located error (file:line — fix) from guix.errors,
    else an unreachable download, else Guix's last line."""
    manifest = str(Path(opts.manifest).resolve())
    modules = [str(f) for d in opts.load_path for f in sorted(Path(d).rglob("*.scm"))]
    found = diagnose(out, [manifest, *modules])
    if found is not None:
        return FwenvError(str(found).replace(manifest, shown_manifest)
                          .replace(f"{IN_MANIFEST}/", ""))
    text = out.replace(f"{IN_MANIFEST}/", "")
    line = last_line(text)
    low = text.lower()
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


def _verified(out: Path, prov: Path, inputs_digest: str) -> dict[str, Any] | None:
    rec = load_provenance(prov)
    if not rec or rec.get("inputs_digest") != inputs_digest:
        return None
    try:
        tar = file_in(out, rec["tarball"]["file"])
    except (ValueError, KeyError, TypeError):
        return None
    if not is_regular(tar) or sha256_file(tar) != rec["tarball"]["sha256"]:
        return None
    return rec


def _builder_id(runner: Runner, engine: Engine, image: str) -> str:
    """The builder's content digest: its layer digests, hashed. Unlike the image ID, which
    `docker import` stamps with the import time, it is the same wherever the builder is rebuilt."""
    if runner.dry_run:
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


def pack_derivation(runner: Runner, engine: Engine, builder_image: str,
                    opts: PackOptions) -> str | None:
    """The pack's derivation path (`guix pack -d`), in a fresh ephemeral container.

    Prints the exact commands in a dry run (and returns None).
    Offline, this needs --no-time-machine (time-machine must fetch the pinned Guix).
    """
    check_options(opts)
    shown = shown_path(opts.root, Path(opts.channels)) if opts.channels else ""
    channels = parse_channels(Path(opts.channels), shown) if opts.channels else []
    argv = guix_argv(opts, derivation_only=True)
    spec = daemon_spec(builder_image, opts.daemon_mode, mounts=pack_mounts(opts, None, None),
                       network=pack_network(opts))
    if runner.dry_run:
        with guix_session(engine, runner, spec) as s:
            stage_inputs(s)
            s.exec(argv)
        return None
    if opts.time_machine:
        preflight_network(opts, channels)
    with runner.step("guix pack -d (derivation)"), guix_session(engine, runner, spec) as s:
        stage_inputs(s)
        check_channels_syntax(s, opts, shown)
        drv = _run_guix(s, argv, opts, shown_path(opts.root, Path(opts.manifest)), runner)
    if not drv.endswith(".drv"):
        raise FwenvError(f"guix pack -d printed {drv!r}, not a derivation")
    return drv


def build_pack(runner: Runner, engine: Engine, builder_image: str,
               opts: PackOptions) -> PackResult:
    """Build the pack into opts.output_dir, atomically, with provenance; skip if up to date.

    Holds the output dir's lock: a concurrent env.import or second pack fails at once."""
    check_options(opts)
    if runner.dry_run:
        return _build_pack(runner, engine, builder_image, opts)
    with output_lock(opts.output_dir):
        return _build_pack(runner, engine, builder_image, opts)


def _build_pack(runner: Runner, engine: Engine, builder_image: str,
                opts: PackOptions) -> PackResult:
    out = opts.output_dir
    name = opts.pack_name()
    tarball = out / (name + COMPRESSORS[opts.compressor])
    prov = out / f"{name}.provenance.json"
    shown_ch = shown_path(opts.root, Path(opts.channels)) if opts.channels else ""
    channels = parse_channels(Path(opts.channels), shown_ch) if opts.channels else []
    builder_id = _builder_id(runner, engine, builder_image)
    inputs = pack_inputs(opts, builder_id)
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

    volume = None if opts.ephemeral else (opts.store or store_volume(builder_id))
    if volume:
        engine.ensure_volume(volume, {STORE_LABEL: STORE_ROLE})
        engine.ensure_volume(volume + "-var", {STORE_LABEL: STORE_ROLE})

    shown_mf = shown_path(opts.root, Path(opts.manifest))
    if runner.dry_run:  # shown, never made: a dry run creates nothing
        work = out / f".{name}.PID.XXXX.tmp"
    else:
        out.mkdir(parents=True, exist_ok=True)
        work = make_temp(out, name, is_dir=True)  # 0700, ours: nobody else reaches inside
    try:
        written = work / "out"  # 0700, the container's client user writes the pack here
        if not runner.dry_run:
            written.mkdir(mode=0o700)
            os.chown(written, CLIENT_UID, CLIENT_UID, follow_symlinks=False)
        spec = daemon_spec(builder_image, opts.daemon_mode,
                           mounts=pack_mounts(opts, written, volume),
                           network=pack_network(opts), cores=opts.cores)
        title = (f"guix pack ({opts.format}, {opts.compressor}"
                 f"{', ephemeral store' if not volume else ''})")
        session: list[GuixSession] = []
        try:
            with runner.step(title), guix_session(engine, runner, spec) as s:
                session.append(s)
                result = _pack_in(s, opts, shown_ch, shown_mf, runner)
        except BaseException:
            if session and not runner.dry_run:  # Ctrl-C mid-stream: make sure it is gone
                engine.remove_container(session[0].name)
            raise
        version, drv, store_path = result["version"], result["drv"], result["store_path"]
        if runner.dry_run:
            return PackResult(tarball, prov, "", "", "", False)
        packed = written / "pack"
        if not packed.exists() and not packed.is_symlink():
            raise FwenvError(f"guix pack gave no tarball at {store_path}: rerun with -v")
        prov.unlink(missing_ok=True)  # never leave a provenance that names another tarball
        sha = take_pack(packed, tarball)
        record = pack_record(opts, builder_image, inputs, channels,
                             Packed(tarball.name, sha, tarball.stat().st_size, version, drv,
                                    store_path))
    finally:
        remove(work)
    write_text_atomic(prov, dumps(record))
    return PackResult(tarball, prov, sha, drv, store_path, False, record,
                      result["substitutes"])


def take_pack(packed: Path, tarball: Path) -> str:
    """Move the pack the container wrote to `tarball` (0644, ours); its sha256. Only a regular
    file: a symlink planted there is refused, never followed, chmodded or moved."""
    try:
        return take_regular_file(packed, tarball)
    except ValueError as e:
        raise FwenvError(f"guix pack output {e}: refusing it (nothing was moved or chmodded); "
                         "check who else can write to the builder's work dir") from None


def _pack_in(s: GuixSession, opts: PackOptions, shown_ch: str, shown_mf: str,
             runner: Runner) -> dict[str, Any]:
    """Inside the builder: stage inputs, check channels, guix version, derivation (`guix pack
    -d`), the substitute plan, build that derivation, copy out."""
    stage_inputs(s)
    check_channels_syntax(s, opts, shown_ch)
    if runner.dry_run:  # show the commands
        s.exec(["guix", "--version"])
        s.exec(guix_argv(opts, derivation_only=True))
        s.exec(build_argv(opts, "DERIVATION"))
        version = drv = store_path = ""
        plan = None
    else:
        version = _guix_version(s)
        drv = _run_guix(s, guix_argv(opts, derivation_only=True), opts, shown_mf, runner)
        plan = plan_substitutes(s, opts, drv)
        # the derivation just computed, built: the manifest is not evaluated a second time
        store_path = _run_guix(s, build_argv(opts, drv), opts, shown_mf, runner)
    s.exec(["cp", "--dereference", store_path or "STORE_PATH", f"{IN_OUT}/pack"],
           what="copy the pack out of the container")
    return {"version": version, "drv": drv, "store_path": store_path,
            "substitutes": plan.summary() if plan else None}


def store_volumes(engine: Engine) -> list[str]:
    return engine.volumes_labelled(STORE_LABEL, STORE_ROLE)



def pack(cfg: Config, runner: Runner, opts: PackOptions,
         builder: str | None = None) -> dict[str, Any] | None:
    """`invoke guix.pack`. A dry run prints the commands (no engine needed), then computes the
    derivation when an engine answers; None when none does."""
    name = cfg.builder_image
    if runner.dry_run:
        recorder = RecordingEngine(runner.show)
        build_pack(runner, recorder, builder or default_builder(name, runner, recorder), opts)
        try:
            engine = Engine.connect()
        except FwenvError:
            runner.info("derivation: not computed (no Docker engine)")
            return None
        live = Runner(dry_run=False, verbose=runner.verbose, console=runner.console)
        drv = pack_derivation(live, engine, builder or default_builder(name, live, engine), opts)
        print(f"derivation: {drv}", flush=True,
              file=sys.stderr if runner.quiet_stdout else sys.stdout)  # --json: the document
        return {"derivation": drv, "commands": runner.printed}
    engine = Engine.on_demand()
    return build_pack(runner, engine, builder or default_builder(name, runner, engine),
                      opts).summary()
