"""The toolchain stand-in image `fwenv-toolchain-standin:<suite>`: Debian's compilers, not Guix.

The recipe is data: containers/toolchain-debian/recipe.toml. It is built by the same
reproducible rootfs pipeline as the Guix builder (fwenv.rootfs) and is never tagged as the
environment image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Config, load_toml
from ..engine import Engine
from ..plan import Runner
from ..rootfs import ImageResult, RootfsRecipe, build_image

RECIPE = Path("containers/toolchain-debian/recipe.toml")


def load(cfg: Config) -> dict[str, Any]:
    return load_toml(cfg.root / str(cfg.section("firmware").get("standin_recipe", RECIPE)))


def recipe(cfg: Config, suite: str | None = None, mirror: str | None = None,
           snapshot: str | None = None) -> RootfsRecipe:
    doc, fw = load(cfg), cfg.section("firmware")
    return RootfsRecipe(
        name=str(fw.get("standin_image", doc.get("name", "fwenv-toolchain-standin"))),
        suite=suite or str(fw.get("standin_suite", doc.get("suite", "trixie"))),
        mirror=mirror or str(cfg.get("builder.mirror", "http://deb.debian.org/debian")),
        snapshot=snapshot if snapshot is not None else str(cfg.get("builder.snapshot", "")),
        packages=tuple(doc.get("packages", ())),
        post_install=tuple(tuple(a) for a in doc.get("post_install", ())),
        changes=tuple(doc.get("changes", ())),
        labels=tuple(doc.get("labels", {}).items()),
    )


def build_standin(cfg: Config, runner: Runner, engine: Engine | None, *, suite: str | None = None,
                  mirror: str | None = None, snapshot: str | None = None,
                  force: bool = False) -> ImageResult:
    r = recipe(cfg, suite, mirror, snapshot)
    return build_image(r, cfg, runner, engine, tag=r.suite, force=force)
