"""Reproducibility check: build again at another path, as another uid, later; compare.

Identical ROM sha256 passes. Otherwise the two ROMs' CBFS entries are extracted (cbfstool from
the build, inside the image: the host's glibc may be too old for it) and compared; the report
names the entries that differ and, when diffoscope is on the host, holds its diff of them;
output/firmware/triage/<target>/ gets diffoscope's HTML and text reports and a one-line summary
naming the first differing CBFS file (fwenv.firmware.triage).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import ContainerSpec, Engine, Mount
from ..fsutil import script
from ..plan import Runner, render
from .container import BuildRun, run_build, run_container, work_dir
from .triage import rom_triage
from .workspace import Workspace

OTHER_PATH = "/build/other"
OTHER_UID = 1001
COMPARE_SCRIPT = script(__package__, "compare-cbfs.sh")


@dataclass
class Report:
    target: str
    builds: list[dict[str, Any]] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    only_in_one: list[str] = field(default_factory=list)
    diffoscope: str = ""
    triage: str = ""  # the triage dir (fwenv.firmware.triage) when the ROMs differ

    @property
    def identical(self) -> bool:
        return len({b["sha256"] for b in self.builds}) == 1

    def as_dict(self) -> dict[str, Any]:
        return {"identical": self.identical, "builds": self.builds,
                "differing_cbfs_entries": self.differing, "only_in_one": self.only_in_one,
                **({"triage": self.triage} if self.triage else {})}

    def summary(self) -> str:
        if self.identical:
            return f"{self.target}: reproducible ({self.builds[0]['sha256']})"
        what = ", ".join(self.differing) or "no CBFS entry (the difference is outside CBFS)"
        extra = f"; only in one build: {', '.join(self.only_in_one)}" if self.only_in_one else ""
        return (f"{self.target} is not reproducible: the ROMs differ "
                f"({self.builds[0]['sha256'][:12]} vs {self.builds[1]['sha256'][:12]}); "
                f"differing CBFS entries: {what}{extra}"
                + (f"; triage: {self.triage}" if self.triage else ""))

    def text(self) -> str:
        lines = [self.summary(), ""]
        lines += [f"build {i + 1}: src={b['src']} uid={b['uid']} sha256={b['sha256']}"
                  for i, b in enumerate(self.builds)]
        if self.diffoscope:
            lines += ["", "diffoscope of the differing entries:", self.diffoscope]
        return "\n".join(lines) + "\n"


def double_build(ws: Workspace, runner: Runner, engine: Engine, first: BuildRun,
                 pristine: Path, logs: Path) -> Report:
    """Build `first.target` again at OTHER_PATH as OTHER_UID and compare with `first`."""
    report = Report(first.target.name)
    report.builds.append({"src": first.src_path, "uid": first.uid, "sha256": first.rom_sha256})
    with work_dir(ws, runner, first.target, OTHER_UID) as work2:
        second = BuildRun(first.target, first.image, first.jobs, src_path=OTHER_PATH,
                          uid=OTHER_UID, timeless=first.timeless,
                          source_date_epoch=first.source_date_epoch, work=work2)
        run_build(engine, runner, second, pristine, logs)
        report.builds.append({"src": second.src_path, "uid": second.uid,
                              "sha256": second.rom_sha256})
        if not runner.dry_run and not report.identical:
            triage = ws.firmware_dir / "triage" / first.target.name
            compare_cbfs(engine, runner, first, second, report, triage)
    return report


def compare_cbfs(engine: Engine, runner: Runner, a: BuildRun, b: BuildRun, report: Report,
                 triage: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="fwenv-cbfs-") as d:
        out = Path(d)
        os.chmod(out, 0o777)
        spec = ContainerSpec(
            image=a.image, command=["sh", "-c", COMPARE_SCRIPT],
            mounts=[Mount(str(a.tree), "/cmp/a", read_only=True),
                    Mount(str(b.tree), "/cmp/b", read_only=True), Mount(str(out), "/out")],
            network="none", user=f"{a.uid}:{a.uid}", env={"LC_ALL": "C", "TZ": "UTC"})
        runner.show(render(spec.cli()))
        with runner.step("extract and compare the CBFS entries of both ROMs"):
            run_container(engine, spec, runner, "CBFS comparison")
        names = {s: _entries(out / f"{s}.list") for s in ("a", "b")}
        report.only_in_one = sorted(set(names["a"]) ^ set(names["b"]))
        for n in names["a"]:
            if n in names["b"]:
                fa, fb = (out / s / n.replace("/", "_") for s in ("a", "b"))
                if _read(fa) != _read(fb):
                    report.differing.append(n)
        if report.differing and shutil.which("diffoscope"):
            report.diffoscope = _diffoscope(out, report.differing)
        if triage is not None:
            with runner.step(f"triage: diffoscope report in {triage}"):
                report.triage = str(rom_triage(triage, report.target, out, report.differing,
                                               (a.rom, b.rom))[0])


def _entries(listing: Path) -> list[str]:
    if not listing.is_file():
        return []
    rows = listing.read_text(errors="replace").splitlines()[1:]
    return [r.split("\t")[0] for r in rows if r and not r.startswith("(empty)")]


def _read(p: Path) -> bytes | None:
    return p.read_bytes() if p.is_file() else None


def _diffoscope(out: Path, names: list[str]) -> str:
    parts = []
    for n in names[:8]:
        f = n.replace("/", "_")
        try:
            p = subprocess.run(["diffoscope", "--no-progress", "--text", "-", "--max-report-size",
                                "200000", str(out / "a" / f), str(out / "b" / f)],
                               capture_output=True, text=True, timeout=120, check=False)
            parts.append(p.stdout)
        except subprocess.TimeoutExpired:
            parts.append(f"diffoscope of {n} timed out")
    return "\n".join(parts)
