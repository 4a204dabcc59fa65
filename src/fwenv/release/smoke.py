"""Optional firmware smoke builds in the released image (fwenv.firmware), with the image that built them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..firmware import build as fw
from ..firmware.container import check_image
from ..firmware.targets import get_target
from ..plan import Runner

if TYPE_CHECKING:
    from .options import ReleaseOptions


def firmware_smoke(cfg: Config, runner: Runner, engine: Engine,
                   targets: list[str]) -> Callable[[str], dict[str, Any]]:
    """Smoke builds with fwenv.firmware: ROM path + sha256 per target, built in `image`.
    An image without the coreboot toolchain is recorded as skipped (with the reason)."""
    chosen = [get_target(cfg, t) for t in targets]  # unknown names fail before building
    for t in chosen:
        if t.kind == "heads":
            raise FwenvError(f"--smoke {t.name}: a Heads board is not a release smoke target "
                             "(smoke builds are coreboot ROMs); choose a coreboot target "
                             "(invoke firmware.list) or build it with invoke firmware.build")

    def run(image: str) -> dict[str, Any]:
        try:
            check_image(engine, runner, image)
        except FwenvError as e:
            if "no coreboot toolchain" not in str(e):
                raise
            return {"status": "skipped", "image": image,
                    "note": f"{image} has no coreboot toolchain, no ROMs built "
                            "(use --firmware-image with a toolchain image to smoke-test)"}
        roms = {}
        for t in chosen:
            res = fw.build(cfg, runner, engine, t, image=image)
            if runner.dry_run:
                continue
            roms[t.name] = {"path": res["rom"], "sha256": res["sha256"],
                            "image_id": res.get("image_id")}
        return {"status": "built", "image": image, "roms": roms}
    return run


def smoke_firmware(runner: Runner, opts: ReleaseOptions, ref: str) -> dict[str, Any]:
    """Optional smoke ROM builds; says which image built them, or why none were built."""
    if opts.firmware is None:
        return {"status": "skipped", "note": "no smoke targets requested (--smoke TARGET)"}
    image = opts.firmware_image or ref
    with runner.step(f"firmware smoke builds in {image}"):
        result = opts.firmware(image)
    result.setdefault("image", image)
    result.setdefault("status", "built")
    if opts.firmware_image and result["status"] == "built":
        result["note"] = (f"ROMs built in the stand-in image {opts.firmware_image}, "
                          f"not in the released image {ref}")
    return result
