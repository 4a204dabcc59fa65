"""Provenance records no host path, wherever the inputs live."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from fwenv.guix.options import PackOptions
from fwenv.guix.provenance import parse_channels, provenance_path, validate_provenance
from fwenv.guix.record import Packed, pack_record
from fwenv.guix.record import pack_inputs as _inputs
from fwenv.guix.rootfs import _display

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHANNELS = f'(list (channel (name \'guix) (url "https://git.example/guix.git") (commit "{COMMIT}")))\n'
CONTAINER_PREFIXES = ("/fwenv/", "/gnu/store/", "/bin=", "/usr/bin/env=")


def _strings(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


def _inputs_in(d: Path) -> PackOptions:
    (d / "load").mkdir(parents=True)
    (d / "load" / "pkg.scm").write_text("(define-module (pkg))\n")
    (d / "manifest.scm").write_text('(specifications->manifest (list "hello"))\n')
    (d / "channels.scm").write_text(CHANNELS)
    return PackOptions(manifest=d / "manifest.scm", channels=d / "channels.scm",
                       load_path=(d / "load",), recipe="debian")


def _record(root: Path, opts: PackOptions) -> dict:
    opts = replace(opts, root=root.resolve(), output_dir=root.resolve() / "output")
    inputs = _inputs(opts, "sha256:" + "1" * 64)
    channels = parse_channels(Path(opts.channels), "channels.scm")
    return pack_record(opts, "guix-pack-builder:1.5.0", inputs, channels,
                       Packed("coreboot-build-env-docker.tar.gz", "2" * 64, 123, "1.5.0",
                              "/gnu/store/" + "a" * 32 + "-pack.drv",
                              "/gnu/store/" + "b" * 32 + "-pack.tar.gz"))


def test_inputs_outside_the_project_record_no_host_path(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere" / "deep"
    project.mkdir()
    record = _record(project, _inputs_in(elsewhere))
    validate_provenance(record)
    text = json.dumps(record)
    for host in (str(tmp_path), str(elsewhere), "elsewhere", str(project)):
        assert host not in text, f"{host} leaked into the provenance"
    absolute = [s for s in _strings(record) if s.startswith("/") and not s.startswith(CONTAINER_PREFIXES)]
    assert absolute == []
    assert record["manifest"]["file"] == "manifest.scm"
    assert record["guix"]["channels_file"] == "channels.scm"
    assert record["load_path"][0]["dir"] == "load"
    assert record["guix"]["channels"] == [{"name": "guix", "url": "https://git.example/guix.git",
                                           "commit": COMMIT}]


def test_inputs_inside_the_project_are_recorded_relative(tmp_path: Path) -> None:
    record = _record(tmp_path, _inputs_in(tmp_path / "guix"))
    assert record["manifest"]["file"] == "guix/manifest.scm"
    assert record["guix"]["channels_file"] == "guix/channels.scm"
    assert record["load_path"][0]["dir"] == "guix/load"
    assert str(tmp_path) not in json.dumps(record)


def test_record_changes_with_each_input(tmp_path: Path) -> None:
    opts = _inputs_in(tmp_path / "in")
    first = _record(tmp_path, opts)
    (tmp_path / "in" / "load" / "pkg.scm").write_text("(define-module (pkg) #:export (x))\n")
    second = _record(tmp_path, opts)
    assert first["inputs_digest"] != second["inputs_digest"]
    assert first["load_path"][0]["sha256"] != second["load_path"][0]["sha256"]
    assert first["manifest"] == second["manifest"]


def test_image_label_path_is_never_host_absolute(tmp_path: Path) -> None:
    assert _display(tmp_path / "output" / "b.tar", tmp_path) == "output/b.tar"
    assert _display(Path("/srv/elsewhere/b.tar"), tmp_path) == "b.tar"


@pytest.mark.parametrize("text,match", [
    ('(channel (commit "abc"))', "not 40 lowercase hex"),
    (f'(channel (commit "{COMMIT.upper()}"))', "not 40 lowercase hex"),
    (f'(channel (commit "{COMMIT}\n"))', "not 40 lowercase hex"),
    ("(list)", "no \\(commit"),
])
def test_channels_pin_must_be_a_full_commit(tmp_path: Path, text: str, match: str) -> None:
    from fwenv.errors import FwenvError

    (tmp_path / "c.scm").write_text(text)
    with pytest.raises(FwenvError, match=match):
        parse_channels(tmp_path / "c.scm", "c.scm")


def test_channels_defaults_and_line_numbers(tmp_path: Path) -> None:
    from fwenv.errors import FwenvError

    (tmp_path / "c.scm").write_text(f'(list (channel (commit "{COMMIT}")))\n')
    assert parse_channels(tmp_path / "c.scm", "c.scm") == [
        {"name": "guix", "url": "https://codeberg.org/guix/guix.git", "commit": COMMIT}]
    (tmp_path / "c.scm").write_text(f'(list\n (channel (commit "{COMMIT}"))\n (channel (commit "x")))\n')
    with pytest.raises(FwenvError, match=r"^c\.scm:3: "):
        parse_channels(tmp_path / "c.scm", "c.scm")


@pytest.mark.parametrize("name,expected", [
    ("p.tar.gz", "p.provenance.json"), ("p.tar.xz", "p.provenance.json"),
    ("p.tar.zst", "p.provenance.json"), ("p.tar", "p.provenance.json"),
    ("p.bin", "p.bin.provenance.json")])
def test_provenance_path(name: str, expected: str) -> None:
    assert provenance_path(Path("/o") / name) == Path("/o") / expected


def test_recorded_inputs_are_exactly_these(tmp_path: Path) -> None:
    from fwenv.fsutil import sha256_file
    from fwenv.guix.options import guix_argv
    from fwenv.guix.provenance import digest, tree_sha256

    opts = _inputs_in(tmp_path / "in")
    inputs = _inputs(opts, "sha256:" + "1" * 64)
    assert inputs == {"builder_content_digest": "sha256:" + "1" * 64,
                      "manifest": sha256_file(opts.manifest), "channels": sha256_file(opts.channels),
                      "load_path": [tree_sha256(opts.load_path[0])], "argv": guix_argv(opts),
                      "recipe": "debian"}
    record = _record(tmp_path, opts)
    assert record["inputs_digest"] == digest(inputs)
    assert record["builder"] == {"image": "guix-pack-builder:1.5.0", "content_digest": "sha256:" + "1" * 64,
                                 "recipe": "debian"}
    assert "manifest" not in record["options"] and "force" not in record["options"]
    assert record["options"]["symlinks"] == list(opts.symlinks)


def test_no_channels_file_is_recorded_as_none(tmp_path: Path) -> None:
    opts = replace(_inputs_in(tmp_path / "in"), channels=None, time_machine=False,
                   root=tmp_path)
    inputs = _inputs(opts, "sha256:" + "1" * 64)
    assert inputs["channels"] is None
    rec = pack_record(opts, "b:1", inputs, [],
                      Packed("p.tar.gz", "2" * 64, 1, "1.5.0", "d.drv", "/gnu/store/x"))
    assert rec["guix"]["channels_file"] is None and rec["guix"]["channels_sha256"] is None
    (tmp_path / "in" / "channels.scm").unlink()
    assert _inputs(replace(opts, channels=tmp_path / "in" / "channels.scm"), "x")["channels"] is None
