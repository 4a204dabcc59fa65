"""Shared fixtures: the real Docker engine and the real builder image (built by guix.base).

Session rules (one place):
- tests/unit/ is marked `unit`: no engine, no root (`pytest -m unit`).
- FWENV_CI=1 (set by .ci/run): a test that would skip (missing engine, registry, QEMU, gpg,
  mirror, cache...) fails instead, naming what is missing; only `network` tests (the internet,
  out of reach here by design) may still skip. With engine tests selected and no engine, the
  run stops at once with one line.
- Tests never touch state they did not create: names carry RUN (unique per session), and at
  the end every image, volume and container that existed before the session must still exist.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from fwenv.config import Config, load_config
from fwenv.engine import Engine
from fwenv.errors import FwenvError
from fwenv.guix.builder import build_builder
from fwenv.plan import Runner

ROOT = Path(__file__).resolve().parents[1]
UNIT_DIR = Path(__file__).resolve().parent / "unit"
CI = os.environ.get("FWENV_CI") == "1"
# Unique per session: every image/volume/container/tag/repo a test makes carries it.
RUN = os.environ.setdefault("FWENV_TEST_RUN", secrets.token_hex(3))

# A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored across
# exec: the ^C tests' invoke children would then never see their SIGINT. Un-ignore it here so
# that children start with the default and Python turns SIGINT into KeyboardInterrupt.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# Property tests are deterministic (the same examples every run: CI and mutation testing must
# not flicker) and have no per-example deadline (tests never assert on wall time).
settings.register_profile("fwenv", deadline=None, derandomize=True, database=None)
settings.load_profile("fwenv")


def unique(base: str) -> str:
    """`base-<run>`: a name no user (and no other run) holds."""
    return f"{base}-{RUN}"


def require(ok: object, what: str) -> None:
    """Skip when `what` is missing; under FWENV_CI=1 fail instead, naming it."""
    if not ok:
        if CI:
            pytest.fail(f"FWENV_CI=1: {what} is missing, so this test cannot run", pytrace=False)
        pytest.skip(f"{what} missing")


@pytest.fixture(scope="session")
def needs():
    """`needs("gpg", "gpg (apt-get install gpg)")`: require a program on PATH."""
    def check(program: str, what: str | None = None) -> str:
        path = shutil.which(program)
        require(path, what or program)
        return str(path)
    return check


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).is_relative_to(UNIT_DIR):
            item.add_marker(pytest.mark.unit)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    rep = outcome.get_result()
    if CI and rep.skipped and not hasattr(rep, "wasxfail") and item.get_closest_marker("network") is None:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"FWENV_CI=1 turns this skip into a failure: {reason.removeprefix('Skipped: ')}"


# -- pre-existing engine state ----------------------------------------------------------------------
_STATE = pytest.StashKey[dict[str, Any]]()
SENTINEL_LABEL = "org.fwenv.test-sentinel"


def engine_state(engine: Engine) -> dict[str, Any]:
    c = engine.client
    return {"images": {img.id: tuple(img.tags) for img in c.images.list()},
            "volumes": {v.name for v in c.volumes.list()},
            "containers": {x.id: x.name for x in c.containers.list(all=True)}}


def lost_state(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What existed before and is gone. An image counts as present while its ID exists or, for
    a tagged one, every tag still names an image (a product rebuild may replace a tag with an
    image of the same inputs; the user still has `name:tag`)."""
    tags_now = {t for tags in after["images"].values() for t in tags}
    lost = [f"image {tags[0] if tags else img_id}" for img_id, tags in before["images"].items()
            if img_id not in after["images"] and not (tags and set(tags) <= tags_now)]
    lost += [f"volume {v}" for v in sorted(before["volumes"] - after["volumes"])]
    lost += [f"container {name}" for cid, name in before["containers"].items()
             if cid not in after["containers"]]
    return lost


def _sentinels(engine: Engine) -> list[str]:
    """State a user could hold under fwenv's own names, made before the tests: a store volume
    (what `env.clean --store` removes) and an image named like the environment image."""
    vol = f"fwenv-guix-store-sentinel{RUN}"
    engine.client.volumes.create(name=vol, labels={"org.fwenv.role": "guix-store", SENTINEL_LABEL: RUN})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.addfile(tarfile.TarInfo("sentinel"), io.BytesIO(b""))
    ref = f"{load_config(ROOT).env_image}:sentinel-{RUN}"
    engine.client.api.import_image_from_data(buf.getvalue(), repository=ref.split(":")[0],
                                             tag=ref.split(":")[1], changes=[f"LABEL {SENTINEL_LABEL}={RUN}"])
    return [vol, ref]


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STATE] = {}


def _uses_engine(item: pytest.Item) -> bool:
    """The engine fixture, directly or through another fixture, or marked integration."""
    return "engine" in getattr(item, "fixturenames", ()) or bool(item.get_closest_marker("integration"))


def pytest_collection_finish(session: pytest.Session) -> None:
    # Runs without engine tests (unit runs, mutation testing) never ask the engine: others may
    # be using it, and they hold no lock.
    if (session.config.option.collectonly or "MUTANT_UNDER_TEST" in os.environ
            or not any(_uses_engine(i) for i in session.items)):
        return
    try:
        engine = Engine.connect()
    except FwenvError as e:
        if CI:
            pytest.exit(f"FWENV_CI=1: {e}", returncode=1)
        return
    sentinels = _sentinels(engine)
    session.config.stash[_STATE] = {"engine": engine, "before": engine_state(engine),
                                    "sentinels": sentinels}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, {})
    if not state:
        return
    engine: Engine = state["engine"]
    lost = lost_state(state["before"], engine_state(engine))
    vol, ref = state["sentinels"]
    engine.remove_volume(vol)
    engine.remove_image(ref)
    if lost:
        session.config.get_terminal_writer().line(
            "pre-existing engine state removed by the tests: " + ", ".join(lost), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def invoke(*args: str, env: dict[str, str] | None = None, timeout: float = 1800,
           check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `invoke ARGS` from the project root, as a user would."""
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"invoke {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def config_with_output(output: Path) -> Config:
    cfg = load_config(ROOT)
    cfg.data = {**cfg.data, "output_dir": str(output)}
    return cfg


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.connect()


@pytest.fixture(scope="session")
def builder_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builder-output")


@pytest.fixture(scope="session")
def builder_build(engine: Engine, builder_output: Path):
    """The builder image, built by the product code (skipped if one with the same inputs exists)."""
    result = build_builder(config_with_output(builder_output), Runner(), engine)
    yield result
    for tar in builder_output.glob("*.tar"):
        tar.unlink()


@pytest.fixture(scope="session")
def builder_image(builder_build) -> str:
    return builder_build.image


@pytest.fixture(scope="session")
def offline_builder(builder_image: str, engine: Engine) -> str:
    """The builder image for the offline pack route: it carries the static busybox and xz that
    tests/pack/offline seeds the store from (Debian's busybox-static, xz-utils)."""
    from fwenv.engine import ContainerSpec

    probe = ["sh", "-c", "test -x /bin/busybox && command -v xz"]
    code, out = engine.run(ContainerSpec(builder_image, probe))
    assert code == 0, f"{builder_image} lacks busybox-static/xz-utils: {out}"
    return builder_image


# -- a loopback registry (release and security tests) ------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>; stopped after."""
    if not shutil.which("docker-registry"):
        pytest.skip("docker-registry not installed (apt-get install docker-registry)")
    d = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = d / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {d / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    log = open(d / "registry.log", "wb")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((d / "registry.log").read_text()[-500:]) from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
