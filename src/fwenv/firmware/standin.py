"""The toolchain stand-in image `fwenv-toolchain-standin:<suite>`: Debian's compilers, not Guix.

The recipe is data: containers/toolchain-debian/recipe.toml. It is built by the same
reproducible rootfs pipeline as the Guix builder (fwenv.rootfs) and is never tagged as the
environment image.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..plan import Runner
from ..rootfs import ImageResult, RootfsRecipe, build_image

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECIPE = Path("containers/toolchain-debian/recipe.toml")


def load(cfg: Config) -> dict[str, Any]:
    path = cfg.root / str(cfg.section("firmware").get("standin_recipe", RECIPE))
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FwenvError(f"{path} not found: restore it from git") from None
    except tomllib.TOMLDecodeError as e:
        raise FwenvError(f"{path}: {e}: fix the TOML syntax") from None


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
