"""guix.base against the real engine: the builder image, its Guix, its daemon, its bytes."""

from __future__ import annotations

import subprocess

import pytest

from fwenv.engine import ContainerSpec
from fwenv.guix.builder import build_builder
from fwenv.guix.daemon import DAEMON_MODES, daemon_spec, guix_session
from fwenv.plan import Runner

from ..conftest import config_with_output, unique

pytestmark = pytest.mark.integration


def test_guix_version_runs_in_builder(engine, builder_image):
    code, out = engine.run(ContainerSpec(builder_image, ["guix", "--version"]))
    assert code == 0, out
    assert out.startswith("guix (GNU Guix) ")
    version = out.split()[3]
    assert builder_image.endswith(":" + version)


def test_guix_in_the_builder_trusts_the_system_certificates(engine, builder_image):
    """Guix only recommends ca-certificates. Without them no HTTPS peer verifies:
    time-machine's clone of Guix (guile-git) and the substitute servers (guile-gnutls) fail
    on a networked user's first pack. Asked of Guix's own lookup of the system certificates,
    and of the directory its downloads load CAs from."""
    probe = ("(use-modules (guix git)) "
             "(exit (if (honor-system-x509-certificates!) 0 1))")
    code, out = engine.run(ContainerSpec(builder_image, ["guile", "-c", probe]))
    assert code == 0, f"guix finds no system certificates: {out}"
    code, out = engine.run(ContainerSpec(builder_image, [
        "sh", "-c", "ls /etc/ssl/certs | grep -c '[.]pem$'"]))
    assert code == 0 and int(out.strip()) > 100, out


def test_image_records_its_inputs_and_tarball(engine, builder_build):
    img = engine.image(builder_build.image)
    labels = img.labels
    assert labels["org.fwenv.inputs"] == builder_build.inputs
    assert labels["org.fwenv.recipe"] == "debian"
    assert img.attrs["RootFS"]["Layers"] == [f"sha256:{labels['org.fwenv.tar-sha256']}"]


def test_an_image_derived_from_the_builder_is_never_taken_for_it(engine, builder_build, tmp_path):
    """A container committed from the builder (examples/ci/run-commit.sh does it) inherits its
    labels, inputs digest included; guix.base must still find the image it built, not that one
    (the committed one is newer, so the engine lists it first)."""
    box = unique("fwenv-test-derive")
    derived = f"{builder_build.image.split(':')[0]}:{unique('fwenv-test-derived')}"
    subprocess.run(["docker", "run", "--name", box, "--network=none", builder_build.image,
                    "touch", "/planted"], check=True, capture_output=True)
    try:
        subprocess.run(["docker", "commit", box, derived], check=True, capture_output=True)
        again = build_builder(config_with_output(tmp_path), Runner(), engine)
        assert again.skipped and again.image_id == engine.image(builder_build.image).id
    finally:
        subprocess.run(["docker", "rm", "-f", box], capture_output=True)
        subprocess.run(["docker", "rmi", derived], capture_output=True)


@pytest.mark.parametrize("mode", sorted(DAEMON_MODES))
def test_daemon_starts_and_computes_a_derivation(engine, builder_image, mode):
    runner = Runner()
    with guix_session(engine, runner, daemon_spec(builder_image, mode)) as guix:
        _, out = guix.exec(["guix", "build", "-d", "hello"])
    drv = out.strip().splitlines()[-1]
    assert drv.startswith("/gnu/store/") and drv.endswith("-hello-2.12.2.drv"), out


def test_two_builds_give_the_same_tarball(engine, builder_build, tmp_path):
    """Bit-for-bit: a second build from scratch has the tar sha256 of the first.

    Fails if any cleanup step of rootfs.CLEANUP is dropped (logs, caches, machine-id, shadow
    dates differ between runs), or if the tar is not sorted/clamped.
    """
    runs = [] if not builder_build.skipped else [tmp_path / "first"]
    runs.append(tmp_path / "second")
    shas = [] if builder_build.skipped else [builder_build.tar_sha256]
    for out in runs:
        result = build_builder(config_with_output(out), Runner(), engine, force=True)
        shas.append(result.tar_sha256)
        assert (out / f"{result.tar.rsplit('/', 1)[-1]}.sha256").read_text().split()[0] == result.tar_sha256
        for tar in out.glob("*.tar"):
            tar.unlink()
    assert shas[0] == shas[1]


def test_guix_shell_is_interactive_with_the_daemon_up(builder_image):
    """`invoke guix.shell` on a pseudo-terminal (script(1)): the daemon answers in the shell."""
    import subprocess
    import sys

    from ..conftest import ROOT

    typed = "sleep 2; guix build -d hello; exit\n"
    proc = subprocess.run(  # noqa: S603
        ["script", "-qec", f"{sys.executable} -m invoke guix.shell --image {builder_image}",
         "/dev/null"], input=typed, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-hello-2.12.2.drv" in proc.stdout
