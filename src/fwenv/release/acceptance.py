"""The networked acceptance run (`nox -s acceptance`): its plan, its network check, its report.

A maintainer with internet access runs it before a release. It builds the real environment twice
(the second time in a fresh store, so every package of ours is built again from source: no
substitute server has them), builds every coreboot target and Heads board in both images, boot-checks
the QEMU ones, compares the image IDs and every ROM hash, and writes one report.

This module only plans and judges: the nox session runs the steps (`invoke ...` argv lists).
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from ..errors import FwenvError

# What the run downloads from: Guix (time-machine, substitutes), GNU/GitHub/musl/coreboot origins.
PROBES = ("git.guix.gnu.org:443", "bordeaux.guix.gnu.org:443", "ftpmirror.gnu.org:443",
          "github.com:443", "review.coreboot.org:443")
PROBE_ENV = "FWENV_ACCEPTANCE_PROBES"  # comma-separated host:port, overrides PROBES
IMAGES = ("acceptance-a", "acceptance-b")  # coreboot-build-env:<tag> of the two builds
# coreboot's native graphics init (Ada): the x230 target of the run must enable it.
LIBGFXINIT = "CONFIG_MAINBOARD_USE_LIBGFXINIT=y"


@dataclass(frozen=True)
class Step:
    name: str
    argv: tuple[str, ...]
    image: str = ""  # which environment image the step uses ("" = none)
    target: str = ""  # firmware target or Heads board ("" = not a firmware step)


@dataclass
class Plan:
    steps: list[Step]
    targets: list[str]
    boot_checked: list[str]
    problems: list[str] = field(default_factory=list)  # data the run needs but lacks


def probe_network(probes: tuple[str, ...] | None = None, timeout: float = 5.0) -> str:
    """"" when every probe answers a TCP connect, else one line naming the first that does not."""
    env = os.environ.get(PROBE_ENV, "")
    for probe in probes or (tuple(p for p in env.split(",") if p) or PROBES):
        host, _, port = probe.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        except (OSError, ValueError) as e:
            reason = e.strerror or type(e).__name__ if isinstance(e, OSError) else str(e)
            return (f"nox -s acceptance needs the network and cannot reach {probe} ({reason}): "
                    "run it on a machine with internet access")
    return ""


def _toml(path: Path, table: str) -> dict:
    if not path.exists():
        raise FwenvError(f"{path} is missing: acceptance builds every target listed there")
    return tomllib.loads(path.read_text(encoding="utf-8")).get(table, {})


def _libgfxinit_target(coreboot: dict, sources: dict) -> str:
    """The lenovo/x230 target built with libgfxinit from an upstream (git) 25.09 source."""
    for name, t in sorted(coreboot.items()):
        src = sources.get(t.get("source", ""), {})
        if (t.get("board") == "lenovo/x230" and src.get("kind") == "git"
                and src.get("tag") == "25.09"
                and re.search(rf"^{re.escape(LIBGFXINIT)}$", t.get("defconfig", ""), re.M)):
            return name
    return ""


def plan(root: Path) -> Plan:
    """Every step of the acceptance run, from the target data under ROOT."""
    cb_path, heads_path = root / "coreboot" / "targets.toml", root / "heads" / "boards.toml"
    coreboot = _toml(cb_path, "targets")
    sources = _toml(cb_path, "sources")
    heads = _toml(heads_path, "boards")
    problems = []
    if not _libgfxinit_target(coreboot, sources):
        problems.append(f"{cb_path.relative_to(root)} has no lenovo/x230 target with {LIBGFXINIT} "
                        "from the upstream 25.09 git source: add one (docs/environment.md, "
                        "'Acceptance run')")
    if not heads:
        problems.append(f"{heads_path.relative_to(root)} lists no Heads board: add at least one")

    steps = [
        # 1. The environment, twice: the second build in a fresh store (--ephemeral), so that
        #    our packages (gnat, the cross compilers, musl-cross-heads) are built from source again.
        Step("env-a", ("invoke", "env.build", "--tag", IMAGES[0], "--force", "--json"), IMAGES[0]),
        Step("env-b", ("invoke", "env.build", "--tag", IMAGES[1], "--force", "--ephemeral",
                       "--json"), IMAGES[1]),
    ]
    names = sorted(coreboot) + sorted(heads)
    boot = sorted(n for n, t in {**coreboot, **heads}.items() if t.get("qemu_machine"))
    for name in names:
        t = coreboot.get(name) or heads[name]
        src = sources.get(t.get("source", ""), {})
        if name in heads or src.get("kind") == "git":
            steps.append(Step(f"fetch {name}", ("invoke", "firmware.fetch", "--target", name,
                                                "--json"), target=name))
        for image in IMAGES:
            argv = ["invoke", "firmware.build", "--target", name,
                    "--image", f"coreboot-build-env:{image}", "--json"]
            if name in boot:
                argv.insert(-1, "--boot")
            steps.append(Step(f"build {name} in {image}", tuple(argv), image, name))
    return Plan(steps, names, boot, problems)


def judge(results: dict[str, dict]) -> list[str]:
    """Mismatches between the two images: RESULTS maps step name -> its --json document."""
    bad = []
    ids = [results.get(f"env-{x}", {}).get("image", {}).get("image_id") for x in "ab"]
    if not all(ids) or ids[0] != ids[1]:
        bad.append(f"environment image IDs differ or are missing: {ids}")
    for a in (n for n in results if n.startswith("build ") and n.endswith(IMAGES[0])):
        b = a[: -len(IMAGES[0])] + IMAGES[1]
        ha, hb = results[a].get("sha256"), results.get(b, {}).get("sha256")
        if not ha or ha != hb:
            bad.append(f"{a[len('build '):-len(' in ' + IMAGES[0])]}: ROM sha256 {ha} vs {hb}")
    return bad


def write_report(out: Path, p: Plan, results: dict[str, dict], failures: dict[str, str]) -> Path:
    """One report: every step with its result, then the verdict. Written to a temp file, renamed."""
    bad = judge(results) + [f"{n}: {msg}" for n, msg in failures.items()]
    lines = ["# fwenv acceptance run", "", "| step | result |", "|---|---|"]
    for s in p.steps:
        r = results.get(s.name)
        shown = failures.get(s.name) or (json.dumps(r, sort_keys=True) if r else "not run")
        lines.append(f"| {s.name} | {shown} |")
    lines += ["", "## Verdict", ""] + ([f"- {b}" for b in bad] or ["- everything matched"])
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".REPORT.md.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out / "REPORT.md")
    return out / "REPORT.md"
