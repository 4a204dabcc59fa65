"""Configuration: `[tool.fwenv]` in pyproject.toml, overridden by task options and `FWENV_*`.

What decides a build is spread over six sources; `settings()` lists every effective setting
with the one it came from (`invoke config`): pyproject.toml [tool.fwenv], guix/environment.toml,
the recipe files containers/*/recipe.toml, the target files (coreboot/targets.toml,
heads/boards.toml), FWENV_* environment variables, and built-in defaults.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FwenvError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# An image reference we accept: [registry[:port]/]name[:tag]; no shell metacharacters.
_IMAGE_RE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?\Z"
)


def check_image_ref(ref: str) -> str:
    """Return `ref` if it is a valid Docker image reference, else raise a one-line error."""
    if not _IMAGE_RE.match(ref):
        raise FwenvError(
            f"invalid image name {ref!r}: use lowercase name[:tag] "
            "(letters, digits, '.', '_', '-'; no spaces or shell characters)"
        )
    return ref


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest directory upwards holding a pyproject.toml with [tool.fwenv]."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        p = d / "pyproject.toml"
        if p.is_file() and "[tool.fwenv]" in p.read_text(encoding="utf-8"):
            return d
    raise FwenvError(f"no pyproject.toml with [tool.fwenv] above {here}: run from the fwenv checkout")


@dataclass
class Config:
    root: Path
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, dotted: str, default: Any = None) -> Any:
        """`cfg.get("builder.suite")` reads [tool.fwenv.builder] suite."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, name: str) -> dict[str, Any]:
        value = self.get(name, {})
        return dict(value) if isinstance(value, dict) else {}

    @property
    def output_dir(self) -> Path:
        return self.root / str(self.get("output_dir", "output"))

    @property
    def builder_image(self) -> str:
        return str(self.get("builder_image", "guix-pack-builder"))

    @property
    def env_image(self) -> str:
        return str(self.get("env_image", "coreboot-build-env"))

    @property
    def env_tag(self) -> str:
        return str(self.get("env_tag", "latest"))


def load_toml(path: Path, missing: str = "restore it from git") -> dict[str, Any]:
    """A TOML file, or a one-line error naming the file."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FwenvError(f"{path} not found: {missing}") from None
    except tomllib.TOMLDecodeError as e:
        raise FwenvError(f"{path}: {e}: fix the TOML syntax") from None


# Environment variables that override a setting: variable -> dotted key.
ENV_OVERRIDES = {"FWENV_OUTPUT_DIR": "output_dir", "FWENV_ENGINE": "engine",
                 "FWENV_FIRMWARE_CACHE_SEARCH": "firmware.cache_search"}
DEFAULTS = {"output_dir": "output", "engine": "docker", "builder_image": "guix-pack-builder",
            "env_image": "coreboot-build-env", "env_tag": "latest"}


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    source: str


def _flatten(node: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for k, v in node.items():
        key = f"{prefix}{k}"
        rows += _flatten(v, key + ".") if isinstance(v, dict) else [(key, v)]
    return rows


def settings(cfg: Config) -> list[Setting]:
    """Every effective setting and where it came from, in the order the sources are read."""
    pyproject = load_toml(cfg.root / "pyproject.toml").get("tool", {}).get("fwenv", {})
    env = {key: var for var, key in ENV_OVERRIDES.items() if var in os.environ}
    rows = [Setting(k, v, "default") for k, v in DEFAULTS.items() if k not in pyproject]
    for key, value in _flatten(pyproject):
        section = key.rpartition(".")[0]
        rows.append(Setting(key, value, f"pyproject.toml [tool.fwenv{'.' + section if section else ''}]"))
    for key, var in env.items():
        raw = os.environ[var]
        override = Setting(key, raw.split(":") if key == "firmware.cache_search" else raw,
                           f"${var}")
        rows = [override if r.key == key else r for r in rows] + \
            ([override] if all(r.key != key for r in rows) else [])
    files = [("guix/environment.toml", "environment."),
             *((str(p.relative_to(cfg.root)), f"recipe.{p.parent.name}.")
               for p in sorted((cfg.root / "containers").glob("*/recipe.toml"))),
             (str(cfg.get("firmware.coreboot_targets", "coreboot/targets.toml")), "coreboot."),
             (str(cfg.get("firmware.heads_boards", "heads/boards.toml")), "heads.")]
    for rel, prefix in files:
        path = cfg.root / rel
        if path.is_file():
            rows += [Setting(prefix + key, value, rel)
                     for key, value in _flatten(load_toml(path))]
    return rows


def load_config(root: Path | None = None) -> Config:
    root = Path(root).resolve() if root else find_root()
    doc = load_toml(root / "pyproject.toml", "run from the fwenv checkout")
    data = doc.get("tool", {}).get("fwenv", {})
    if os.environ.get("FWENV_OUTPUT_DIR"):  # e.g. tests and CI keep their outputs apart (ENV_OVERRIDES)
        data["output_dir"] = os.environ["FWENV_OUTPUT_DIR"]
    return Config(root=root, data=data)
