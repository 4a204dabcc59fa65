"""compare_archives and friends on archives shaped like guix packs: './'-prefixed members,
layers renamed by their hash, links, modes, owners; store items and image digests offline."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.release.verify import compare_archives, image_digests, store_items


def _info(name: str, *, kind: bytes = tarfile.REGTYPE, data: bytes = b"", mode: int = 0o644,
          uid: int = 0, link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, uid, link
    info.size = len(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    return info, data


def _tar(members: list[tuple[tarfile.TarInfo, bytes]], path: Path | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    if path is not None:
        path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _image(path: Path, layer: bytes, layer_dir: str, config: dict | None = None) -> Path:
    cfg = json.dumps(config if config is not None else
                     {"rootfs": {"diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "Layers": [f"./{layer_dir}/layer.tar"],
                            "RepoTags": ["env:1"]}]).encode()
    _tar([_info("./manifest.json", data=manifest), _info("./config.json", data=cfg),
          _info(f"./{layer_dir}", kind=tarfile.DIRTYPE, mode=0o755),
          _info(f"./{layer_dir}/layer.tar", data=layer)], path)
    return path


STORE = "gnu/store/" + "a" * 32 + "-hello-2.12"


def _layer(**over) -> bytes:
    members = {
        "gnu": _info("gnu", kind=tarfile.DIRTYPE, mode=0o755),
        "bin": _info(f"{STORE}/bin/hello", data=b"hello", mode=0o555),
        "link": _info("bin", kind=tarfile.SYMTYPE, link=f"/{STORE}/bin"),
        "hard": _info(f"{STORE}/bin/hi", kind=tarfile.LNKTYPE, link=f"{STORE}/bin/hello"),
    }
    members.update(over)
    return _tar(list(members.values()))


def test_renamed_layers_are_paired_by_manifest_position(tmp_path: Path) -> None:
    a = _image(tmp_path / "a.tar", _layer(), "1111")
    b = _image(tmp_path / "b.tar", _layer(bin=_info(f"{STORE}/bin/hello", data=b"HELLO", mode=0o555)), "2222")
    lines = compare_archives(a, b)
    assert f"layer 1111/layer.tar vs 2222/layer.tar: {STORE}/bin/hello: content differs" in lines
    assert "1111: only in the first build" in lines and "2222: only in the second build" in lines


@pytest.mark.parametrize("change,expected", [
    ({"bin": _info(f"{STORE}/bin/hello", data=b"hello", mode=0o755)},
     f"{STORE}/bin/hello: mode 0o555 vs 0o755"),
    ({"bin": _info(f"{STORE}/bin/hello", data=b"hello", mode=0o555, uid=1000)},
     f"{STORE}/bin/hello: owner 0:0 vs 1000:1000"),
    ({"link": _info("bin", kind=tarfile.SYMTYPE, link="/elsewhere")},
     f"bin: link /{STORE}/bin vs /elsewhere"),
    ({"link": _info("bin", kind=tarfile.DIRTYPE, mode=0o644)},
     f"bin: kind symlink vs dir, link /{STORE}/bin vs "),
    ({"hard": _info(f"{STORE}/bin/hi", data=b"hello")},
     f"{STORE}/bin/hi: kind hardlink vs file, link {STORE}/bin/hello vs , size 0 vs 5, content differs"),
    ({"gnu": _info("gnu", kind=tarfile.FIFOTYPE)}, "gnu: kind dir vs other, mode 0o755 vs 0o644"),
])
def test_member_attributes_are_named(tmp_path: Path, change, expected: str) -> None:
    a = _image(tmp_path / "a.tar", _layer(), "1111")
    b = _image(tmp_path / "b.tar", _layer(**change), "1111")
    assert compare_archives(a, b)[-1] == f"layer 1111/layer.tar: {expected}"


def test_nested_tar_without_manifest_is_compared_by_name(tmp_path: Path) -> None:
    a = _tar([_info("./x/layer.tar", data=_layer())], tmp_path / "a.tar")
    changed = _layer(bin=_info(f"{STORE}/bin/hello", data=b"HELLO", mode=0o555))
    b = _tar([_info("./x/layer.tar", data=changed)], tmp_path / "b.tar")
    assert a and b
    assert compare_archives(tmp_path / "a.tar", tmp_path / "b.tar") == [
        "x/layer.tar: content differs", f"layer x/layer.tar: {STORE}/bin/hello: content differs"]


def test_non_tar_members_are_not_opened_as_layers(tmp_path: Path) -> None:
    _tar([_info("./f.tar", data=b"not a tar at all" * 40)], tmp_path / "a.tar")
    _tar([_info("./f.tar", data=b"not a tar at All" * 40)], tmp_path / "b.tar")
    assert compare_archives(tmp_path / "a.tar", tmp_path / "b.tar") == ["f.tar: content differs"]


def test_store_items_of_a_docker_pack_and_a_plain_tarball(tmp_path: Path) -> None:
    img = _image(tmp_path / "img.tar", _layer(), "1111")
    assert store_items(img) == ["/" + STORE]
    plain = _tar([_info("./gnu/store", kind=tarfile.DIRTYPE), _info(f"./{STORE}", kind=tarfile.DIRTYPE),
                  _info("/gnu/store/" + "b" * 32 + "-x/f", data=b"x"), _info("gnu/storex/y", data=b"")],
                 tmp_path / "plain.tar")
    assert plain
    assert store_items(tmp_path / "plain.tar") == ["/" + STORE, "/gnu/store/" + "b" * 32 + "-x"]


def test_image_digests_read_offline(tmp_path: Path) -> None:
    layer = _layer()
    img = _image(tmp_path / "img.tar", layer, "1111")
    d = image_digests(img)
    assert d.diff_ids == ("sha256:" + hashlib.sha256(layer).hexdigest(),)
    assert d.repo_tags == ("env:1",)
    with tarfile.open(img) as tf:
        config = tf.extractfile("./config.json").read()
    assert d.image_id == "sha256:" + hashlib.sha256(config).hexdigest()
    assert image_digests(_image(tmp_path / "bare.tar", layer, "1", config={})).diff_ids == ()


def test_image_digests_refuse_a_plain_tarball(tmp_path: Path) -> None:
    _tar([_info("f", data=b"x")], tmp_path / "p.tar")
    with pytest.raises(FwenvError, match="not a docker image archive"):
        image_digests(tmp_path / "p.tar")
    (tmp_path / "junk.tar").write_bytes(b"junk" * 100)
    with pytest.raises(FwenvError, match="not a readable tar archive"):
        compare_archives(tmp_path / "junk.tar", tmp_path / "p.tar")


def _image2(path: Path, layers: dict[str, bytes]) -> Path:
    manifest = json.dumps([{"Config": "c.json", "Layers": [f"{d}/layer.tar" for d in layers]}]).encode()
    _tar([_info("manifest.json", data=manifest), _info("c.json", data=b"{}"),
          *(_info(f"{d}/layer.tar", data=data) for d, data in layers.items())], path)
    return path


def test_every_layer_pair_is_compared_and_missing_layers_are_named(tmp_path: Path) -> None:
    base, other = _layer(), _layer(bin=_info(f"{STORE}/bin/hello", data=b"HELLO", mode=0o555))
    a = _image2(tmp_path / "a.tar", {"l1": base, "l2": base})
    b = _image2(tmp_path / "b.tar", {"l1": base, "l2x": other})
    last = compare_archives(a, b)[-1]
    assert last == f"layer l2/layer.tar vs l2x/layer.tar: {STORE}/bin/hello: content differs"
    one = _image2(tmp_path / "one.tar", {"l1": other})
    assert compare_archives(a, one) == [  # 2 layers vs 1: pairs stop at the shorter list
        "l1/layer.tar: content differs", "l2/layer.tar: only in the first build",
        "manifest.json: size 66 vs 50, content differs",
        f"layer l1/layer.tar: {STORE}/bin/hello: content differs"]
    gone = tmp_path / "gone.tar"  # a manifest naming a layer the archive does not hold
    _tar([_info("manifest.json", data=b'[{"Layers": ["gone/layer.tar"]}]')], gone)
    assert compare_archives(a, gone)[-1] == "manifest.json: size 66 vs 32, content differs"


def test_old_style_regular_file_type_is_a_file(tmp_path: Path) -> None:
    _tar([_info("f", data=b"x")], tmp_path / "a.tar")
    _tar([_info("f", kind=tarfile.AREGTYPE, data=b"x")], tmp_path / "b.tar")
    assert compare_archives(tmp_path / "a.tar", tmp_path / "b.tar") == [
        "archives differ only in compression or tar padding (members identical)"]
