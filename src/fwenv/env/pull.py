"""Pull an environment image by digest: `env.pull` (after the release's signers are checked, in
fwenv.release.check.pull_release) and `firmware.build --image REF@sha256:…` when it is missing.

A pull by digest gets exactly the manifest the digest names (the engine checks it); what makes
it the attested image is the image id (the config digest) compared with the one the signers'
archive yields. A mismatch removes what was pulled and tags nothing."""

from __future__ import annotations

import re
from typing import Any

from ..config import check_image_ref
from ..engine import Engine
from ..errors import FwenvError
from ..plan import Runner

PINNED = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def check_pinned(ref: str) -> str:
    if not PINNED.match(ref or ""):
        raise FwenvError(f"{ref!r} is not pinned by digest: use REPO@sha256:<64 hex>")
    check_image_ref(ref)
    return ref


def pull_pinned(runner: Runner, engine: Engine, ref: str, *, expect_id: str | None = None,
                tag: str | None = None) -> str:
    """`docker pull REPO@sha256:…`; when `expect_id` is given the image id must equal it, else
    the pulled reference is removed and nothing is tagged. Tags `tag` on success; returns the id."""
    check_pinned(ref)
    if tag is not None:
        check_image_ref(tag)
    with runner.step(f"pull {ref}"):
        image_id, _ = engine.pull(ref)
    if runner.dry_run:
        if tag is not None:
            engine.tag(ref, tag)
        return image_id
    if expect_id is not None and image_id != expect_id:
        engine.remove_image(ref, force=False)
        raise FwenvError(f"{ref} has image id {image_id}, the signers attested {expect_id}: "
                         "nothing tagged (the registry or the release is not what was signed)")
    if tag is not None:
        engine.tag(image_id, tag)
    return image_id


def pull_missing(runner: Runner, engine: Engine, ref: str) -> Any | None:
    """The image `ref`, pulled first when it is pinned by digest and not here (else None)."""
    if not PINNED.match(ref or ""):
        return None
    pull_pinned(runner, engine, ref)
    return engine.image(ref)
