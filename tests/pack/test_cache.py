"""The team cache against the real engine and daemons, in the offline test environment
(tests/pack/offline): a pack built in store A is served by `invoke cache.serve` on loopback;
a pack in a fresh store B with --substitute-urls and --authorize has the same sha256 and built
nothing, by the daemon's own report (`guix build --dry-run` of the pack's derivation: nothing
would be built, the pack would be downloaded); without --authorize, a third store refuses the
server in one line. SIGTERM stops the server and removes its container.

Note on --bootstrap: the offline packages are built with `guix pack --bootstrap`; Guix
substitutes them like any other item (the bootstrap seed itself is a local-file, added to the
store from the manifest's directory, never downloaded), so the route works unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import _free_port, unique
from .conftest import MAIN, _docker, invoke_argv, offline_args, run_invoke

integration = pytest.mark.integration


def _wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/nix-cache-info", timeout=2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"cache.serve did not come up: {proc.communicate()}") \
                    from None
            time.sleep(0.5)


@integration
def test_cache_serve_substitutes_a_pack(offline_builder: str, project: Path) -> None:
    a, b, c = (unique(f"fwenv-test-cache-{x}") for x in "abc")
    args = offline_args(offline_builder, project)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = None
    try:
        cold = json.loads(run_invoke(project, "guix.pack", *args, "--store", a, "--json").stdout)
        env = {**os.environ, "PYTHONPATH": f"{MAIN / 'src'}:{MAIN}"}
        server = subprocess.Popen(
            invoke_argv("cache.serve", "--port", str(port), "--store", a, "--builder",
                        offline_builder), cwd=project, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for(url, server)
        key = project / "output" / "cache" / "signing-key.pub"
        assert key.read_text().startswith("(public-key")
        via = [x for x in args if x != "--no-substitutes"] + ["--substitute-urls", url,
                                                               "--force"]
        warm = json.loads(run_invoke(project, "guix.pack", *via, "--store", b, "--authorize",
                                     str(key), "--json").stdout)
        assert warm["sha256"] == cold["sha256"]
        assert warm["substitutes"]["would_build"] == []  # the daemon built nothing
        assert warm["substitutes"]["would_download"] == [cold["store_path"]]
        # the same server, its key not authorized: refused before anything is built
        refused = run_invoke(project, "guix.pack", *via, "--store", c, check=False)
        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr
        errors = [ln for ln in refused.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1  # one line: what is wrong and what to do
        assert f"substitute server {url} offers" in errors[0]
        assert "pass --authorize" in errors[0]
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            out, err = server.communicate(timeout=60)
            assert server.returncode == 143, err
            assert "terminated" in err
            # its container is gone: nothing holds store A any more
            assert _docker("ps", "-aq", "--filter", f"volume={a}").stdout.strip() == ""
        for v in (a, b, c):
            _docker("volume", "rm", "-f", v, v + "-var", check=False)
        _docker("volume", "rm", "-f", a + "-publish-key", check=False)


@integration
def test_machines_scm_read_by_guix_offload(builder_image: str, tmp_path: Path) -> None:
    """The machines.scm fwenv writes is what `guix offload` reads: loaded in the builder with
    Guix's own (guix scripts offload) module, its build-machine records carry our values."""
    from fwenv.config import load_config
    from fwenv.engine import ContainerSpec, Engine, Mount
    from fwenv.guix.cache import write_machines
    from fwenv.plan import Runner

    from ..unit.test_cache_units import OFFLOAD

    (tmp_path / "pyproject.toml").write_text('[tool.fwenv]\noutput_dir = "out"\n' + OFFLOAD)
    dest = write_machines(load_config(tmp_path).section("offload")["machines"],
                          tmp_path / "out" / "machines.scm", Runner())
    show = ('(use-modules (guix scripts offload)) (for-each (lambda (m) (format #t "~a ~a ~a ~s~%"'
            ' (build-machine-name m) (build-machine-user m) (build-machine-port m)'
            ' (build-machine-systems m))) (primitive-load "/m/machines.scm"))')
    code, out = Engine.connect().run(ContainerSpec(
        builder_image, ["guile", "--no-auto-compile", "-c", show],
        mounts=[Mount(str(dest.parent), "/m", read_only=True)]))
    assert code == 0, out
    assert out.splitlines()[-2:] == [
        'build1.example.org guix-offload 2222 ("x86_64-linux" "i686-linux")',
        '10.0.0.7 bob 22 ("x86_64-linux")']
