"""`guix.pin` against the real builder: Debian's guix has no commit, so pinning fails clearly."""

from __future__ import annotations

import pytest

from fwenv.config import load_config
from fwenv.engine import Engine
from fwenv.errors import FwenvError
from fwenv.guix.pin import describe_in_builder, parse_channels, pin
from fwenv.plan import Runner
from fwenv.recording import RecordingEngine

from .conftest import ROOT

pytestmark = pytest.mark.integration


def test_debian_builder_describe_has_no_commit(guix_image):
    text = describe_in_builder(Engine.connect(), Runner(), guix_image)
    (ch,) = parse_channels(text)
    assert ch.name == "guix" and ch.commit is None


def test_pin_from_debian_builder_fails_one_line_and_keeps_file(guix_image):
    path = ROOT / "guix/channels.scm"
    before = path.read_bytes()
    with pytest.raises(FwenvError) as e:
        pin(load_config(ROOT), Runner(), Engine.connect(), image=guix_image)
    msg = str(e.value)
    assert "no commit" in msg and guix_image in msg and "\n" not in msg
    assert path.read_bytes() == before


def test_pin_dry_run_prints_the_describe_command():
    runner = Runner(dry_run=True)
    pin(load_config(ROOT), runner, RecordingEngine(runner.show), image="guix-pack-builder:1.5.0")
    assert any("guix describe -f channels" in ln for ln in runner.printed)
