"""The end-of-session check of pre-existing engine state (tests/conftest.py), on recorded states."""

from __future__ import annotations

import pytest

from .conftest import lost_state

pytestmark = pytest.mark.unit

BEFORE = {"images": {"sha256:1": ("guix-pack-builder:1.5.0",), "sha256:2": (), "sha256:3": ("u:1", "u:2")},
          "volumes": {"fwenv-guix-store-abc", "user-data"}, "containers": {"c1": "web"}}


def test_nothing_lost_when_everything_is_still_there() -> None:
    after = {**BEFORE, "volumes": BEFORE["volumes"] | {"new"}}
    assert lost_state(BEFORE, after) == []


def test_a_tag_moved_to_a_rebuilt_image_of_the_same_inputs_is_not_lost() -> None:
    after = {**BEFORE, "images": {"sha256:9": ("guix-pack-builder:1.5.0",), "sha256:2": (),
                                  "sha256:3": ("u:1", "u:2")}}
    assert lost_state(BEFORE, after) == []


def test_every_kind_of_loss_is_named() -> None:
    after = {"images": {"sha256:3": ("u:1",), "sha256:8": ("u:2",)}, "volumes": {"user-data"},
             "containers": {}}
    assert lost_state(BEFORE, after) == ["image guix-pack-builder:1.5.0", "image sha256:2",
                                         "volume fwenv-guix-store-abc", "container web"]
    gone_tag = {**BEFORE, "images": {"sha256:1": (), "sha256:2": (), "sha256:9": ("u:1",)}}
    assert lost_state(BEFORE, gone_tag) == ["image u:1"]
