"""A release manager's day through the real `invoke` CLI (subprocesses), in a scratch clone, with
the commands of docs/release.md as written there: release (interrupted after both builds agreed,
then --resume), attest, verify, --rebuild --image REF@sha256:, a deleted release/ directory, a
passphrase-protected key, SIGTERM during the second build, and no tag lost.

Real engine, real guix-daemon builds of the offline test environment, real gpg keys made here,
a real loopback registry (Debian's docker-registry) that this module stops and starts itself."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fwenv.engine import Engine
from fwenv.release.verify import image_digests
from tests.conftest import _free_port
from tests.release.test_cli_options import doc_commands, expand

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
V = "0.0.1-clitest"
ENV = "coreboot-build-env"


class Registry:
    """docker-registry on a fixed loopback port and data dir, stoppable and restartable."""

    def __init__(self, d: Path) -> None:
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.config = d / "config.yml"
        self.config.write_text(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {d / 'data'}\nhttp:\n  addr: {self.address}\n")
        self.log = d / "registry.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["docker-registry", "serve", str(self.config)],
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.log.read_text()[-500:]) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def digest(self, repo: str, tag: str) -> str | None:
        req = urllib.request.Request(
            f"http://{self.address}/v2/{repo}/manifests/{tag}", method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return str(resp.headers["Docker-Content-Digest"])
        except urllib.error.HTTPError:
            return None


class MidPushStop:
    """A loopback TCP relay in front of the registry that stops the registry at the first blob
    upload request it relays (the push has begun: docker checked the blobs and is sending a
    layer), so the push fails mid-way; after that it only relays."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.tripped = threading.Event()
        self.port = 0
        self.reopen()
        self.address = f"127.0.0.1:{self.port}"

    def reopen(self) -> None:
        """Listen (again, on the same port: the registry host is back)."""
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            backend = socket.create_connection(("127.0.0.1", self.reg.port), timeout=30)
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump, args=(backend, client, False), daemon=True).start()
        self._pump(client, backend, True)

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                if upstream and not self.tripped.is_set() and b"/blobs/uploads/" in data:
                    self.tripped.set()  # the registry host goes away: refused from now on
                    self.server.close()
                    self.reg.stop()
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def close(self) -> None:
        self.server.close()


def run_cli(clone: Path, argv: list[str], *, env: dict[str, str] | None = None,
            on_line: tuple[str, object] | None = None,
            timeout: float = 1800) -> tuple[int, str, str]:
    """`invoke ARGV` in the clone; stderr streamed so `on_line=(text, action)` can act mid-run
    (action: a callable, or a signal number sent to invoke)."""
    proc = subprocess.Popen([sys.executable, "-m", "invoke", *argv], cwd=clone, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    assert proc.stderr is not None and proc.stdout is not None
    err: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        err.append(line)
        if on_line and on_line[0] in line:
            action, on_line = on_line[1], None
            if callable(action):
                action()
            else:
                time.sleep(3)  # into the build
                proc.send_signal(int(action))  # type: ignore[call-overload]
        assert time.monotonic() < deadline, "".join(err)
    out = proc.stdout.read()
    return proc.wait(timeout=60), out, "".join(err)


def containers(engine: Engine) -> list[str]:
    return [c.name for c in engine.client.containers.list(all=True)
            if c.name.startswith("fwenv-guix-")]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory, offline_builder: str, gnupghome: dict,
        engine: Engine) -> Iterator[dict]:
    if not shutil.which("docker-registry"):
        pytest.skip("docker-registry not installed (apt-get install docker-registry)")
    base = tmp_path_factory.mktemp("cli-e2e")
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    sigs = base / "sigs"
    (sigs / "builder-keys").mkdir(parents=True)
    for name, fpr in gnupghome.items():  # guix.sigs layout: DIR/builder-keys/<name>.gpg
        key = subprocess.run(["gpg", "--batch", "--armor", "--export", fpr],
                             capture_output=True, check=True).stdout
        (sigs / "builder-keys" / f"{name}.gpg").write_bytes(key)
    reg = Registry(base)
    reg.start()
    relay = MidPushStop(reg)
    values = {"V": V, "FWENV_TEST_OFFLINE_BUILDER": offline_builder, "KEY": gnupghome["alice"],
              "KEY2": gnupghome["bob"], "SIGS": str(sigs)}
    state = {"clone": clone, "sigs": sigs, "reg": reg, "relay": relay, "values": values,
             "commands": [expand(c, values) for c in doc_commands()]}
    try:
        yield state
    finally:
        relay.close()
        reg.stop()
        for ref in (f"{ENV}:{V}", f"{relay.address}/{ENV}:{V}", "fwenv-test-cli-user:keep"):
            engine.untag(ref)


@pytest.fixture(scope="module")
def released(day: dict, engine: Engine) -> dict:
    """The documented release with --push through the relay: the registry is stopped in the
    middle of the push (first layer upload), then comes back and `--resume` publishes."""
    clone, reg, relay = day["clone"], day["reg"], day["relay"]
    argv = [*day["commands"][0], "--push", relay.address]
    start = time.monotonic()
    code, _, err = run_cli(clone, argv)
    full = time.monotonic() - start
    stopped_mid_push = relay.tripped.is_set()
    dir_after_failure = (clone / "release" / V).exists()
    reg.start()
    relay.reopen()
    tag_after_failure = reg.digest(ENV, V)
    start = time.monotonic()
    code2, out2, err2 = run_cli(clone, [*argv, "--resume", "--json"])
    resumed = time.monotonic() - start
    print(f"\nfailed full release {full:.1f} s, resumed {resumed:.1f} s")
    return {"failed": (code, err), "resumed": (code2, out2, err2), "seconds": (full, resumed),
            "stopped_mid_push": stopped_mid_push, "tag_after_failure": tag_after_failure,
            "dir_after_failure": dir_after_failure}


def test_a_failure_after_agreement_keeps_the_builds_and_resume_publishes(
        day: dict, released: dict, engine: Engine) -> None:
    code, err = released["failed"]
    assert released["stopped_mid_push"], "the registry was not stopped mid-push"
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: docker push {day['relay'].address}/{ENV}:{V} failed"), last
    assert f"invoke release --version {V} --resume" in last and "nothing was published" in last
    assert released["tag_after_failure"] is None, "the failed push published the tag"
    assert not released["dir_after_failure"], "a release dir after a failed push"
    code2, out2, err2 = released["resumed"]
    assert code2 == 0, err2
    assert "build 1 of 2" not in err2 and "re-check the two builds" in err2
    # the SBOM, statement and named archive made before the push failed are taken, not redone
    assert "kept by the failed run, re-checked" in err2 and "→ SBOM and sums" not in err2
    result = json.loads(out2)
    digest = day["reg"].digest(ENV, V)
    assert digest and result["pushed"]["digest"] == digest
    rel = day["clone"] / "release" / V
    prov = json.loads((rel / "provenance.json").read_text())
    assert digest in json.dumps(prov)
    assert (rel / "SHA256SUMS.asc").is_file()
    assert not (day["clone"] / "output" / "release" / V).exists(), "work dir left behind"
    assert containers(engine) == []


def test_released_image_runs_under_its_documented_name(day: dict, released: dict,
                                                       engine: Engine) -> None:
    proc = subprocess.run(["docker", "run", "--rm", "--network=none", f"{ENV}:{V}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr  # no --entry-point: environment.toml's bin/hello
    assert proc.stdout.strip() == "Hello from an offline Guix pack"
    # the archive itself carries the name: `docker load -i` gives ENV:V (issue 15 item 7)
    archive = next((day["clone"] / "release" / V).glob(f"{ENV}-{V}.tar.*"))
    load = subprocess.run(["docker", "load", "-i", str(archive)], capture_output=True, text=True)
    assert load.stdout.strip().splitlines() == [f"Loaded image: {ENV}:{V}"], load.stderr
    assert engine.image(f"{ENV}:{V}").id == image_digests(archive).image_id


def test_no_tag_is_lost_when_the_release_is_imported_again(day: dict, released: dict,
                                                           engine: Engine) -> None:
    image_id = engine.image(f"{ENV}:{V}").id
    engine.tag(image_id, "fwenv-test-cli-user:keep")
    archive = next((day["clone"] / "release" / V).glob(f"{ENV}-{V}.tar.*"))
    code, _, err = run_cli(day["clone"], ["env.import", "--pack", str(archive), "--tag",
                                          f"{V}-again", "--force"])
    assert code == 0, err
    try:
        for ref in (f"{ENV}:{V}", f"{ENV}:{V}-again", "fwenv-test-cli-user:keep",
                    f"{day['relay'].address}/{ENV}:{V}"):
            img = engine.image(ref)
            assert img is not None and img.id == image_id, f"{ref} lost"
    finally:
        engine.untag(f"{ENV}:{V}-again")


def test_attest_and_verify_as_documented(day: dict, released: dict) -> None:
    code, _, err = run_cli(day["clone"], day["commands"][1])
    assert code == 0, err
    assert not (day["clone"] / "output" / "attest" / V / "bob").exists(), "work dir left"
    code, out, err = run_cli(day["clone"], day["commands"][2])
    assert code == 0, out + err
    assert any(ln.startswith("verified: alice") for ln in out.splitlines()), out
    assert any(ln.startswith("verified: bob") for ln in out.splitlines()), out


def test_verify_rebuild_and_published_image(day: dict, released: dict, engine: Engine) -> None:
    """verify --rebuild --image: the rebuild (with --smoke, as release and attest take it) and
    the image pulled by digest match; the pulled reference and the work dir are gone after."""
    pinned = json.loads(released["resumed"][1])["pushed"]["pinned"]
    for ref in (pinned, f"{day['relay'].address}/{ENV}:{V}"):  # so that verify really pulls
        engine.untag(ref)
    assert engine.image(pinned) is None
    pack = day["commands"][1][day["commands"][1].index("--manifest"):]  # attest's pack options
    code, out, err = run_cli(day["clone"], ["release.verify", "--version", V, "--sigs",
                                            str(day["sigs"]), "--rebuild", "--image", pinned,
                                            "--smoke", "qemu-i440fx", *pack])
    assert code == 0, out + err
    assert any(ln.startswith("verified: local rebuild") for ln in out.splitlines()), out
    assert any(ln.startswith("verified: image") for ln in out.splitlines()), out
    assert "firmware smoke builds in" in err, "the rebuild skipped the smoke step"
    assert engine.image(pinned) is None, "the image verify pulled is still there"
    assert engine.image(f"{ENV}:{V}") is not None, "verify removed the released tag"
    assert not (day["clone"] / "output" / "verify" / V).exists(), "work dir left behind"
    assert containers(engine) == []


def test_verify_keep_image_keeps_the_pulled_image(day: dict, released: dict,
                                                  engine: Engine) -> None:
    """--keep-image (library level: the pull and the comparison, no rebuild)."""
    from fwenv.plan import Runner
    from fwenv.release.artifacts import Artifacts
    from fwenv.release.check import check_published_image

    pinned = json.loads(released["resumed"][1])["pushed"]["pinned"]
    image_id = engine.image(f"{ENV}:{V}").id
    rebuilt = Artifacts(Path("."), "", {}, None, image_id, [], {})
    try:
        for keep in (True, False):
            engine.untag(pinned)
            check = check_published_image(Runner(), engine, pinned, rebuilt, keep=keep)
            assert check["status"] == "verified", check
            assert (engine.image(pinned) is not None) is keep
    finally:
        engine.untag(pinned)


def test_a_tag_the_registry_holds_is_refused(day: dict, released: dict) -> None:
    """Another clone (or a deleted release/ directory) must not overwrite what is published."""
    shutil.rmtree(day["clone"] / "release" / V)
    digest = day["reg"].digest(ENV, V)
    code, _, err = run_cli(day["clone"], [*day["commands"][0], "--push", day["reg"].address])
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"error: {day['reg'].address}/{ENV}:{V} is already published as {digest}: "
        "pick a new --version (a published tag is never overwritten)")
    assert day["reg"].digest(ENV, V) == digest
    assert not (day["clone"] / "output" / "release" / V).exists()


def test_push_with_a_scheme_names_the_fix(day: dict) -> None:
    code, _, err = run_cli(day["clone"], [*day["commands"][0], "--push",
                                          f"http://{day['reg'].address}/"])
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"error: --push http://{day['reg'].address}/: drop the scheme (http://) and give "
        f"host[:port][/path], e.g. --push {day['reg'].address}")


def test_a_passphrase_key_stops_the_release_before_any_build(day: dict,
                                                             tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    params = ("Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: dave\n"
              "Name-Email: dave@example.invalid\nExpire-Date: 0\nPassphrase: secret\n%commit\n")
    env = {"GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--gen-key"], input=params,
                   text=True, check=True, capture_output=True, env={**os.environ, **env})
    argv = [a if a != day["values"]["KEY"] else "dave@example.invalid"
            for a in day["commands"][0]]
    argv[argv.index("--version") + 1] = f"{V}-pp"
    try:
        code, _, err = run_cli(day["clone"], argv, env={**env, "GPG_TTY": ""}, timeout=120)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, **env},
                       check=False)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: a test signature with gpg key dave@example.invalid failed")
    assert "passphrase" in last and "pinentry" in last
    assert "build 1 of 2" not in err
    assert not (day["clone"] / "output" / "release" / f"{V}-pp").exists()


@pytest.mark.parametrize("sig,code,said", [(signal.SIGINT, 130, "interrupted: "),
                                           (signal.SIGTERM, 143, "terminated: ")])
def test_a_cancel_during_the_second_build_cleans_up(day: dict, released: dict, engine: Engine,
                                                    sig: int, code: int, said: str) -> None:
    """^C and a CI cancel (SIGTERM) during build 2: exit 130/143, the last line says nothing
    was published, no container, no temp, no release dir, no tag, nothing in the registry."""
    version = f"{V}-{signal.Signals(sig).name.lower()}"
    argv = list(day["commands"][0])
    argv[argv.index("--version") + 1] = version
    got, _, err = run_cli(day["clone"], [*argv, "--push", day["relay"].address],
                          on_line=("build 2 of 2", sig))
    assert got == code, err
    last = err.strip().splitlines()[-1]
    assert last == f"{said}release {version} stopped before both builds agreed; nothing was " \
                   "published", last
    assert containers(engine) == [], "a builder container outlived the cancel"
    out = day["clone"] / "output"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "temps left behind"
    assert not (day["clone"] / "release" / version).exists()
    assert engine.image(f"{ENV}:{version}") is None
    assert day["reg"].digest(ENV, version) is None
