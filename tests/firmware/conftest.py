"""Shared, expensive things for the firmware tests: a test config (own output and cache dirs,
source extracted once per session), the Debian toolchain stand-in image, tiny broken images."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import urllib.request
from pathlib import Path

import pytest

from fwenv.config import Config
from fwenv.engine import Engine
from fwenv.plan import Runner

REPO = Path(__file__).resolve().parents[2]
SHARED_CACHE = (REPO / ".." / "shared" / "cache").resolve()
TEST_STANDIN = "fwenv-test-toolchain-standin"


def unique(base: str) -> str:
    """tests/conftest.py's unique() (this package cannot import it): `base-<run>`."""
    return f"{base}-{os.environ['FWENV_TEST_RUN']}"


def make_cfg(root: Path, cache: Path, **firmware: object) -> Config:
    fw = {
        "cache_dir": str(cache),
        "cache_search": [str(SHARED_CACHE)],
        "coreboot_targets": str(REPO / "coreboot" / "targets.toml"),
        "heads_boards": str(REPO / "heads" / "boards.toml"),
        "standin_recipe": str(REPO / "containers" / "toolchain-debian" / "recipe.toml"),
        **firmware,
    }
    return Config(root=root, data={"output_dir": "output", "firmware": fw,
                                   "builder": {"mirror": "http://deb.debian.org/debian"}})


@pytest.fixture(autouse=True)
def _no_cache_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FWENV_FIRMWARE_CACHE_SEARCH", raising=False)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One firmware cache for the whole session: the coreboot source is extracted once."""
    return tmp_path_factory.mktemp("fwcache")


@pytest.fixture
def cfg(tmp_path: Path, session_cache: Path) -> Config:
    """A config with its own output dir (tmp) and the session's shared cache."""
    return make_cfg(tmp_path, session_cache)


@pytest.fixture
def runner() -> Runner:
    return Runner(dry_run=False, verbose=False)


def mirror_reachable() -> bool:
    try:
        with urllib.request.urlopen("http://deb.debian.org/debian/dists/sid/InRelease",
                                    timeout=10) as r:
            r.read(1)
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        return Engine.connect()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no Docker engine: {e}")


@pytest.fixture(scope="session")
def standin(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Debian toolchain stand-in, built once by the real recipe under a test name
    (skipped by the rootfs pipeline when an image with the same inputs exists).
    FWENV_TEST_FIRMWARE_IMAGE=IMG uses an existing image instead."""
    if os.environ.get("FWENV_TEST_FIRMWARE_IMAGE"):
        return os.environ["FWENV_TEST_FIRMWARE_IMAGE"]
    from fwenv.firmware import standin as standinmod
    from fwenv.guix.rootfs import RootfsOptions, build_image

    root = tmp_path_factory.mktemp("standin")
    cfg = make_cfg(root, root / "cache", standin_image=TEST_STANDIN)
    recipe = standinmod.recipe(cfg)
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        from fwenv.guix.rootfs import existing_image

        if existing_image(engine, recipe) is None:
            pytest.skip("building the stand-in needs root and debootstrap")
    res = build_image(recipe, RootfsOptions.from_project(cfg), Runner(), engine, tag=recipe.suite)
    return res.image


def _import(engine: Engine, ref: str, files: dict[str, bytes | Path]) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            raw = data.read_bytes() if isinstance(data, Path) else data
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(raw), 0o755, 0
            tar.addfile(info, io.BytesIO(raw))
    buf.seek(0)
    engine.client.api.import_image_from_data(buf.getvalue(), repository=ref.split(":")[0],
                                             tag=ref.split(":")[1])
    return ref


@pytest.fixture(scope="session")
def shell_only_image(engine: Engine):
    """An image with /bin/sh (the host's dash and its libraries) and no toolchain."""
    files: dict[str, bytes | Path] = {"bin/sh": Path(os.path.realpath("/bin/dash"))}
    for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"):
        files[lib.lstrip("/")] = Path(os.path.realpath(lib))
    yield _import(engine, unique("fwenv-test-shell-only") + ":1", files)
    engine.remove_image(unique("fwenv-test-shell-only") + ":1")


@pytest.fixture(scope="session")
def empty_image(engine: Engine):
    """An image with nothing to run (no shell at all)."""
    yield _import(engine, unique("fwenv-test-empty") + ":1", {"etc/empty": b""})
    engine.remove_image(unique("fwenv-test-empty") + ":1")
