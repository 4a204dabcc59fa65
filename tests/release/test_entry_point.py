"""A released image's entry point must exist in it: checked in the archive after build 1.

The archives are docker archives written here in Guix's shape (a profile whose bin/ is a
symlink into a package's store item); no engine is needed."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.release.reproduce import check_entry_point

PROFILE = "/gnu/store/aaaa-profile"


def _archive(path: Path, entry: str) -> Path:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for d in ("gnu", "gnu/store", "gnu/store/aaaa-profile", "gnu/store/bbbb-hello",
                  "gnu/store/bbbb-hello/bin"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tf.addfile(info)
        link = tarfile.TarInfo("gnu/store/aaaa-profile/bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/gnu/store/bbbb-hello/bin"
        tf.addfile(link)
        body = b"#!/bin/sh\necho hello\n"
        info = tarfile.TarInfo("gnu/store/bbbb-hello/bin/hello")
        info.size = len(body)
        tf.addfile(info, io.BytesIO(body))
    config = json.dumps({"config": {"Entrypoint": [f"{PROFILE}/{entry}"]}}).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in (("layer.tar", layer.getvalue()), ("config.json", config),
                           ("manifest.json", b"[]")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def test_an_entry_point_behind_the_profile_symlink_passes(tmp_path: Path) -> None:
    check_entry_point(_archive(tmp_path / "ok.tar.gz", "bin/hello"))


def test_a_missing_entry_point_is_one_line_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(FwenvError) as e:
        check_entry_point(_archive(tmp_path / "bad.tar.gz", "bin/bash"))
    assert str(e.value) == (
        "the image's entry point bin/bash is not in the profile, so `docker run` would fail: "
        "pass --entry-point with a program the manifest provides (e.g. --entry-point=bin/hello); "
        "nothing was released")


def test_the_entry_point_comes_from_the_environment_beside_the_manifest() -> None:
    """The offline test environment's own environment.toml names bin/hello (its profile has no
    bin/bash), so a release of it runs without --entry-point; the real one keeps bin/bash."""
    from fwenv.config import load_config
    from fwenv.guix.options import PackOptions

    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root)
    offline = PackOptions.from_project(cfg, manifest=root / "tests/pack/offline/manifest.scm")
    assert offline.entry_point == "bin/hello"
    assert PackOptions.from_project(cfg).entry_point == "bin/bash"
    given = PackOptions.from_project(cfg, manifest=root / "tests/pack/offline/manifest.scm",
                                     entry_point="bin/sh")
    assert given.entry_point == "bin/sh"
