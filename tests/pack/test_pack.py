"""guix.pack → env.import → env.build against the real engine and a real guix-daemon.

The real pack is built offline from tests/pack/offline (a seed made of the builder image's
own binaries; see offline/README.md): real `guix pack` code, real daemon, real docker load.
NOT exercised here (no internet): guix time-machine, substitutes, packing the real
guix/manifest.scm (its derivation is computed, not built).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fwenv.config import load_config
from fwenv.env.importer import import_pack
from fwenv.errors import FwenvError
from fwenv.guix.pack import PackOptions, pack_derivation, preflight_network
from fwenv.guix.provenance import parse_channels, validate_provenance
from fwenv.plan import Runner

from .conftest import ENV_IMAGE, MAIN, _docker, offline_args, run_invoke

integration = pytest.mark.integration
GOOD = "0123456789abcdef0123456789abcdef01234567"


def _images(ref: str) -> str:
    return _docker("images", "-q", ref).stdout.strip()


def _no_temps(out: Path) -> None:
    assert not [p.name for p in out.glob(".*.tmp")], "partial files left in output/"


# -- channels: validated in Python as far as the pin goes -----------------------------------
def test_channels_commit_not_40_hex(tmp_path: Path) -> None:
    f = tmp_path / "channels.scm"
    f.write_text('(list (channel\n (name \'guix)\n (url "https://x.invalid/guix.git")\n'
                 ' (commit "abc123")))\n')
    with pytest.raises(FwenvError, match=r"channels.scm:4: commit 'abc123' is not 40"):
        parse_channels(f, "channels.scm")


def test_channels_recorded(tmp_path: Path) -> None:
    f = tmp_path / "channels.scm"
    f.write_text(f'(list (channel (name \'guix) (url "https://x.invalid/g.git") '
                 f'(commit "{GOOD}")))\n')
    assert parse_channels(f, "c") == [{"name": "guix", "url": "https://x.invalid/g.git",
                                       "commit": GOOD}]


def test_bootstrap_needs_xz(tmp_path: Path) -> None:
    """`guix pack --bootstrap` writes xz whatever -C says: a mismatched name is refused early."""
    from fwenv.guix.pack import check_options

    m = tmp_path / "m.scm"
    m.write_text("(specifications->manifest '(\"hello\"))\n")
    opts = PackOptions(manifest=m, time_machine=False, guix_options=("--bootstrap",))
    with pytest.raises(FwenvError, match="add --compressor=xz"):
        check_options(opts)
    check_options(PackOptions(manifest=m, time_machine=False, guix_options=("--bootstrap",),
                              compressor="xz"))


def test_substitutes_unreachable_fake_network_down(tmp_path: Path) -> None:
    """Substitute servers unreachable (really: this machine has no internet)."""
    m = tmp_path / "m.scm"
    m.write_text("(specifications->manifest '(\"hello\"))\n")
    opts = PackOptions(manifest=m, time_machine=False,
                       substitute_urls=("https://substitutes.invalid",))
    with pytest.raises(FwenvError, match="--no-substitutes") as e:
        preflight_network(opts, [])
    assert "\n" not in str(e.value)


# -- the real chain --------------------------------------------------------------------------
@integration
def test_env_build_tarball_format_docker_import(offline_builder: str, project: Path) -> None:
    """seed 000's way: a tarball pack, `docker import`ed; the layer digest is what is recorded
    and checked (the image ID of an import is not stable)."""
    args = [a for a in offline_args(offline_builder, project) if not a.startswith("--entry-point")]
    result = json.loads(run_invoke(project, "env.build", *args, "--format", "tarball",
                                   "--tag", "tarball", "--json").stdout)
    ref = f"{ENV_IMAGE}:tarball"
    try:
        assert result["image"]["format"] == "tarball"
        tarball = Path(result["pack"]["tarball"])
        assert tarball.name.endswith(".tar.xz")
        from fwenv.env.importer import tarball_layer_digest

        assert result["image"]["layers"] == [tarball_layer_digest(tarball)]
        run = _docker("run", "--rm", "--network=none", ref, "/bin/hello")
        assert run.stdout.strip() == "Hello from an offline Guix pack"
        again = json.loads(run_invoke(project, "env.build", *args, "--format", "tarball",
                                      "--tag", "tarball", "--json").stdout)
        assert again["pack"]["skipped"] and again["image"]["skipped"]
    finally:
        _docker("rmi", "-f", ref, check=False)


@integration
def test_env_build_real_offline_pack(offline_builder: str, project: Path) -> None:
    out = project / "output"
    args = offline_args(offline_builder, project)
    volumes_before = set(_store_volumes())
    first = json.loads(run_invoke(project, "env.build", *args, "--json").stdout)
    assert first["pack"]["skipped"] is False and first["image"]["skipped"] is False
    tarball = Path(first["pack"]["tarball"])
    ref = f"{ENV_IMAGE}:latest"
    try:
        run = _docker("run", "--rm", "--network=none", ref)
        assert run.stdout.strip() == "Hello from an offline Guix pack"
        # docker load keeps the config digest as image ID
        assert first["image"]["image_id"] == _docker("image", "inspect", "-f", "{{.Id}}",
                                                     ref).stdout.strip()
        # provenance: schema-valid, nothing host-specific
        prov = json.loads(Path(first["pack"]["provenance"]).read_text())
        validate_provenance(prov)
        text = json.dumps(prov)
        for host_bit in (str(project), str(MAIN), "/tmp/", "/root"):
            assert host_bit not in text
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), "a timestamp leaked"
        assert prov["tarball"]["sha256"] == first["pack"]["sha256"]
        # a firmware build in this image finds the pack's provenance by image id
        from fwenv.firmware.container import image_provenance
        from fwenv.firmware.workspace import Workspace

        linked = image_provenance(_engine().image(ref), Workspace.from_project(load_config(project)))
        assert linked["derivation"] == prov["derivation"]
        assert linked["provenance_file"]["file"] == Path(first["pack"]["provenance"]).name
        # a second env.build skips every step
        second = json.loads(run_invoke(project, "env.build", *args, "--json").stdout)
        assert second["builder"]["skipped"] and second["pack"]["skipped"]
        assert second["image"]["skipped"]
        # a fresh container with an ephemeral store gives the same bytes
        again = json.loads(run_invoke(project, "guix.pack", *args[:-1], "--entry-point=bin/hello",
                                      "--ephemeral", "--force", "--json").stdout)
        assert again["sha256"] == first["pack"]["sha256"]
        assert again["derivation"] == first["pack"]["derivation"]
        _no_temps(out)

        # a corrupted pack is refused at import: one line, nothing tagged
        bad = out / "broken.tar.xz"
        data = bytearray(tarball.read_bytes())
        data[len(data) // 2] ^= 0xFF
        bad.write_bytes(bytes(data))
        with pytest.raises(FwenvError, match="damaged|does not match") as e:
            import_pack(Runner(), _engine(), bad, f"{ENV_IMAGE}:broken", pack_format="docker")
        assert "\n" not in str(e.value)
        assert _images(f"{ENV_IMAGE}:broken") == ""
        truncated = out / "truncated.tar.xz"
        truncated.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 3])
        with pytest.raises(FwenvError, match="damaged"):
            import_pack(Runner(), _engine(), truncated, f"{ENV_IMAGE}:broken",
                        pack_format="docker")
        assert _images(f"{ENV_IMAGE}:broken") == ""
        # a tarball that no longer matches its provenance is refused
        tampered = bytearray(tarball.read_bytes())
        tampered[-1] ^= 0x01
        tarball.write_bytes(bytes(tampered))
        p = run_invoke(project, "env.import", "--pack", str(tarball), "--tag", "tampered",
                       check=False)
        assert p.returncode == 1 and "does not match its provenance" in p.stderr
        assert _images(f"{ENV_IMAGE}:tampered") == ""
    finally:
        # only what this test made: its own image name and output; store volumes it created
        # (never `env.clean --store`: that removes every store volume, a user's too)
        run_invoke(project, "env.clean", "--images", "--output", check=False)
        for v in set(_store_volumes()) - volumes_before:
            _docker("volume", "rm", v, check=False)
    assert not list(out.glob("*.provenance.json"))
    assert _images(f"{ENV_IMAGE}:latest") == ""


def _store_volumes() -> list[str]:
    return _docker("volume", "ls", "-q", "-f", "label=org.fwenv.role=guix-store").stdout.split()


def _engine():  # type: ignore[no-untyped-def]
    from fwenv.engine import Engine

    return Engine.connect()


@integration
def test_real_manifest_derivation_same_in_two_containers(offline_builder: str) -> None:
    """guix pack -d over the real manifest in two fresh containers."""
    opts = PackOptions(manifest=MAIN / "guix" / "manifest.scm", time_machine=False,
                       substitutes=False, load_path=(MAIN / "guix" / "modules",), root=MAIN)
    engine = _engine()
    a = pack_derivation(Runner(), engine, offline_builder, opts)
    b = pack_derivation(Runner(), engine, offline_builder, opts)
    assert a and a.endswith(".drv") and a == b


@integration
def test_dry_run_prints_commands_and_derivation(offline_builder: str, project: Path) -> None:
    p = run_invoke(project, "guix.pack", *offline_args(offline_builder, project), "--dry-run")
    assert "guix pack -f docker" in p.stdout and "--bootstrap" in p.stdout
    drv = [ln for ln in p.stdout.splitlines() if ln.startswith("derivation: /gnu/store/")]
    assert len(drv) == 1 and drv[0].endswith(".drv")
    assert not (project / "output").exists() or not list((project / "output").iterdir())


@integration
def test_manifest_unknown_package(offline_builder: str, project: Path) -> None:
    m = project / "bad.scm"
    m.write_text("(specifications->manifest '(\"no-such-package-fwenv\"))\n")
    p = run_invoke(project, "guix.pack", "--builder", offline_builder, "--manifest", str(m),
                   "--no-time-machine", "--no-substitutes", check=False)
    assert p.returncode == 1
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "no-such-package-fwenv" in err[0] and "bad.scm" in err[0]
    # located by guix.errors: the manifest's line, and the fix
    assert ':1: unknown package "no-such-package-fwenv" — check the name' in err[0], err
    assert not list((project / "output").glob("*.tar*"))


@integration
def test_malformed_channels(offline_builder: str, project: Path) -> None:
    ch = project / "channels.scm"
    ch.write_text(f'(list (channel\n  (name \'guix)\n  (url "https://x.invalid/g.git")\n'
                  f'  (commit "{GOOD}"))\n')  # one ')' missing
    p = run_invoke(project, "guix.pack", *offline_args(offline_builder, project),
                   "--channels", str(ch), check=False)
    assert p.returncode == 1
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "channels.scm" in err[0] and "malformed" in err[0], err
    assert not list((project / "output").glob("*.tar*"))


def _builders_of(project: Path) -> list[str]:
    """Builder containers whose mounts come from this test's project dir (not other tests')."""
    ids = _docker("ps", "-aq", "--filter", "label=org.fwenv.role=guix-daemon").stdout.split()
    mine = []
    for cid in ids:
        mounts = _docker("inspect", "-f", "{{range .Mounts}}{{.Source}} {{end}}", cid,
                         check=False).stdout
        if str(project) in mounts:
            mine.append(cid)
    return mine


@integration
def test_ctrl_c_during_pack(offline_builder: str, project: Path) -> None:
    from .conftest import MAIN as main
    from .conftest import invoke_argv

    env = {**os.environ, "PYTHONPATH": f"{main / 'src'}:{main}"}
    proc = subprocess.Popen(invoke_argv("guix.pack", *offline_args(offline_builder, project),
                                        "--ephemeral"), cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _builders_of(project):  # wait until the builder container runs
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the builder container never started")
        time.sleep(0.3)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert _builders_of(project) == [], "the builder container was left behind"
    out = project / "output"
    left = [p.name for p in out.iterdir() if p.name != ".fwenv.lock"] if out.exists() else []
    assert left == [], left


@integration
def test_two_env_builds_at_once(offline_builder: str, project: Path) -> None:
    from fwenv.fsutil import output_lock

    with output_lock(project / "output"):  # a first env.build holds the lock
        p = run_invoke(project, "env.build", *offline_args(offline_builder, project),
                       check=False)
    assert p.returncode == 1 and "another fwenv run holds" in p.stderr
