"""The toolchain stand-in image `fwenv-toolchain-standin:<suite>`: Debian's compilers, not Guix.

The recipe is data: containers/toolchain-debian/recipe.toml. It is built by the same
reproducible rootfs pipeline as the Guix builder (fwenv.rootfs) and is never tagged as the
environment image.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..engine import Engine
from ..guix.rootfs import ImageResult, RootfsOptions, RootfsRecipe, build_image, recipe_from_toml
from ..plan import Runner

RECIPE = Path("containers/toolchain-debian/recipe.toml")


def recipe(cfg: Config, suite: str | None = None, mirror: str | None = None,
           snapshot: str | None = None) -> RootfsRecipe:
    """The stand-in's recipe, resolved from the project ([tool.fwenv.firmware] standin_*, the
    builder's mirror and snapshot) with the task's options on top."""
    fw = cfg.section("firmware")
    return recipe_from_toml(
        cfg.root / str(fw.get("standin_recipe", RECIPE)),
        name=str(fw.get("standin_image", "fwenv-toolchain-standin")),
        suite=suite or fw.get("standin_suite"),
        mirror=mirror or str(cfg.get("builder.mirror", "http://deb.debian.org/debian")),
        snapshot=snapshot if snapshot is not None else str(cfg.get("builder.snapshot", "")),
    )


def build_standin(cfg: Config, runner: Runner, engine: Engine, *, suite: str | None = None,
                  mirror: str | None = None, snapshot: str | None = None,
                  force: bool = False) -> ImageResult:
    r = recipe(cfg, suite, mirror, snapshot)
    return build_image(r, RootfsOptions.from_project(cfg), runner, engine, tag=r.suite,
                       force=force)
