"""Release preflight: every check that can fail before anything is built, cheapest first."""

from __future__ import annotations

import re
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from ..config import check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import free_bytes
from ..plan import Runner
from .sign import Signer

_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,127}\Z")  # \Z: no trailing newline


GIB = 1 << 30


def check_version(version: str) -> str:
    if not _VERSION_RE.match(version or ""):
        raise FwenvError(f"bad version {version!r}: use letters, digits, '.', '_', '-' "
                         "(a Docker tag, e.g. 2026.11.0)")
    return version


# -- preflight -----------------------------------------------------------------------------------
def check_clean_worktree(root: Path) -> None:
    """A release is built from committed inputs only (like Bitcoin's FORCE_DIRTY_WORKTREE)."""
    try:
        out = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                             capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise FwenvError("git not found: apt-get install git (or pass --allow-dirty)") from None
    except subprocess.CalledProcessError as e:
        raise FwenvError(f"{root} is not a git checkout ({e.stderr.strip()[:80]}): "
                         "release from a clone, or pass --allow-dirty") from None
    dirty = [ln[3:] for ln in out.splitlines() if ln.strip()]
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise FwenvError(f"the git worktree is dirty ({shown}): commit or stash, "
                         "or pass --allow-dirty (the release then records it)")


def git_state(root: Path) -> dict[str, Any]:
    def git(*a: str) -> str:
        p = subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True,
                           check=False)
        return p.stdout.strip() if p.returncode == 0 else ""
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def check_free_disk(path: Path, need_bytes: int) -> None:
    free = free_bytes(path)
    if free < need_bytes:
        raise FwenvError(f"only {free / GIB:.1f} GiB free on {path}, a release needs "
                         f"{need_bytes / GIB:.1f} GiB: free space or set "
                         "[tool.fwenv.release] min_free_gib")


def normalize_registry(registry: str) -> str:
    """`host[:port][/path]` as preflight checks it and push uses it (no scheme, no '/' at the
    end, lower case as Docker references need)."""
    if "://" in registry:
        scheme, _, rest = registry.partition("://")
        raise FwenvError(f"--push {registry}: drop the scheme ({scheme}://) and give "
                         f"host[:port][/path], e.g. --push {rest.rstrip('/')}")
    bare = registry.strip().rstrip("/").lower()
    check_image_ref(bare + "/x")
    return bare


def registry_url(registry: str) -> str:
    host = registry.split("/")[0]
    local = host.split(":")[0] in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
    return f"{'http' if local else 'https'}://{host}/v2/"


def _ask(registry: str, request: str | urllib.request.Request, passes: tuple[int, ...],
         what: str) -> Message | None:
    """The registry's answer (headers) to `request`; None for an HTTP status in `passes`. Any
    other status, or no answer, is one line naming the fix."""
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (http/https only)
            return resp.headers
    except urllib.error.HTTPError as e:
        if e.code in passes:
            return None
        raise FwenvError(f"registry {registry} answered {e.code} {what}: "
                         "check the registry address") from None
    except (urllib.error.URLError, OSError) as e:
        raise FwenvError(f"registry {registry} unreachable ({getattr(e, 'reason', e)}): "
                         "start it or fix --push") from None


def check_registry(registry: str) -> None:
    """The registry answers /v2/ (401: it wants a login, docker login handles that)."""
    url = registry_url(registry)
    _ask(registry, url, (401,), f"at {url}")


MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"])


def check_tag_unpublished(registry: str, name: str, version: str) -> None:
    """Refuse a tag the registry already holds (another clone, a deleted release/ directory)."""
    host, _, path = registry.partition("/")
    repo = f"{path}/{name}" if path else name
    url = registry_url(registry) + f"{repo}/manifests/{version}"
    req = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST_TYPES})
    # 404: not there; 401: no anonymous read (the push will tell)
    headers = _ask(registry, req, (404, 401), f"for {repo}:{version}")
    if headers is None:
        return
    digest = headers.get("Docker-Content-Digest", "(digest not given)")
    raise FwenvError(f"{registry}/{repo}:{version} is already published as {digest}: "
                     "pick a new --version (a published tag is never overwritten)")


def make_test_signature(signer: Signer, runner: Runner) -> None:
    """Sign a scratch file with the real key, so a passphrase or pinentry problem stops the
    release now, not after two builds."""
    with tempfile.TemporaryDirectory(prefix="fwenv-sigtest-") as d:
        probe = Path(d) / "probe"
        probe.write_text("fwenv release preflight\n", encoding="utf-8")
        try:
            signer.sign(probe, Runner(verbose=runner.verbose))
        except FwenvError as e:
            if signer.kind == "gpg":
                raise FwenvError(
                    f"a test signature with gpg key {signer.key} failed ({_cause(e)}): a key "
                    "with a passphrase needs a gpg-agent that can ask for it (run in a "
                    "terminal with a pinentry, or gpg-preset-passphrase, or allow-loopback-pinentry "
                    "with --pinentry-mode loopback); else check the key id "
                    "(gpg --list-secret-keys) and GNUPGHOME") from None
            raise FwenvError(f"a test signature with ssh key {signer.key} failed ({_cause(e)}): "
                             "a key with a passphrase must be in ssh-agent (ssh-add)") from None


def _cause(e: FwenvError) -> str:
    return str(e).split(": ", 1)[-1].split(" — ")[0]


@dataclass
class Preflight:
    root: Path
    version: str
    release_dir: Path
    inputs: list[Path]
    allow_dirty: bool = False
    min_free_gib: float = 10.0
    builder_image: str = ""
    registry: str | None = None
    signer: Signer | None = None
    image_name: str = "coreboot-build-env"

    def run(self, runner: Runner, engine: Engine) -> list[str]:
        """Every check, in order of cost; the first failure raises. Returns what was checked."""
        done = []
        check_version(self.version)
        if not self.allow_dirty:
            check_clean_worktree(self.root)
            done.append("clean worktree")
        for p in self.inputs:
            if not p.is_file():
                raise FwenvError(f"pinned input {p} is missing: restore it from git "
                                 "(or invoke guix.pin for channels.scm)")
        done.append("pinned inputs present")
        if self.release_dir.exists():
            raise FwenvError(f"{self.release_dir} exists: version {self.version} is already "
                             "released; pick a new --version")
        done.append("version not yet released")
        check_free_disk(self.release_dir.parent, int(self.min_free_gib * GIB))
        done.append("free disk")
        if self.signer is not None:
            if self.signer.kind == "gpg":
                self.signer.default_name()  # raises when the secret key is not there
            done.append("signing key present")
        if runner.dry_run:
            return done
        if self.signer is not None:
            make_test_signature(self.signer, runner)
            done.append("test signature made")
        done.append("engine up")
        if self.builder_image and engine.image(self.builder_image) is None:
            raise FwenvError(f"builder image {self.builder_image} not found: "
                             "run invoke guix.base first")
        if self.registry:
            check_registry(self.registry)
            check_tag_unpublished(self.registry, self.image_name, self.version)
            done.append("registry reachable, tag not yet published")
        return done
