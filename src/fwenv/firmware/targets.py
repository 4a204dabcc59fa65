"""Targets as data: coreboot/targets.toml and heads/boards.toml."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, load_toml
from ..errors import FwenvError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\Z")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
CONFIG_LINE = re.compile(r"^(#.*|CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)?$")


@dataclass(frozen=True)
class Source:
    """A pinned coreboot source: `debian` (source package), `tarball` or `git`."""

    key: str
    kind: str
    data: dict[str, Any]

    def get(self, name: str, default: Any = "") -> Any:
        return self.data.get(name, default)


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # coreboot | heads
    board: str
    description: str = ""
    defconfig: str = ""  # coreboot: Kconfig fragment for `make defconfig`
    source: Source | None = None  # coreboot
    qemu_machine: str = ""  # pc | q35 | "" (no boot check)
    full_config_needs: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()  # heads: files needed in packages/<arch>/
    payload: str = ""  # coreboot: dir of a payload (coreboot/payloads/<name>), built in the container
    extra: dict[str, Any] = field(default_factory=dict)

    def needs(self) -> str:
        if self.kind == "heads":
            return "firmware.fetch (network), then an image with Heads' build deps"
        src = self.source
        if src and src.kind == "git":
            return "firmware.fetch (network), then a toolchain image"
        return "a toolchain image (source from the cache or the Debian mirror)"


_load = load_toml


def data_paths(cfg: Config) -> tuple[Path, Path]:
    fw = cfg.section("firmware")
    return (cfg.root / fw.get("coreboot_targets", "coreboot/targets.toml"),
            cfg.root / fw.get("heads_boards", "heads/boards.toml"))


def load_targets(coreboot_file: Path, heads_file: Path | None = None) -> dict[str, Target]:
    """Every target, checked: a malformed entry is an error naming the file and the key."""
    doc = _load(coreboot_file)
    sources = {k: _source(coreboot_file, k, v) for k, v in doc.get("sources", {}).items()}
    targets: dict[str, Target] = {}
    for name, t in doc.get("targets", {}).items():
        where = f"{coreboot_file.name} [targets.{name}]"
        _check_name(name, where)
        src = sources.get(t.get("source", ""))
        if src is None:
            raise FwenvError(f"{where}: unknown source {t.get('source')!r}: add it under [sources]")
        defconfig = str(t.get("defconfig", ""))
        bad = [ln for ln in defconfig.splitlines() if not CONFIG_LINE.match(ln.strip())]
        if bad or "\x00" in defconfig:
            raise FwenvError(f"{where}: defconfig line {bad[0]!r} is not CONFIG_X=value")
        targets[name] = Target(
            name=name, kind="coreboot", board=str(t.get("board", "")),
            description=str(t.get("description", "")), defconfig=defconfig.strip() + "\n",
            source=src, qemu_machine=_machine(t, where),
            full_config_needs=tuple(t.get("full_config_needs", ())),
            payload=_payload(coreboot_file, t, where),
        )
    if heads_file is not None and heads_file.exists():
        hdoc = _load(heads_file)
        heads = dict(hdoc.get("heads", {}))
        pkgs = dict(hdoc.get("packages", {}))
        if not HEX40.match(str(heads.get("commit", ""))):
            raise FwenvError(f"{heads_file.name} [heads]: commit must be a 40-hex git commit")
        for fname, p in pkgs.items():
            if not HEX64.match(str(p.get("sha256", ""))):
                raise FwenvError(f"{heads_file.name} [packages.{fname!r}]: sha256 must be 64 hex")
        for name, b in hdoc.get("boards", {}).items():
            where = f"{heads_file.name} [boards.{name}]"
            _check_name(name, where)
            if name in targets:
                raise FwenvError(f"{where}: name already used by a coreboot target")
            missing = [f for f in b.get("packages", ()) if f not in pkgs]
            if missing:
                raise FwenvError(f"{where}: package {missing[0]!r} has no [packages] entry")
            targets[name] = Target(
                name=name, kind="heads", board=str(b.get("board", "")),
                description=str(b.get("description", "")), qemu_machine=_machine(b, where),
                full_config_needs=tuple(b.get("full_config_needs", ())),
                packages=tuple(b.get("packages", ())),
                extra={"heads": heads, "package_pins": {f: pkgs[f] for f in b.get("packages", ())}},
            )
    return targets


def _payload(targets_file: Path, t: dict[str, Any], where: str) -> str:
    name = str(t.get("payload", ""))
    if not name:
        return ""
    path = targets_file.parent / "payloads" / name
    if not (NAME_RE.match(name) and (path / "build.sh").is_file()):
        raise FwenvError(f"{where}: payload {name!r} is not a directory with build.sh under "
                         f"{targets_file.parent.name}/payloads/")
    return str(path.resolve())


def _check_name(name: str, where: str) -> None:
    if not NAME_RE.match(name):
        raise FwenvError(f"{where}: target names are lowercase letters, digits, '.', '-'")


def _machine(t: dict[str, Any], where: str) -> str:
    m = str(t.get("qemu_machine", ""))
    if m not in ("", "pc", "q35"):
        raise FwenvError(f"{where}: qemu_machine must be pc or q35, not {m!r}")
    return m


def _source(path: Path, key: str, s: dict[str, Any]) -> Source:
    where = f"{path.name} [sources.{key}]"
    kind = s.get("kind")
    need = {"debian": ("package", "version", "mirror", "dsc_sha256", "orig", "orig_sha256",
                       "topdir"),
            "tarball": ("url", "sha256", "topdir"),
            "git": ("url", "tag", "commit")}.get(str(kind))
    if need is None:
        raise FwenvError(f"{where}: kind must be debian, tarball or git, not {kind!r}")
    missing = [k for k in need if not s.get(k)]
    if missing:
        raise FwenvError(f"{where}: missing {', '.join(missing)}")
    for k in ("dsc_sha256", "orig_sha256", "sha256"):
        if k in s and not HEX64.match(str(s[k])):
            raise FwenvError(f"{where}: {k} must be 64 lowercase hex digits")
    if kind == "git" and not HEX40.match(str(s["commit"])):
        raise FwenvError(f"{where}: commit must be a full 40-hex git commit")
    for k in ("orig", "topdir"):
        if k in s and ("/" in str(s[k]) or str(s[k]).startswith(".")):
            raise FwenvError(f"{where}: {k} must be a plain file name")
    return Source(key=key, kind=str(kind), data=dict(s))


def all_targets(cfg: Config) -> dict[str, Target]:
    return load_targets(*data_paths(cfg))


def get_target(cfg: Config, name: str, targets: dict[str, Target] | None = None) -> Target:
    targets = all_targets(cfg) if targets is None else targets
    if name not in targets:
        raise FwenvError(
            f"unknown target {name!r}: choose one of {', '.join(sorted(targets))} "
            "(invoke firmware.list)"
        )
    return targets[name]
