"""Archive comparison decides "reproducible": equal means equal bytes, never equal size."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fwenv.release.verify import compare_archives


def _tar(path: Path, members: dict[str, bytes], mtime: int = 0) -> Path:
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            tf.addfile(info, io.BytesIO(data))
    return path


def test_same_size_different_content_differs(tmp_path: Path) -> None:
    a = _tar(tmp_path / "a.tar", {"bin/sh": b"AAAA", "etc/x": b"same"})
    b = _tar(tmp_path / "b.tar", {"bin/sh": b"AAAB", "etc/x": b"same"})
    assert a.stat().st_size == b.stat().st_size
    assert compare_archives(a, b) == ["bin/sh: content differs"]


def test_identical_archives_are_equal(tmp_path: Path) -> None:
    a = _tar(tmp_path / "a.tar", {"f": b"1"})
    b = _tar(tmp_path / "b.tar", {"f": b"1"})
    assert compare_archives(a, b) == []


def test_members_only_on_one_side_are_named(tmp_path: Path) -> None:
    a = _tar(tmp_path / "a.tar", {"f": b"1", "g": b"2"})
    b = _tar(tmp_path / "b.tar", {"f": b"1", "h": b"2"})
    assert compare_archives(a, b) == ["g: only in the first build", "h: only in the second build"]


def test_mtime_only_difference_is_reported(tmp_path: Path) -> None:
    a = _tar(tmp_path / "a.tar", {"f": b"1"}, mtime=0)
    b = _tar(tmp_path / "b.tar", {"f": b"1"}, mtime=1)
    assert compare_archives(a, b) == ["f: mtime 0 vs 1"]


def test_same_members_other_compression_is_named_as_such(tmp_path: Path) -> None:
    raw = _tar(tmp_path / "a.tar", {"f": b"1"}).read_bytes()
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    (tmp_path / "b.tar.gz").write_bytes(gzip.compress(raw, compresslevel=9, mtime=5))
    lines = compare_archives(tmp_path / "a.tar.gz", tmp_path / "b.tar.gz")
    assert lines == ["archives differ only in compression or tar padding (members identical)"]


def test_a_differing_layer_names_the_file_inside(tmp_path: Path) -> None:
    layer_a = _tar(tmp_path / "la.tar", {"gnu/store/x/bin/gcc": b"one"}).read_bytes()
    layer_b = _tar(tmp_path / "lb.tar", {"gnu/store/x/bin/gcc": b"two"}).read_bytes()
    manifest = b'[{"Config": "c.json", "Layers": ["l/layer.tar"]}]'
    a = _tar(tmp_path / "a.tar", {"manifest.json": manifest, "l/layer.tar": layer_a})
    b = _tar(tmp_path / "b.tar", {"manifest.json": manifest, "l/layer.tar": layer_b})
    assert compare_archives(a, b) == ["l/layer.tar: content differs",
                                      "layer l/layer.tar: gnu/store/x/bin/gcc: content differs"]


_members = st.dictionaries(st.text("abcdefgh/", min_size=1, max_size=8).filter(
    lambda s: not s.startswith("/") and not s.endswith("/") and "//" not in s),
    st.binary(min_size=1, max_size=32), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=_members, data=st.data())
def test_property_one_flipped_byte_is_found_at_its_member(tmp_path_factory, members, data) -> None:
    d = tmp_path_factory.mktemp("cmp")
    name = data.draw(st.sampled_from(sorted(members)))
    pos = data.draw(st.integers(0, len(members[name]) - 1))
    changed = bytearray(members[name])
    changed[pos] ^= 0x01
    a = _tar(d / "a.tar", members)
    b = _tar(d / "b.tar", {**members, name: bytes(changed)})
    assert a.stat().st_size == b.stat().st_size
    assert compare_archives(a, b) == [f"{name}: content differs"]
    assert compare_archives(a, _tar(d / "c.tar", members)) == []
