"""The import rule and the size limits of docs/architecture.md, read from the source (no engine).

Layers: tasks (fwtasks/) → steps (fwenv.guix → fwenv.env → fwenv.firmware → fwenv.release, each
may use the ones before it) → ground (config, engine, recording, plan, fsutil, errors, sigcheck).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "fwenv"
GROUND = {"config", "engine", "enginekind", "spec", "recording", "plan", "fsutil", "errors",
          "sigcheck"}
STEPS = ["guix", "env", "firmware", "release"]  # each may import the ones before it
MAX_PARAMS = 8
MAX_LINES = 400


def _module(path: Path) -> str:
    base = SRC.parent if path.is_relative_to(SRC.parent) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    """Every module `path` imports at run time (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            found.append(mod)
            # `from . import heads` imports the submodule
            found += [f"{mod}.{a.name}" for a in node.names
                      if (SRC.parent / (f"{mod}.{a.name}".replace(".", "/") + ".py")).is_file()]
    return found


def _rank(module: str) -> int:
    """0 for the ground, 1.. for the steps in chain order."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in GROUND:
        return 0
    return STEPS.index(parts[1]) + 1


SOURCES = sorted(SRC.rglob("*.py"))
GRAPH = {_module(p): [m for m in _imports(p) if m.startswith("fwenv")] for p in SOURCES}


def test_every_module_is_in_a_layer() -> None:
    for module in GRAPH:
        parts = module.split(".")
        assert len(parts) == 1 or parts[1] in GROUND | set(STEPS), f"{module}: not in a layer"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module: str) -> None:
    up = [m for m in GRAPH[module] if _rank(m) > _rank(module)]
    assert not up, f"{module} imports upwards: {up}"


def test_no_import_circle() -> None:
    seen: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for dep in GRAPH.get(m, []):
            if dep not in GRAPH or dep == m or m.startswith(dep + "."):
                continue  # a package's own __init__ is not a circle
            if seen.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join([*path, m, dep]))
            if dep not in seen:
                visit(dep, [*path, m])
        seen[m] = 2

    for m in GRAPH:
        if m not in seen:
            visit(m, [])


def test_only_the_engine_talks_to_docker() -> None:
    users = [_module(p) for p in SOURCES
             if any(m == "docker" or m.startswith("docker.") for m in _imports(p))]
    assert users == ["fwenv.engine"]


def test_the_library_knows_nothing_of_invoke() -> None:
    users = [_module(p) for p in SOURCES if any(m.split(".")[0] == "invoke" for m in _imports(p))]
    assert users == []


def test_tasks_use_only_the_library() -> None:
    for path in sorted((ROOT / "fwtasks").glob("*.py")):
        bad = [m for m in _imports(path) if m.split(".")[0] in ("docker", "subprocess")]
        assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_size(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})"


def test_at_most_eight_parameters() -> None:
    wide = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                n = len(names) + bool(a.vararg) + bool(a.kwarg) - (names[:1] in (["self"], ["cls"]))
                if n > MAX_PARAMS:
                    wide.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n})")
    assert not wide, wide


def test_the_data_the_library_reads_is_where_it_reads_it() -> None:
    from fwenv.guix import provenance

    assert provenance.SCHEMA_PATH.is_file()
    scripts = sorted(p.relative_to(SRC) for p in SRC.glob("*/scripts/*"))
    assert scripts, "no container scripts found"
    for path in SOURCES:  # every script(__package__, NAME) names a file that exists
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r'script\(__package__, "([^"]+)"\)', text):
            assert (path.parent / "scripts" / name).is_file(), f"{path.name}: {name}"


# Options are resolved once, at the top: only these functions (the one a task calls, and the
# from_project resolvers) take the project's Config; everything below them gets a frozen
# options object. A module outside this list does not import Config at all.
TAKES_CONFIG = {
    "fwenv.guix.builder": {"BuilderOptions.from_project", "build_builder", "builder_shell"},
    "fwenv.guix.cache": {"ServeOptions.from_project"},
    "fwenv.guix.options": {"PackOptions.from_project"},
    "fwenv.guix.pack": {"pack"},
    "fwenv.guix.pin": {"pin"},
    "fwenv.guix.rootfs": {"RootfsOptions.from_project"},
    "fwenv.env.build": {"build_environment"},
    "fwenv.env.clean": {"clean"},
    "fwenv.env.importer": {"import_env"},
    "fwenv.env.shell": {"open_shell"},
    "fwenv.firmware.build": {"build", "boot", "fetch", "listing"},
    "fwenv.firmware.matrix": {"matrix"},
    "fwenv.firmware.standin": {"recipe", "build_standin"},
    "fwenv.firmware.targets": {"data_paths", "all_targets", "get_target"},  # the target files
    "fwenv.firmware.tree": {"build_tree", "menuconfig"},
    "fwenv.firmware.workspace": {"Workspace.from_project"},
    "fwenv.release.attest": {"attest"},
    "fwenv.release.bundle": {"write_bundle"},
    "fwenv.release.check": {"verify", "pull_release"},
    "fwenv.release.options": {"ReleaseProject.from_project", "release_options"},
    "fwenv.release.publish": {"release"},
}


def _config_takers(path: Path) -> tuple[set[str], bool]:
    """The functions (qualified names) of `path` that take a Config (annotated so, or a
    parameter named `cfg`), and whether the module imports Config (or names it elsewhere)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    takers: set[str] = set()
    names_it = any(isinstance(n, ast.ImportFrom) and n.module and n.module.endswith("config")
                   and any(a.name == "Config" for a in n.names) for n in ast.walk(tree))

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                for n in ast.walk(child):  # a field typed Config carries it down
                    if isinstance(n, ast.AnnAssign) and "Config" in ast.unparse(n.annotation):
                        takers.add(f"{prefix}{child.name}.{ast.unparse(n.target)}")
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = child.args
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs):
                    shown = ast.unparse(arg.annotation) if arg.annotation else ""
                    if arg.arg == "cfg" or re.search(r"\bConfig\b", shown):
                        takers.add(prefix + child.name)
                visit(child, f"{prefix}{child.name}.")
    visit(tree, "")
    return takers, names_it


@pytest.mark.parametrize("path", [p for p in SOURCES if _module(p) != "fwenv.config"],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_options_are_resolved_at_the_top(path: Path) -> None:
    module = _module(path)
    allowed = TAKES_CONFIG.get(module, set())
    takers, imports_config = _config_takers(path)
    extra = sorted(takers - allowed)
    assert not extra, (f"{module}: {extra} take the project's Config: give them a frozen "
                       "options object built by a from_project(cfg) at the top")
    assert not imports_config or allowed, f"{module} imports Config but takes none at the top"


def test_the_config_allow_list_names_what_exists() -> None:
    for module, allowed in TAKES_CONFIG.items():
        path = SRC.parent / (module.replace(".", "/") + ".py")
        takers, _ = _config_takers(path)
        assert allowed <= takers, f"{module}: {sorted(allowed - takers)} no longer take Config"
