"""Pinned digests (a change here silently invalidates every warm skip and every recorded
provenance, so it must be deliberate), file helpers, recipe and channel parsing details."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from fwenv.errors import FwenvError
from fwenv.fsutil import remove, write_text_atomic
from fwenv.guix.provenance import (
    SCHEMA_ID,
    digest,
    dumps,
    load_provenance,
    parse_channels,
    tree_sha256,
    validate_provenance,
)
from fwenv.guix.rootfs import RootfsRecipe, clean_rootfs
from fwenv.plan import Runner

RECIPE = RootfsRecipe(name="fwenv-unit", suite="sid", mirror="http://deb.debian.org/debian",
                      packages=("guix",), source_date_epoch=0)


def test_inputs_digest_is_pinned() -> None:
    """Update only together with a deliberate change of what builds the image (and expect every
    builder and stand-in image to rebuild once)."""
    assert RECIPE.inputs_digest() == "391e19d31e6e66398862001e4e0b5a8e5254ed0303d523cacf4bdf90aacdb83a"


def test_provenance_digest_and_dumps_are_pinned() -> None:
    obj = {"b": [1, "x"], "a": None}
    assert digest(obj) == "c22cb7b0353770e2b38094af641143ebf008ddf2d1f2dedb9d875996fcf245fa"
    assert digest(obj) == digest(dict(reversed(obj.items())))
    assert dumps(obj) == '{\n  "a": null,\n  "b": [\n    1,\n    "x"\n  ]\n}\n'


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.scm").write_text("(a)\n")
    (root / "sub" / "run").write_text("#!/bin/sh\n")
    os.chmod(root / "sub" / "run", 0o755)
    os.symlink("a.scm", root / "link")
    return root


def test_tree_sha256_is_pinned_and_sees_names_modes_links_contents(tmp_path: Path) -> None:
    t = _tree(tmp_path / "t")
    h = tree_sha256(t)
    assert h == tree_sha256(_tree(tmp_path / "u")), "same names, modes, links, contents"
    for junk in (".git/HEAD", "__pycache__/a.pyc", "sub/.hidden"):
        (t / junk).parent.mkdir(parents=True, exist_ok=True)
        (t / junk).write_text("ignored")
    assert tree_sha256(t) == h, "dot files and __pycache__ are not inputs"
    os.chmod(t / "sub" / "run", 0o644)
    assert tree_sha256(t) != h
    os.chmod(t / "sub" / "run", 0o755)
    (t / "link").unlink()
    os.symlink("sub/run", t / "link")
    assert tree_sha256(t) != h
    (t / "link").unlink()
    os.symlink("a.scm", t / "link")
    (t / "a.scm").rename(t / "b.scm")
    assert tree_sha256(t) != h


def test_tree_sha256_exact_text(tmp_path: Path) -> None:
    import hashlib

    t = _tree(tmp_path / "t")
    a = hashlib.sha256(b"(a)\n").hexdigest()
    run = hashlib.sha256(b"#!/bin/sh\n").hexdigest()
    expected = f"F a.scm - {a}\nL link a.scm\nF sub/run x {run}\n"
    assert tree_sha256(t) == hashlib.sha256(expected.encode()).hexdigest()


def test_validate_provenance_names_the_first_error_in_one_line() -> None:
    with pytest.raises(FwenvError) as e:
        validate_provenance({"schema": SCHEMA_ID})
    msg = str(e.value)
    assert msg.startswith("provenance invalid at (top): ") and msg.endswith(": rebuild the pack")
    assert "\n" not in msg
    rec = json.loads(Path(__file__).with_name("provenance_example.json").read_text())
    validate_provenance(rec)
    rec["tarball"]["sha256"] = "nothex"
    with pytest.raises(FwenvError, match=r"^provenance invalid at tarball/sha256: "):
        validate_provenance(rec)


def test_load_provenance(tmp_path: Path) -> None:
    p = tmp_path / "p.provenance.json"
    assert load_provenance(p) is None
    for text in ("not json", "[]", '{"schema": "other/1"}'):
        p.write_text(text)
        assert load_provenance(p) is None
    p.write_text(json.dumps({"schema": SCHEMA_ID, "name": "é"}), encoding="utf-8")
    assert load_provenance(p) == {"schema": SCHEMA_ID, "name": "é"}


def test_write_text_atomic_mode_and_text(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "f.txt", "naïve\n")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").read_bytes() == "naïve\n".encode()
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_remove(tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_text("x")
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "k").write_text("k")
    os.symlink(tmp_path / "keep", tmp_path / "link")
    remove(tmp_path / "d")
    remove(tmp_path / "link")  # the link, not what it points to
    remove(tmp_path / "absent")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"] and (tmp_path / "keep" / "k").exists()


def test_clean_rootfs_shadow_fields_and_dry_run(tmp_path: Path, capsys) -> None:
    from fwenv.guix.rootfs import CLEANUP

    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "var" / "log").mkdir(parents=True)
    (r / "var" / "log" / "dpkg.log").write_text("when")
    (r / "etc" / "machine-id").write_text("id")
    (r / "etc" / "shadow").write_text("a:b:c\nshort:x\nroot:*:20419:0:99999:7:::\n")
    clean_rootfs(r, Runner(dry_run=True))
    shown = capsys.readouterr().out
    assert all(f"rm -rf {r}/{p}" in shown for p in CLEANUP), "every step is shown"
    assert (r / "etc" / "machine-id").exists(), "dry-run changes nothing"
    assert (r / "var" / "log" / "dpkg.log").exists()
    assert (r / "etc" / "shadow").read_text().startswith("a:b:c\n")
    clean_rootfs(r, Runner())
    assert not (r / "etc" / "machine-id").exists() and not (r / "var" / "log" / "dpkg.log").exists()
    assert (r / "etc" / "shadow").read_text() == "a:b:\nshort:x\nroot:*::0:99999:7:::\n"


def test_clean_rootfs_keeps_the_shadow_files_mode(tmp_path: Path) -> None:
    shadow = tmp_path / "etc" / "shadow"
    shadow.parent.mkdir()
    shadow.write_text("root:*:20419:0:99999:7:::\n")
    shadow.chmod(0o640)
    clean_rootfs(tmp_path, Runner())
    assert shadow.stat().st_mode & 0o7777 == 0o640 and shadow.read_text() == "root:*::0:99999:7:::\n"


def test_a_valid_recipe_validates() -> None:
    RECIPE.validate()
    replace(RECIPE, snapshot="20261120T000000Z", mirror="https://deb.debian.org/debian~x").validate()
    replace(RECIPE, packages=("g++", "libc6-dev", "python3.11")).validate()
    replace(RECIPE, mirror="http://Mirror.Example/Debian").validate()


def test_channels_names_urls_and_line_after_a_leading_newline(tmp_path: Path) -> None:
    c = "0123456789abcdef" * 2 + "01234567"
    (tmp_path / "c.scm").write_text(
        f"(list (channel (name 'guix) (url \"https://a/guix.git\") (commit \"{c}\"))\n"
        f"      (channel (name 'fw-extra) (url \"https://b/x.git\") (commit \"{c}\")))\n")
    assert parse_channels(tmp_path / "c.scm", "c.scm") == [
        {"name": "guix", "url": "https://a/guix.git", "commit": c},
        {"name": "fw-extra", "url": "https://b/x.git", "commit": c}]
    (tmp_path / "d.scm").write_text('\n(channel (commit "bad"))\n')
    with pytest.raises(FwenvError, match=r"^d\.scm:2: commit 'bad'"):
        parse_channels(tmp_path / "d.scm", "d.scm")
    with pytest.raises(FwenvError, match=r"^absent\.scm not found"):
        parse_channels(tmp_path / "absent.scm", "absent.scm")
    (tmp_path / "bin.scm").write_bytes(b"\xff\xfe")
    with pytest.raises(FwenvError, match="not UTF-8"):
        parse_channels(tmp_path / "bin.scm", "bin.scm")
