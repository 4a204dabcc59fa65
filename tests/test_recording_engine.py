"""The dry run's engine: Engine's interface, nothing runs, every change recorded as its docker
command (no engine needed: RecordingEngine never has a client)."""

from __future__ import annotations

import inspect
from pathlib import Path

from fwenv.engine import ContainerSpec, Engine, Mount
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine, engine_for


def _public(cls: type) -> dict[str, object]:
    return {n: f for n, f in vars(cls).items() if not n.startswith("_")
            and (callable(f) or isinstance(f, (staticmethod, classmethod, property)))}


def test_every_engine_method_is_recorded_not_run() -> None:
    """A method RecordingEngine did not override would reach for a Docker client."""
    skip = {"connect", "on_demand", "client", "podman"}  # constructors, the client, its kind
    missing = [n for n in _public(Engine) if n not in skip and n not in vars(RecordingEngine)]
    assert missing == []
    for name in vars(RecordingEngine):
        if name in vars(Engine) and name != "__init__" and callable(getattr(Engine, name)):
            assert (inspect.signature(getattr(Engine, name)).parameters.keys()
                    == inspect.signature(getattr(RecordingEngine, name)).parameters.keys()), name


def test_records_the_docker_commands() -> None:
    lines: list[str] = []
    e = RecordingEngine(lines.append)
    spec = ContainerSpec(image="img:1", command=["sh", "-c", "echo hi"],
                         mounts=[Mount("/a b", "/in", read_only=True)])
    assert e.run(spec) == (0, "")
    e.create(spec, name="c1")
    e.exec("c1", ["guix", "--version"], env={}, workdir="/w")
    e.tag("sha256:" + "0" * 64, "reg:5000/x:1")
    assert e.push("reg:5000/x", "1") == ""
    assert e.pull("reg:5000/x@sha256:" + "1" * 64) == ("", [])
    e.load_tar(Path("/o/p.tar.gz"))
    e.import_tar(Path("/o/r.tar"), ["ENV A=1"])
    e.ensure_volume("v", {"org.fwenv.role": "guix-store"})
    e.remove_volume("v")
    e.remove_image("x:1", force=False)
    e.remove_container("c1")
    assert lines == [
        "docker run --rm --network=none --init --mount "
        "'type=bind,source=/a b,target=/in,readonly' img:1 sh -c 'echo hi'",
        "docker run --name c1 -d --network=none --init --mount "
        "'type=bind,source=/a b,target=/in,readonly' img:1 sh -c 'echo hi'",
        "docker exec -w /w c1 guix --version",
        f"docker tag sha256:{'0' * 64} reg:5000/x:1",
        "docker push reg:5000/x:1",
        f"docker pull reg:5000/x@sha256:{'1' * 64}",
        "docker load -i /o/p.tar.gz",
        "docker import --change 'ENV A=1' /o/r.tar",
        "docker volume create --label=org.fwenv.role=guix-store v",
        "docker volume rm -f v",
        "docker rmi x:1",
        "docker rm -f -v c1",
    ]
    # lookups answer as an empty engine
    assert (e.image("x"), e.images_labelled("k", "v"), e.image_tags("x"), e.layers("x"),
            e.volume_exists("v"), e.volumes_labelled("k", "v")) == (None, [], [], [], False, [])


def test_engine_for_a_dry_run_records_and_a_real_run_connects_on_demand() -> None:
    dry = Runner(dry_run=True)
    assert isinstance(engine_for(dry), RecordingEngine)
    real = engine_for(Runner())
    assert type(real) is Engine and real._client is None  # nothing asked yet: not connected
