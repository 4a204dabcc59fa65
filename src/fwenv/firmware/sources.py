"""Pinned sources: found in the cache (or a pre-filled cache dir), else downloaded; sha256-checked.

Layout under the cache dir (`cache/` by default, [tool.fwenv.firmware] cache_dir):
  downloads/<file>                    verified downloads (Debian .dsc + orig tarball, tarballs)
  coreboot/tree/<key>-<sha12>/<top>/  the extracted source tree (extracted once, read-only use)
  coreboot/git/<commit>/              a git checkout at the pinned commit
Extra read-only cache dirs are searched first (`cache_search`, default ../shared/cache; or the
FWENV_FIRMWARE_CACHE_SEARCH environment variable, ':'-separated): a file there is used only when
its sha256 matches the pin.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import FwenvError
from ..fsutil import atomic_path, sha256_file
from ..plan import Runner
from .targets import Source
from .workspace import Workspace

FETCH_FIX = "run `invoke firmware.fetch --target T` where the network is reachable"


@dataclass(frozen=True)
class PinnedFile:
    name: str
    url: str
    sha256: str


def search_dirs(ws: Workspace) -> list[Path]:
    """Where a pinned file is looked for: the cache's downloads/ (new downloads go there), then
    the read-only cache dirs."""
    return [ws.cache_dir / "downloads", *ws.search]


def pool_url(mirror: str, package: str, name: str) -> str:
    prefix = package[:4] if package.startswith("lib") else package[0]
    return f"{mirror.rstrip('/')}/pool/main/{prefix}/{package}/{name}"


def source_files(src: Source) -> list[PinnedFile]:
    if src.kind == "debian":
        pkg, ver, mirror = src.get("package"), src.get("version"), src.get("mirror")
        dsc = f"{pkg}_{ver.split(':')[-1]}.dsc"
        return [PinnedFile(dsc, pool_url(mirror, pkg, dsc), src.get("dsc_sha256")),
                PinnedFile(src.get("orig"), pool_url(mirror, pkg, src.get("orig")),
                           src.get("orig_sha256"))]
    if src.kind == "tarball":
        url = src.get("url")
        return [PinnedFile(url.rsplit("/", 1)[-1], url, src.get("sha256"))]
    return []


def describe(src: Source) -> str:
    if src.kind == "debian":
        return f"Debian source {src.get('package')} {src.get('version')}"
    if src.kind == "git":
        return f"{src.get('url')} tag {src.get('tag')} ({src.get('commit')[:12]})"
    return src.get("url")


def find_cached(pf: PinnedFile, dirs: list[Path]) -> Path | None:
    """The first cached copy of `pf`; a copy with another sha256 is an error, not a miss."""
    for d in dirs:
        p = d / pf.name
        if p.is_file():
            got = sha256_file(p)
            if got != pf.sha256:
                raise FwenvError(
                    f"{p} has sha256 {got[:16]}…, the pin says {pf.sha256[:16]}…: "
                    "delete the file (or fix the pin in the target data) and retry"
                )
            return p
    return None


def download(
    pf: PinnedFile, dest_dir: Path, runner: Runner, what: str, timeout: float = 60
) -> Path:
    final = dest_dir / pf.name
    runner.show(f"# download {pf.url} -> {final} (sha256 {pf.sha256})")
    if runner.dry_run:
        return final
    if not re.match(r"^https?://", pf.url):
        raise FwenvError(f"{what}: URL {pf.url!r} is not http(s): fix the target data")
    with atomic_path(final) as tmp:
        try:
            with urllib.request.urlopen(pf.url, timeout=timeout) as r, open(tmp, "wb") as f:  # noqa: S310
                shutil.copyfileobj(r, f, 1 << 20)
        except urllib.error.HTTPError as e:
            if e.code in (404, 410):
                raise FwenvError(
                    f"{what} is gone from {pf.url.split('/pool/')[0]} (HTTP {e.code} for "
                    f"{pf.name}): the mirror dropped this version; pin a version it serves "
                    "(or put the file in a cache dir)"
                ) from None
            raise FwenvError(f"download of {pf.url} failed (HTTP {e.code}): retry later") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise FwenvError(f"cannot download {pf.url} ({reason}): {FETCH_FIX}, "
                             "or put the file in a cache dir") from None
        got = sha256_file(tmp)
        if got != pf.sha256:
            raise FwenvError(f"{pf.url} has sha256 {got[:16]}…, the pin says {pf.sha256[:16]}…: "
                             "the upstream file changed; check it and update the pin")
    return final


def ensure_files(
    ws: Workspace, runner: Runner, src: Source, *, fetch: bool = True
) -> dict[str, Path]:
    """Each pinned file of `src`: from a cache dir, else downloaded (when `fetch`)."""
    dirs = search_dirs(ws)
    found: dict[str, Path] = {}
    for pf in source_files(src):
        path = find_cached(pf, dirs)
        if path is None:
            if not fetch:
                raise FwenvError(f"{pf.name} is not in the cache ({dirs[0]}): {FETCH_FIX}")
            path = download(pf, dirs[0], runner, describe(src))
        found[pf.name] = path
    if src.kind == "debian" and found[source_files(src)[0].name].is_file():
        _check_dsc(found[source_files(src)[0].name], src)
    return found


def _check_dsc(dsc: Path, src: Source) -> None:
    """The .dsc (pinned) must list the orig tarball with the pinned sha256."""
    text = dsc.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"^Checksums-Sha256:\n((?: .*\n)+)", text, re.M)
    listed = dict(ln.split()[2::-2] for ln in m.group(1).splitlines()) if m else {}
    if listed.get(src.get("orig")) != src.get("orig_sha256"):
        raise FwenvError(f"{dsc.name} does not list {src.get('orig')} with the pinned sha256: "
                         "fix orig_sha256 in the target data")


def tree_dir(ws: Workspace, src: Source) -> Path:
    if src.kind == "git":
        return ws.cache_dir / "coreboot" / "git" / src.get("commit")
    sha = src.get("orig_sha256") or src.get("sha256")
    return ws.cache_dir / "coreboot" / "tree" / f"{src.key}-{sha[:12]}" / src.get("topdir")


def ensure_tree(ws: Workspace, runner: Runner, src: Source, *, fetch: bool = True) -> Path:
    """The source tree, extracted (or checked out) once into the cache; returns its path."""
    final = tree_dir(ws, src)
    if src.kind == "git":
        return _ensure_git(runner, src, final, fetch)
    if final.is_dir():
        return final
    files = ensure_files(ws, runner, src, fetch=fetch)
    archive = files[src.get("orig") or source_files(src)[0].name]
    top = src.get("topdir")
    with runner.step(f"extract {archive.name}"):
        if runner.dry_run:
            runner.show(f"tar -xf {archive} -C {final.parent} --no-same-owner {top}")
            return final
        with atomic_path(final.parent, directory=True) as tmp:
            runner.run(["tar", "-xf", str(archive), "-C", str(tmp), "--no-same-owner", top],
                       what=f"tar -xf {archive.name}", fix="the archive is damaged: delete it")
            if not (tmp / top / "Makefile").is_file():
                raise FwenvError(f"{archive.name} has no {top}/Makefile: fix topdir in the data")
    return final


def _ensure_git(runner: Runner, src: Source, final: Path, fetch: bool) -> Path:
    commit, tag, url = src.get("commit"), src.get("tag"), src.get("url")
    if final.is_dir() and not runner.dry_run:
        head = runner.run(["git", "-C", str(final), "rev-parse", "HEAD"], what="git rev-parse")
        if head.strip() != commit:
            raise FwenvError(f"{final} is at {head.strip()[:12]}, not {commit[:12]}: delete it")
        return final
    if not fetch:
        raise FwenvError(f"no checkout of {url} at {commit[:12]} in {final.parent}: {FETCH_FIX}")
    with (atomic_path(final, directory=True) if not runner.dry_run
          else contextlib.nullcontext(final)) as tmp:
        git = ["git", "-C", str(tmp)]
        runner.run(["git", "clone", "--no-checkout", url, str(tmp)], what=f"git clone {url}",
                   fix=f"check the network ({FETCH_FIX})")
        tagged = runner.run([*git, "rev-parse", f"refs/tags/{tag}^{{commit}}"],
                            what="git rev-parse")
        if not runner.dry_run and tagged.strip() != commit:
            raise FwenvError(f"tag {tag} of {url} is {tagged.strip()[:12]}, the pin says "
                             f"{commit[:12]}: the tag moved; check it and update the pin")
        runner.run([*git, "checkout", "--detach", commit], what="git checkout")
        runner.run([*git, "submodule", "update", "--init", "--checkout"], what="git submodule")
        if not runner.dry_run:
            os.chmod(tmp, 0o755)  # a temp dir is 0700: the build user must read the checkout
    return final
