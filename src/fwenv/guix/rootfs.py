"""Reproducible Debian rootfs images: debootstrap → chroot install → cleanup → sorted tar → import.

Used for the Guix builder (guix.base) and the firmware stand-in toolchain image. Two builds with
the same inputs (and the same mirror state, pinned with a snapshot) give the same tar sha256:
`CLEANUP` removes everything that records when or where the build ran, and the tar is sorted,
mtime-clamped and numeric-owner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, check_image_ref, load_toml
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import (
    atomic_path,
    free_bytes,
    inside,
    is_regular,
    make_temp,
    output_lock,
    sha256_file,
    write_inside,
    write_text_atomic,
)
from ..plan import Runner
from .debian import DEBIAN_KEYRING, _upstream, check_mirror

RECIPE_FORMAT = 1  # bump when the pipeline below changes what ends up in the tarball
SNAPSHOT_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z\Z")
SUITE_RE = re.compile(r"^[a-z][a-z0-9-]*\Z")
PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+\Z")
MIN_FREE = 4 << 30

APT_CONF = (
    # The mirror's (or snapshot's) Release file may be older than the clock.
    'Acquire::Check-Valid-Until "false";\n'
    'APT::Install-Recommends "false";\n'
)
POLICY_RC_D = "#!/bin/sh\n# fwenv: no services start while the image is built\nexit 101\n"

# Paths whose content records the build's time or host (globs relative to the rootfs).
CLEANUP = (
    "var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
    "var/cache/debconf/*-old", "var/lib/dpkg/*-old", "var/cache/ldconfig/aux-cache",
    "etc/machine-id", "var/lib/dbus/machine-id", "etc/passwd-", "etc/group-", "etc/shadow-",
    "etc/gshadow-", "etc/subuid-", "etc/subgid-", "etc/resolv.conf", "etc/hostname",
    "etc/hosts", "usr/sbin/policy-rc.d", "root/.bash_history", "tmp/*", "var/tmp/*",
    "debootstrap",
)


@dataclass(frozen=True)
class RootfsRecipe:
    """What goes into an image. Every field is an input: change one and the image is rebuilt."""

    name: str  # image repository, e.g. guix-pack-builder
    suite: str
    mirror: str
    snapshot: str = ""  # snapshot.debian.org timestamp, e.g. 20261120T000000Z
    packages: tuple[str, ...] = ()
    pre_install: tuple[tuple[str, ...], ...] = ()  # argv run in the chroot before apt-get
    post_install: tuple[tuple[str, ...], ...] = ()  # argv run in the chroot after apt-get
    changes: tuple[str, ...] = ()  # `docker import --change` lines (ENV, USER, CMD, ...)
    labels: tuple[tuple[str, str], ...] = ()
    version_package: str | None = None  # the tag defaults to this package's upstream version
    source_date_epoch: int = 0
    extra: tuple[tuple[str, str], ...] = ()  # recipe-specific inputs (e.g. a tarball's sha256)
    files: tuple[tuple[str, str, int], ...] = ()  # (path in the rootfs, content, mode), after apt

    def validate(self) -> None:
        check_image_ref(self.name)
        if not SUITE_RE.match(self.suite):
            raise FwenvError(f"invalid Debian suite {self.suite!r}: use a name such as sid or trixie")
        if not re.match(r"^https?://[A-Za-z0-9.:/_~-]+\Z", self.mirror):
            raise FwenvError(f"invalid mirror URL {self.mirror!r}: use http(s)://host/path")
        if self.snapshot and not SNAPSHOT_RE.match(self.snapshot):
            raise FwenvError(
                f"invalid snapshot {self.snapshot!r}: use a snapshot.debian.org timestamp "
                "like 20261120T000000Z"
            )
        for p in self.packages:
            if not PACKAGE_RE.match(p):
                raise FwenvError(f"invalid Debian package name {p!r}")

    @property
    def effective_mirror(self) -> str:
        if self.snapshot:
            return f"http://snapshot.debian.org/archive/debian/{self.snapshot}"
        return self.mirror.rstrip("/")

    def inputs_digest(self) -> str:
        # The normalization is an input too: a changed tar flag or cleanup list must rebuild,
        # never be hidden by a warm skip.
        doc = {"format": RECIPE_FORMAT, **asdict(self), "mirror": self.effective_mirror,
               "tar": tar_argv(Path("ROOTFS"), Path("TAR"), self.source_date_epoch),
               "cleanup": list(CLEANUP), "apt_conf": APT_CONF}
        if not self.files:  # recipes without files keep the digest they had before the field
            doc.pop("files")
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def recipe_from_toml(path: Path, *, name: str, mirror: str, **fields: Any) -> RootfsRecipe:
    """A recipe from containers/<recipe>/recipe.toml; `fields` override the file's (suite: when
    given; snapshot, source_date_epoch, extra) or come before (pre_install) or after (labels)."""
    doc = load_toml(path)
    suite = fields.pop("suite", None) or str(doc.get("suite", "sid"))
    pre_install = tuple(fields.pop("pre_install", ())) + tuple(
        tuple(a) for a in doc.get("pre_install", ()))
    labels = tuple(doc.get("labels", {}).items()) + tuple(fields.pop("labels", ()))
    files = tuple((str(dest), (path.parent / str(src)).read_text(encoding="utf-8"), int(str(mode), 8))
                  for src, dest, mode in doc.get("files", ()))
    return RootfsRecipe(
        name=name, suite=suite, mirror=mirror, packages=tuple(doc.get("packages", ())),
        pre_install=pre_install, post_install=tuple(tuple(a) for a in doc.get("post_install", ())),
        changes=tuple(doc.get("changes", ())), labels=labels,
        version_package=doc.get("version_package"), files=files, **fields,
    )


@dataclass
class ImageResult:
    image: str  # name:tag
    image_id: str
    tar: str  # path relative to the project root
    tar_sha256: str
    layer_digest: str
    inputs: str
    skipped: bool
    packages: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "packages"}


def existing_image(engine: Engine, recipe: RootfsRecipe) -> Any | None:
    """The image fwenv imported for `recipe`'s inputs (labels are inherited by images made from
    it, so it must also be imported_as_built and tagged in the recipe's repository)."""
    return next((img for img in engine.images_labelled("org.fwenv.inputs", recipe.inputs_digest())
                 if imported_as_built(img) and any(t.startswith(recipe.name + ":") for t in img.tags)),
                None)


def imported_as_built(img: Any) -> bool:
    """Whether `img` is still the image fwenv imported: its one layer is its recorded tarball."""
    tar_sha = (img.labels or {}).get("org.fwenv.tar-sha256", "")
    return bool(tar_sha) and img.attrs.get("RootFS", {}).get("Layers") == [f"sha256:{tar_sha}"]


@dataclass(frozen=True)
class RootfsOptions:
    """Where an image is built (from_project): tar, sum and package list in output_dir, paths
    recorded relative to root; debootstrap checks the mirror with debian_keyring ([tool.fwenv]
    debian_keyring, default Debian's archive keyring, installed by scripts/setup)."""

    root: Path
    output_dir: Path
    debian_keyring: Path

    @classmethod
    def from_project(cls, cfg: Config) -> RootfsOptions:
        return cls(cfg.root, cfg.output_dir,
                   cfg.root / str(cfg.get("debian_keyring", DEBIAN_KEYRING)))


def build_image(recipe: RootfsRecipe, where: RootfsOptions, runner: Runner, engine: Engine, *,
                tag: str | None = None, force: bool = False,
                install_hook: Any = None, unshare: Any = None) -> ImageResult:
    """Build (or reuse) the image for `recipe`. `install_hook(rootfs, chroot)` adds files.
    `unshare`: fwenv.guix.unshare.make_tar — mmdebstrap --mode=unshare, no root, same steps."""
    unprivileged = unshare is not None
    recipe.validate()
    if tag:
        check_image_ref(f"{recipe.name}:{tag}")
    digest = recipe.inputs_digest()
    if not force:
        img = existing_image(engine, recipe)
        if img is not None:
            labels = img.labels or {}
            ref = next(t for t in img.tags if t.startswith(recipe.name + ":"))
            runner.info(f"[green]✓[/] {ref}: inputs unchanged, skipped (--force rebuilds)")
            return ImageResult(
                image=ref, image_id=img.id, tar=labels.get("org.fwenv.tar", ""),
                tar_sha256=labels.get("org.fwenv.tar-sha256", ""),
                layer_digest=img.attrs["RootFS"]["Layers"][0], inputs=digest, skipped=True,
            )
    out = where.output_dir
    if not runner.dry_run:
        tool = "mmdebstrap" if unprivileged else "debootstrap"
        if os.geteuid() != 0 and not unprivileged:
            raise FwenvError("debootstrap and chroot need root: run with sudo, or --unprivileged")
        if shutil.which(tool) is None:
            raise FwenvError(f"{tool} not found: apt-get install {tool} (or scripts/setup)")
        if not where.debian_keyring.is_file():  # refuse before anything runs
            raise FwenvError(f"debootstrap needs Debian's archive keyring {where.debian_keyring}"
                             " to verify the mirror: apt-get install debian-archive-keyring "
                             "(or scripts/setup)")
        if free_bytes(out) < MIN_FREE:
            raise FwenvError(f"less than {MIN_FREE >> 30} GiB free under {out}: free disk space")
        check_mirror(recipe.effective_mirror, recipe.suite)
    with output_lock(out) if not runner.dry_run else nullcontext(), _workdir(out, runner) as work:
        rootfs = work / "rootfs"
        if unprivileged:
            versions = unshare(recipe, runner, work, where.debian_keyring)
        else:
            _bootstrap(recipe, runner, rootfs, install_hook, where.debian_keyring)
            versions = _versions(runner, rootfs)
        version = _upstream(versions.get(recipe.version_package or "", "")) if recipe.version_package else ""
        tag = tag or version or "latest"
        ref = f"{recipe.name}:{tag}"
        check_image_ref(ref)
        if not unprivileged:
            with runner.step("clean the rootfs for a reproducible tarball"):
                clean_rootfs(rootfs, runner)
        tar_final = out / f"{recipe.name}-{tag}.tar"
        with nullcontext(tar_final) if runner.dry_run else atomic_path(tar_final) as tmp_tar:
            with runner.step(f"tar the rootfs → {tar_final.name}"):
                if unprivileged:  # made (cleaned, tar'd) inside the user namespace
                    runner.run(["mv", str(work / "rootfs.tar"), str(tmp_tar)], what="mv")
                else:
                    runner.run(tar_argv(rootfs, tmp_tar, recipe.source_date_epoch), what="tar")
            tar_sha = "" if runner.dry_run else sha256_file(tmp_tar)
            labels = {
                **dict(recipe.labels),
                "org.fwenv.inputs": digest, "org.fwenv.suite": recipe.suite,
                "org.fwenv.mirror": recipe.effective_mirror, "org.fwenv.snapshot": recipe.snapshot,
                "org.fwenv.tar": _display(tar_final, where.root),
                "org.fwenv.tar-sha256": tar_sha,
                "org.opencontainers.image.version": version or tag,
            }
            changes = [*recipe.changes, *(f"LABEL {k}={json.dumps(v)}" for k, v in sorted(labels.items()))]
            image_id, layer = _import(engine, runner, tmp_tar, ref, changes, tar_sha)
        if runner.dry_run:
            return ImageResult(ref, "", str(tar_final), "", "", digest, False)
        write_text_atomic(tar_final.with_name(tar_final.name + ".sha256"), f"{tar_sha}  {tar_final.name}\n")
        write_text_atomic(
            tar_final.with_name(f"{recipe.name}-{tag}.packages.json"),
            json.dumps({"image": ref, "inputs": digest, "recipe": asdict(recipe),
                        "tar_sha256": tar_sha, "packages": versions}, indent=2, sort_keys=True) + "\n",
        )
        return ImageResult(ref, image_id, str(labels["org.fwenv.tar"]), tar_sha, layer, digest,
                           False, versions)


def _display(path: Path, root: Path) -> str:
    """A path as recorded: relative to the project, never an absolute host path."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else path.name


@contextmanager
def _workdir(out: Path, runner: Runner) -> Iterator[Path]:
    if runner.dry_run:
        yield out / ".rootfs.PID.XXXX.tmp"
        return
    out.mkdir(parents=True, exist_ok=True)
    work = make_temp(out, "rootfs", is_dir=True)
    try:
        yield work
    finally:
        _umount_all(work)
        shutil.rmtree(work, ignore_errors=True)


def _umount_all(work: Path) -> None:
    """Unmount anything still mounted below `work` (an interrupted chroot install)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return
    for line in reversed(mounts):
        target = line.split()[1]
        if target.startswith(str(work) + "/"):
            subprocess.run(["umount", "-l", target], capture_output=True)  # noqa: S603


def chroot(rootfs: Path, *argv: str) -> list[str]:
    return ["chroot", str(rootfs), "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive", *argv]


def _bootstrap(recipe: RootfsRecipe, runner: Runner, rootfs: Path, install_hook: Any,
               keyring: Path) -> None:
    with runner.step(f"debootstrap {recipe.suite} from {recipe.effective_mirror}"):
        runner.run(
            ["debootstrap", "--variant=minbase", "--components=main", f"--keyring={keyring}",
             recipe.suite, str(rootfs), recipe.effective_mirror],
            what="debootstrap",
            fix=f"check that {recipe.effective_mirror} serves {recipe.suite}",
        )
    _write(runner, rootfs, "etc/apt/apt.conf.d/99fwenv", APT_CONF, 0o644)
    _write(runner, rootfs, "usr/sbin/policy-rc.d", POLICY_RC_D, 0o755)
    for argv in recipe.pre_install:
        runner.run(chroot(rootfs, *argv), what=argv[0])
    if recipe.packages:
        with runner.step(f"install {' '.join(recipe.packages)}"), _proc_mounted(runner, rootfs):
            runner.run(chroot(rootfs, "apt-get", "update", "-q"), what="apt-get update")
            runner.run(chroot(rootfs, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                              *recipe.packages), what="apt-get install",
                       fix="check the package names and the mirror")
    for rel, text, mode in recipe.files:
        _write(runner, rootfs, rel, text, mode)
    if install_hook is not None:
        with _proc_mounted(runner, rootfs):
            install_hook(rootfs, runner)
    for argv in recipe.post_install:
        runner.run(chroot(rootfs, *argv), what=argv[0])


@contextmanager
def _proc_mounted(runner: Runner, rootfs: Path) -> Iterator[None]:
    runner.run(["mount", "-t", "proc", "proc", str(rootfs / "proc")], what="mount proc")
    try:
        yield
    finally:
        runner.run(["umount", str(rootfs / "proc")], what="umount proc")


def _write(runner: Runner, rootfs: Path, rel: str, text: str, mode: int) -> None:
    path = rootfs / rel
    runner.show(f"# write {path} (mode {mode:o})")
    if not runner.dry_run:
        if inside(rootfs, path):  # else write_inside refuses
            path.parent.mkdir(parents=True, exist_ok=True)
        write_inside(rootfs, path, text, mode)


def _versions(runner: Runner, rootfs: Path) -> dict[str, str]:
    out = runner.run(chroot(rootfs, "dpkg-query", "-W", "-f=${Package}\t${Version}\n"),
                     what="dpkg-query")
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def clean_rootfs(rootfs: Path, runner: Runner) -> None:
    """Remove what records the build's time or host; blank the day-of-change field in shadow."""
    for pattern in CLEANUP:
        runner.show(f"rm -rf {rootfs}/{pattern}")
        if runner.dry_run:
            continue
        for p in rootfs.glob(pattern):
            if not inside(rootfs, p):
                raise FwenvError(f"{p} leads outside {rootfs} (a symlink): refusing to remove it")
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
    logs = rootfs / "var/log"
    for log in ([] if runner.dry_run or not inside(rootfs, logs / "x") else sorted(logs.rglob("*"))):
        if inside(rootfs, log) and (log.is_file() or log.is_symlink()):
            log.unlink()
    runner.show(f"# blank field 3 (last change day) of {rootfs}/etc/shadow")
    shadow = rootfs / "etc/shadow"
    if not runner.dry_run and is_regular(shadow) and inside(rootfs, shadow):
        lines = []
        for line in shadow.read_text().splitlines():
            f = line.split(":")
            if len(f) > 2:
                f[2] = ""
            lines.append(":".join(f))
        write_inside(rootfs, shadow, "\n".join(lines) + "\n", shadow.stat().st_mode & 0o7777)


def tar_argv(rootfs: Path, dest: Path, mtime: int) -> list[str]:
    return [
        "tar", "-C", str(rootfs), "--sort=name", f"--mtime=@{mtime}", "--numeric-owner",
        "--format=gnu",  # no pax headers: they would carry atime/ctime
        "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "--exclude=./run/*",
        "-cf", str(dest), ".",
    ]


def _import(
    engine: Engine, runner: Runner, tar: Path, ref: str, changes: Sequence[str], tar_sha: str
) -> tuple[str, str]:
    """Import untagged, check the layer digest equals the tar sha256, then tag."""
    runner.show(" ".join(["docker", "import", *(f"--change '{c}'" for c in changes), str(tar), ref]))
    if runner.dry_run:
        return "", ""
    with runner.step(f"docker import → {ref}"):
        image_id = engine.import_tar(tar, changes)
        layer = engine.layers(image_id)[0]
        if layer != f"sha256:{tar_sha}":
            engine.remove_image(image_id)
            raise FwenvError(f"imported layer {layer} differs from the tarball sha256 {tar_sha}: "
                             "the engine altered the layer; check the storage driver")
        previous = engine.image(ref)
        engine.tag(image_id, ref)
        if previous is not None and previous.id != image_id:
            engine.remove_unused(previous.id)  # the image this tag replaced, if nothing uses it
    return image_id, layer
