"""`firmware.matrix --src DIR --boards FILE`: coreboot's util/abuild/abuild over a board list,
inside the environment, on the read-only tree; a pass/fail table and one JUnit XML for CI.

Each failure is classed: `source` when the log shows a known limit of the tree (a blob the
+dfsg tree removed, GNAT for libgfxinit), `environment` otherwise (a tool or compiler the image
lacks, e.g. a cross compiler for a non-x86 board)."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine import ContainerSpec, Engine, Mount
from ..errors import FwenvError
from ..fsutil import atomic_path, output_lock, script
from ..plan import Runner
from .container import BUILD_USER, check_image, firmware_dir, run_container
from .tree import IN_SRC, SOURCE_LIMITS, _nothing, diagnose, tree_work
from .workspace import Workspace

MATRIX_SCRIPT = script(__package__, "matrix.sh")  # $1 = jobs, then abuild targets
BOARD_LINE = re.compile(r"^([a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.+-]*|[A-Z0-9_]+)$")
EXIT_LINE = re.compile(r"^fwenv-matrix (\S+) exit (\d+)$", re.MULTILINE)


def read_boards(path: Path) -> list[str]:
    """One abuild target a line (VENDOR/MODEL or BOARD_NAME); # comments, blank lines."""
    if not path.is_file():
        raise FwenvError(f"--boards {path}: no such file: one VENDOR/MODEL a line")
    boards = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not BOARD_LINE.match(line):
            raise FwenvError(f"--boards {path}:{n}: {line[:60]!r} is not VENDOR/MODEL")
        boards.append(line)
    if not boards:
        raise FwenvError(f"--boards {path}: no board in it: one VENDOR/MODEL a line")
    return boards


def classify(board: str, code: int, xml_text: str, log: str) -> dict[str, Any]:
    """One row of the table from abuild's exit code, its JUnit XML and its output."""
    try:
        cases = ET.fromstring(xml_text).iter("testcase") if xml_text.strip() else []
        failures = [c for c in cases if c.find("failure") is not None]
        fail_text = "\n".join((c.find("failure").text or "") for c in failures  # type: ignore[union-attr]
                              ) if failures else ""
    except ET.ParseError:
        failures, fail_text = [], ""
    text = fail_text + "\n" + log
    if "skipping" in log and "missing compilers" in log:
        return {"board": board, "result": "fail", "class": "environment",
                "reason": "no compiler for its architecture in the image (no crossgcc)"}
    if code == 0 and not failures:
        return {"board": board, "result": "pass", "class": "", "reason": ""}
    source = any(marker in text for marker, _ in SOURCE_LIMITS)
    return {"board": board, "result": "fail", "class": "source" if source else "environment",
            "reason": diagnose(text)}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| board | result | failure is the | reason |", "|---|---|---|---|"]
    lines += [f"| {r['board']} | {r['result']} | {r['class'] or '-'} | {r['reason'] or '-'} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def junit(rows: list[dict[str, Any]], xml_texts: dict[str, str]) -> str:
    """One <testsuites> document holding abuild's own testsuite for each board."""
    suites = ET.Element("testsuites", name="fwenv firmware.matrix",
                        tests=str(len(rows)),
                        failures=str(sum(r["result"] == "fail" for r in rows)))
    for r in rows:
        try:
            suite = ET.fromstring(xml_texts.get(r["board"], "")) \
                if xml_texts.get(r["board"], "").strip() else None
        except ET.ParseError:
            suite = None
        if suite is None or suite.find("testcase") is None:
            suite = ET.Element("testsuite", name=r["board"])
            case = ET.SubElement(suite, "testcase", classname="fwenv.matrix", name=r["board"])
            if r["result"] == "fail":
                ET.SubElement(case, "failure", type=r["class"]).text = r["reason"]
        suite.set("name", r["board"])
        suites.append(suite)
    return ET.tostring(suites, encoding="unicode") + "\n"


def matrix(cfg: Config, runner: Runner, engine: Engine, src: Path, boards_file: Path, *,
           image: str, jobs: int) -> dict[str, Any]:
    """`invoke firmware.matrix`: abuild over the boards; writes output/firmware/matrix/."""
    tree = Path(src).resolve()
    if not (tree / "util" / "abuild" / "abuild").is_file():
        raise FwenvError(f"--src {src}: no util/abuild/abuild: pass the top of a coreboot tree")
    boards = read_boards(Path(boards_file))
    if jobs < 1 or jobs > 256:
        raise FwenvError(f"--jobs {jobs}: use 1..256")
    ws = Workspace.from_project(cfg)
    check_image(engine, runner, image, ws)
    out = firmware_dir(ws) / "matrix"
    lock = output_lock(firmware_dir(ws)) if not runner.dry_run else _nothing()
    with lock, tree_work(ws, runner, "matrix", "") as work:
        spec = ContainerSpec(
            image=image, command=["sh", "-c", MATRIX_SCRIPT, "fwenv-matrix", str(jobs), *boards],
            mounts=[Mount(str(tree), IN_SRC, read_only=True), Mount(str(work / "out"), "/out")],
            network="none", user=f"{BUILD_USER}:{BUILD_USER}", workdir=IN_SRC,
            env={"SOURCE_DATE_EPOCH": "0", "TZ": "UTC", "LC_ALL": "C", "HOME": "/tmp"})
        if runner.dry_run:
            engine.run(spec)
            runner.show(f"# write {out}/ (table.md, junit.xml, logs/) atomically")
            return {"boards": boards, "dry_run": True}
        with runner.step(f"abuild {len(boards)} boards of {tree}"):
            _, log = run_container(engine, spec, runner, "abuild")
        codes = {b: int(c) for b, c in EXIT_LINE.findall(log)}
        rows, xmls = [], {}
        for b in boards:
            name = b.replace("/", "_")
            xml_file, log_file = work / "out" / "xml" / f"{name}.xml", work / "out" / "xml" / f"{name}.log"
            xmls[b] = xml_file.read_text(errors="replace") if xml_file.is_file() else ""
            blog = log_file.read_text(errors="replace") if log_file.is_file() else ""
            rows.append(classify(b, codes.get(b, 255), xmls[b], blog))
        with atomic_path(out, directory=True) as tmp:
            (tmp / "table.md").write_text(table(rows), encoding="utf-8")
            (tmp / "junit.xml").write_text(junit(rows, xmls), encoding="utf-8")
            (tmp / "logs").mkdir()
            for f in sorted((work / "out" / "xml").glob("*")):
                shutil.copyfile(f, tmp / "logs" / f.name)
    passed = sum(r["result"] == "pass" for r in rows)
    return {"boards": len(rows), "passed": passed, "table": str(out / "table.md"),
            "junit": str(out / "junit.xml"), "rows": rows}

