"""The team cache without an engine: the guix offload machines file fwenv writes from
[tool.fwenv.offload], the daemon's dry-run report parsed, the pack's network for a loopback
cache, bad cache.serve input."""

from __future__ import annotations

from pathlib import Path

import pytest

from fwenv.config import load_config
from fwenv.errors import FwenvError
from fwenv.guix.cache import ServeOptions, check_serve, machines_scm, write_machines
from fwenv.guix.options import PackOptions, check_options, pack_network
from fwenv.guix.substitutes import parse_plan
from fwenv.plan import Runner

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0x host"
OFFLOAD = f'''
[[tool.fwenv.offload.machines]]
name = "build1.example.org"
systems = ["x86_64-linux", "i686-linux"]
host_key = "{KEY}"
user = "guix-offload"
port = 2222
private_key = "/root/.ssh/offload"
parallel_builds = 4
speed = 2

[[tool.fwenv.offload.machines]]
name = "10.0.0.7"
host_key = "{KEY}"
user = "bob"
'''
EXPECTED = f''';; guix offload build machines; written by `invoke cache.machines` from
;; [tool.fwenv.offload] in pyproject.toml: edit that, not this file.
(list
  (build-machine
    (name "build1.example.org")
    (systems (list "x86_64-linux" "i686-linux"))
    (host-key "{KEY}")
    (user "guix-offload")
    (port 2222)
    (private-key "/root/.ssh/offload")
    (parallel-builds 4)
    (speed 2.0))
  (build-machine
    (name "10.0.0.7")
    (systems (list "x86_64-linux"))
    (host-key "{KEY}")
    (user "bob")))
'''


def _project(tmp_path: Path, offload: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.fwenv]\noutput_dir = "output"\n' + offload)
    return tmp_path


def _machines(tmp_path: Path, offload: str) -> object:
    return load_config(_project(tmp_path, offload)).section("offload").get("machines", [])


def test_machines_scm_generated_file(tmp_path: Path) -> None:
    dest = write_machines(_machines(tmp_path, OFFLOAD), tmp_path / "m" / "machines.scm",
                          Runner())
    assert dest.read_text() == EXPECTED
    assert machines_scm(_machines(tmp_path, OFFLOAD)) == EXPECTED


@pytest.mark.parametrize(("field", "value", "said"), [
    ("name", '"a\\" (system* \\"id\\")"', "is not a host name"),
    ("user", '"Bob Smith"', "is not a user name"),
    ("host_key", '"not a key"', "is not an SSH public host key"),
    ("systems", '["x86_64-linux\\")"]', "is not a list of Guix systems"),
    ("port", "0", "is not 1-65535"),
    ("private_key", '"relative/key"', "is not an absolute path"),
    ("parallel_builds", "0", "is not a whole number"),
    ("speed", "-1", "is not a positive number"),
])
def test_machines_scm_refuses(tmp_path: Path, field: str, value: str, said: str) -> None:
    lines = [ln for ln in OFFLOAD.splitlines() if not ln.startswith(f"{field} =")]
    lines.insert(3, f"{field} = {value}")
    machines = _machines(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(FwenvError, match=said) as e:
        machines_scm(machines)
    assert "fix pyproject.toml" in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "output").exists()


def test_machines_scm_none(tmp_path: Path) -> None:
    with pytest.raises(FwenvError, match=r"lists no machines"):
        machines_scm(_machines(tmp_path, ""))


def test_parse_plan_dry_run_report() -> None:
    text = """substitute: looking for substitutes on 'http://127.0.0.1:1'... 100.0%
The following derivations would be built:
  /gnu/store/fqrk977j127ca5h0x4izzfii8mr25ygn-fwenv-seed-env-0.drv
  /gnu/store/b0xriq68ggd45difc5rwv4vrd29brprf-hello-offline-0.drv
0.9 MB would be downloaded:
  /gnu/store/iwjgyf0nn72bfgr3a5gj50cjh19dhfhl-hello-offline-docker-pack.tar.xz
/gnu/store/iwjgyf0nn72bfgr3a5gj50cjh19dhfhl-unrelated
"""
    plan = parse_plan(text)
    assert [p.split("-", 1)[1] for p in plan.build] == ["fwenv-seed-env-0.drv",
                                                         "hello-offline-0.drv"]
    assert plan.download == ["/gnu/store/iwjgyf0nn72bfgr3a5gj50cjh19dhfhl-hello-offline-"
                             "docker-pack.tar.xz"]
    assert parse_plan("nothing to be done\n").summary() == {"would_build": [],
                                                            "would_download": []}


def test_pack_network_for_a_loopback_cache(tmp_path: Path) -> None:
    m = tmp_path / "m.scm"
    m.write_text("x")
    def opts(**kw: object) -> PackOptions:
        return PackOptions(manifest=m, time_machine=False, **kw)  # type: ignore[arg-type]
    assert pack_network(opts(substitutes=False)) == "none"
    assert pack_network(opts(substitute_urls=("http://127.0.0.1:8080",))) == "host"
    assert pack_network(opts(substitute_urls=("http://localhost:8080",
                                              "https://cache.example.org"))) == "bridge"
    assert pack_network(opts()) == "bridge"
    with pytest.raises(FwenvError, match="signing key .* not found: pass --authorize"):
        check_options(opts(authorize=tmp_path / "missing.pub"))


@pytest.mark.parametrize(("opts", "said"), [
    (ServeOptions("b", address="localhost; id"), "is not an IP address"),
    (ServeOptions("b", port=70000), "out of range"),
])
def test_serve_bad_input(opts: ServeOptions, said: str) -> None:
    with pytest.raises(FwenvError, match=said):
        check_serve(opts)


def test_the_pack_is_built_from_its_derivation_with_the_build_options_only(tmp_path) -> None:
    """`guix build DRV` after `guix pack -d`: the substitute, core and job settings and the
    --guix-option values that change how it builds go along; those that shape the
    derivation (--bootstrap, --no-grafts, --system) are already in DRV."""
    from pathlib import Path

    from fwenv.guix.options import PackOptions, build_argv

    opts = PackOptions(manifest=Path("m.scm"), substitute_urls=("http://127.0.0.1:8080",),
                       cores=2, jobs=1, guix_options=("--bootstrap", "--keep-failed",
                                                      "--rounds=2", "--no-grafts",
                                                      "--system=i686-linux", "-K"))
    assert build_argv(opts, "/gnu/store/x.drv") == [
        "guix", "build", "--substitute-urls=http://127.0.0.1:8080", "--cores=2", "--max-jobs=1",
        "--keep-failed", "--rounds=2", "-K", "/gnu/store/x.drv"]
    offline = PackOptions(manifest=Path("m.scm"), substitutes=False)
    assert build_argv(offline, "D") == ["guix", "build", "--no-substitutes", "D"]
