"""Optional firmware smoke builds in the released image (fwenv.firmware), with the image that built them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine import Engine
from ..env.importer import import_pack
from ..errors import FwenvError
from ..firmware import build as fw
from ..firmware.container import check_image
from ..firmware.targets import Target
from ..firmware.workspace import Workspace
from ..plan import Runner

if TYPE_CHECKING:
    from .options import ReleaseOptions, ReleaseProject


def firmware_smoke(ws: Workspace, runner: Runner, engine: Engine,
                   chosen: list[Target]) -> Callable[[str], dict[str, Any]]:
    """Smoke builds with fwenv.firmware: ROM path + sha256 per target, built in `image`.
    An image without the coreboot toolchain is recorded as skipped (with the reason)."""
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
            res = fw.build_target(ws, runner, engine, t, image=image)
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


def smoke_rebuild(proj: ReleaseProject, runner: Runner, engine: Engine, opts: ReleaseOptions,
                  pack: Any) -> dict[str, Any]:
    """The smoke ROMs of a rebuild (release.attest, release.verify --rebuild), as release
    builds them, so that the artifact set is the same: in the rebuilt image (loaded under a
    scratch tag, untagged after) unless --firmware-image names another."""
    ref = f"{proj.env_image}:{opts.version}"  # what release records as the image
    if opts.firmware is None or opts.firmware_image:
        return smoke_firmware(runner, opts, ref)
    scratch = f"{ref}-rebuild"
    import_pack(runner, engine, Path(pack.tarball), scratch, provenance=Path(pack.provenance),
                pack_format="docker", force=True)
    try:
        result = smoke_firmware(runner, opts, scratch)
        result["image"] = ref
        if "note" in result:
            result["note"] = result["note"].replace(scratch, ref)
        return result
    finally:
        if not runner.dry_run:
            engine.untag(scratch)
