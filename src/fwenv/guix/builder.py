"""guix.base: the builder image (`guix-pack-builder:<guix version>`), a Guix that can run
guix-daemon in a container. Two recipes share the reproducible rootfs pipeline (rootfs.py):

- debian (default): Debian's `guix` package from the sid suite; needs only a Debian mirror.
- binary: the official Guix binary tarball at a pinned version, verified by sha256 and, when
  a signing key is pinned, by GPG; unpacked over a minbase Debian (stable) rootfs.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine, run_interactive
from ..errors import FwenvError
from ..fsutil import atomic_path, sha256_file
from ..plan import Runner
from ..sigcheck import gpg_verify
from .daemon import daemon_spec
from .rootfs import (
    ImageResult,
    RootfsOptions,
    RootfsRecipe,
    build_image,
    chroot,
    imported_as_built,
    recipe_from_toml,
)
from .unshare import BOOTSTRAP, make_tar

RECIPES = ("debian", "binary")
BUILD_USERS = 10

# Users and groups guix-daemon needs; created before the package's postinst runs (minbase has
# no systemd-sysusers). Fixed ids so the image does not depend on creation order.
GUIX_ACCOUNTS: tuple[tuple[str, ...], ...] = (
    ("groupadd", "--system", "--gid", "30000", "guixbuild"),
    *(
        ("useradd", "--system", "--uid", str(30000 + i), "-g", "guixbuild", "-G", "guixbuild",
         "-d", "/var/empty", "-s", "/usr/sbin/nologin", "-c", f"Guix build user {i:02d}",
         f"guixbuilder{i:02d}")
        for i in range(1, BUILD_USERS + 1)
    ),
    ("groupadd", "--system", "--gid", "29999", "guix-daemon"),
    ("useradd", "--system", "--uid", "29999", "-g", "guix-daemon", "-d", "/var/empty",
     "-s", "/usr/sbin/nologin", "-c", "Guix daemon", "guix-daemon"),
)
RECIPE_DIR = Path("containers")  # containers/guix-<recipe>/recipe.toml


@dataclass(frozen=True)
class BinaryPin:
    version: str
    sha256: str
    url: str
    signing_key: str  # GPG fingerprint of the release signer ("" = sha256 only)


def binary_pin(s: dict[str, Any]) -> BinaryPin:
    """[tool.fwenv.builder.binary]: the pinned Guix binary tarball."""
    version = str(s.get("version", "1.4.0"))
    return BinaryPin(
        version=version,
        sha256=str(s.get("sha256", "")),
        url=str(s.get("url", "https://ftpmirror.gnu.org/gnu/guix/guix-binary-{version}.x86_64-linux.tar.xz")).format(version=version),
        signing_key=str(s.get("signing_key", "")).replace(" ", ""),
    )


def builder_recipe(opts: BuilderOptions, extra: tuple[tuple[str, str], ...] = (),
                   labels: tuple[tuple[str, str], ...] = ()) -> RootfsRecipe:
    return recipe_from_toml(
        opts.root / RECIPE_DIR / f"guix-{opts.recipe}" / "recipe.toml", name=opts.name,
        suite=opts.suite, mirror=opts.mirror, snapshot=opts.snapshot, pre_install=GUIX_ACCOUNTS,
        source_date_epoch=opts.source_date_epoch, extra=extra, labels=labels,
    )


@dataclass(frozen=True)
class BuilderOptions:
    """What `invoke guix.base` builds, resolved once from [tool.fwenv.builder] and task options."""

    recipe: str
    suite: str | None
    mirror: str
    snapshot: str
    root: Path  # the project: containers/guix-<recipe>/recipe.toml
    rootfs: RootfsOptions
    name: str = "guix-pack-builder"  # the image repository ([tool.fwenv] builder_image)
    source_date_epoch: int = 0
    binary: BinaryPin | None = None  # the binary recipe's pin ([tool.fwenv.builder.binary])
    tag: str | None = None
    force: bool = False
    cache_dir: Path | None = None  # the binary recipe's download cache (default cache/)
    unprivileged: bool = False  # mmdebstrap --mode=unshare (fwenv.guix.unshare), no root

    @classmethod
    def from_project(cls, cfg: Config, **overrides: Any) -> BuilderOptions:
        """[tool.fwenv.builder] with task options (None or "": not given) on top."""
        given = {k: v for k, v in overrides.items() if v is not None}
        b = cfg.section("builder")
        recipe = given.pop("recipe", "") or str(b.get("recipe", "debian"))
        if recipe not in RECIPES:
            raise FwenvError(f"unknown recipe {recipe!r}: use one of {', '.join(RECIPES)}")
        mirror = given.pop("mirror", "") or str(b.get("mirror", "http://deb.debian.org/debian"))
        snapshot = given.pop("snapshot", str(b.get("snapshot", "")))
        suite = given.pop("suite", "") or (
            str(b["suite"]) if recipe == "debian" and "suite" in b else None)
        return cls(recipe=recipe, suite=suite, mirror=mirror, snapshot=snapshot, root=cfg.root,
                   rootfs=RootfsOptions.from_project(cfg), name=cfg.builder_image,
                   source_date_epoch=int(b.get("source_date_epoch", 0)),
                   binary=binary_pin(cfg.section("builder.binary")),
                   **{"cache_dir": cfg.root / "cache", **given})


def build_builder(cfg: Config, runner: Runner, engine: Engine,
                  opts: BuilderOptions | None = None, **overrides: Any) -> ImageResult:
    """Build (or reuse, when its inputs are unchanged) the builder image. Without `opts`,
    BuilderOptions.from_project(cfg, **overrides)."""
    return build_builder_image(opts or BuilderOptions.from_project(cfg, **overrides), runner,
                               engine)


def build_builder_image(opts: BuilderOptions, runner: Runner, engine: Engine) -> ImageResult:
    """The builder image `opts` describe, built (or reused)."""
    tag, force = opts.tag, opts.force
    if opts.recipe == "debian":
        r = builder_recipe(opts, extra=(BOOTSTRAP,) if opts.unprivileged else ())
        return build_image(r, opts.rootfs, runner, engine, tag=tag, force=force,
                           unshare=make_tar if opts.unprivileged else None)
    if opts.unprivileged:
        raise FwenvError("--unprivileged builds the debian recipe only (the binary recipe "
                         "unpacks and authorizes as root): use --recipe debian")
    pin = opts.binary or binary_pin({})
    r = builder_recipe(opts, extra=(("binary_url", pin.url), ("binary_sha256", pin.sha256)),
                       labels=(("org.fwenv.guix-binary-sha256", pin.sha256),))
    r.validate()
    cache = opts.cache_dir or opts.root / "cache"
    tarball = fetch_verified(pin, cache, runner)  # before debootstrap: fail fast on a bad pin

    def unpack(rootfs: Path, run: Runner) -> None:
        run.run(["tar", "-C", str(rootfs), "--warning=no-timestamp", "-xJf", str(tarball)],
                what="unpack the Guix binary tarball")
        run.run(["mkdir", "-p", str(rootfs / "root/.config/guix")], what="mkdir")
        run.run(["ln", "-sfn", "/var/guix/profiles/per-user/root/current-guix",
                 str(rootfs / "root/.config/guix/current")], what="ln")
        for key in ("ci.guix.gnu.org.pub", "bordeaux.guix.gnu.org.pub"):
            run.run(chroot(rootfs, "sh", "-c",
                           f"/var/guix/profiles/per-user/root/current-guix/bin/guix archive "
                           f"--authorize < /var/guix/profiles/per-user/root/current-guix/share/guix/{key}"),
                    what=f"authorize {key}")

    return build_image(r, opts.rootfs, runner, engine, tag=tag or pin.version, force=force,
                       install_hook=unpack)


def fetch_verified(pin: BinaryPin, cache: Path, runner: Runner) -> Path:
    """The pinned Guix binary tarball in `cache`, downloaded if needed; refuses a wrong hash."""
    if not re.fullmatch(r"[0-9a-f]{64}", pin.sha256):
        raise FwenvError(f"[tool.fwenv.builder.binary] sha256 {pin.sha256!r} is not 64 hex digits: "
                         "pin the published sha256 of the binary tarball")
    dest = cache / pin.url.rsplit("/", 1)[-1]
    runner.show(f"curl -fL -o {dest} {pin.url}")
    runner.show(f"echo '{pin.sha256}  {dest.name}' | sha256sum -c")
    if pin.signing_key:
        runner.show(f"gpg --verify {dest.name}.sig {dest.name}  # signer {pin.signing_key}")
    if runner.dry_run:
        return dest
    if not dest.exists():
        with atomic_path(dest) as tmp, runner.step(f"download {pin.url}"):
            _download(pin.url, tmp)
            _check_sha(tmp, pin)
            if pin.signing_key:
                _check_signature(pin, tmp, runner)
    _check_sha(dest, pin, remove=True)
    return dest


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:  # noqa: S310
            shutil.copyfileobj(r, f, 1 << 20)
    except (urllib.error.URLError, OSError) as e:
        raise FwenvError(f"cannot download {url} ({getattr(e, 'reason', e)}): the binary recipe "
                         "needs the internet; use --recipe debian offline") from None


def _check_sha(path: Path, pin: BinaryPin, remove: bool = False) -> None:
    got = sha256_file(path)
    if got != pin.sha256:
        if remove:
            path.unlink(missing_ok=True)
        raise FwenvError(f"{path.name}: sha256 {got} does not match the pinned {pin.sha256}: "
                         "the download is corrupt or the pin is wrong; it was not used")


def _check_signature(pin: BinaryPin, tarball: Path, runner: Runner) -> None:
    """The pinned signer's key, fetched into a throwaway GNUPGHOME, must have signed the tarball."""
    sig = tarball.with_name(tarball.name + ".sig")
    _download(pin.url + ".sig", sig)
    try:
        with tempfile.TemporaryDirectory() as home:
            runner.run(["gpg", "--homedir", home, "--batch", "--keyserver", "hkps://keys.openpgp.org",
                        "--recv-keys", pin.signing_key], what="gpg --recv-keys",
                       fix="the signing key could not be fetched")
            keyfile = Path(home) / "signer.gpg"
            runner.run(["gpg", "--homedir", home, "--batch", "--yes", "--output", str(keyfile),
                        "--export", pin.signing_key], what="gpg --export")
            check_tarball_signature(tarball, sig, keyfile, pin.signing_key)
    finally:
        sig.unlink(missing_ok=True)


def check_tarball_signature(tarball: Path, sig: Path, keyfile: Path, fingerprint: str) -> None:
    """gpgv with only `keyfile`; the signature must be good, unexpired, unrevoked, by `fingerprint`."""
    verdict = gpg_verify(tarball, sig, keyfile, fingerprint=fingerprint)
    if not verdict.ok:
        raise FwenvError(f"{tarball.name}: {verdict.reason}: refusing it "
                         f"(the pinned signer is {fingerprint})")


def builder_ref(name: str, engine: Engine, image: str | None = None) -> str:
    """The builder image to use: the given one, else the newest fwenv-built builder."""
    if image:
        return image
    found: list[Any] = engine.images_labelled("org.fwenv.recipe", "debian") + \
        engine.images_labelled("org.fwenv.recipe", "binary")
    for img in filter(imported_as_built, found):  # not an image made from one
        for t in img.tags:
            if t.startswith(name + ":"):
                return str(t)
    raise FwenvError(f"no {name} image found: run invoke guix.base first")


def default_builder(name: str, runner: Runner, engine: Engine) -> str:
    """The newest fwenv-built builder of the repository `name` ([tool.fwenv] builder_image);
    in a dry run, its name pattern."""
    return f"{name}:<version>" if runner.dry_run else builder_ref(name, engine)


def builder_shell(cfg: Config, runner: Runner, engine: Engine, image: str | None = None,
                  mode: str = "unprivileged", network: str = "none") -> int:
    """`invoke guix.shell`: an interactive shell in a builder container with guix-daemon up
    (the daemon in the background, then a login shell); its exit code."""
    spec = daemon_spec(image or default_builder(cfg.builder_image, runner, engine), mode,
                       network=network)
    spec.entrypoint = ["sh", "-c", '"$@" >/var/log/guix-daemon.log 2>&1 & exec bash -l', "sh"]
    argv = spec.cli()
    argv.insert(2, "-it")
    runner.show(" ".join(argv))
    return 0 if runner.dry_run else run_interactive(argv)
