"""Boot check: the ROM as QEMU's BIOS (software emulation), serial to a file, stages awaited.

Pass = coreboot's bootblock, romstage, ramstage messages and then the payload step (`Payload not
loaded.` with CONFIG_PAYLOAD_NONE, or a payload handing over). QEMU is always killed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FwenvError
from ..plan import Runner, render

QEMU = "qemu-system-x86_64"
# (stage, a line coreboot prints when it enters it), in boot order.
STAGES = (
    ("bootblock", "bootblock starting"),
    ("romstage", "romstage starting"),
    ("postcar", "postcar starting"),
    ("ramstage", "ramstage starting"),
)
REQUIRED = ("bootblock", "romstage", "ramstage")
# Strongest evidence first: our test payload's own line, then coreboot's hand-over messages.
PAYLOAD_MARKERS = ("FWENV-PAYLOAD-OK", "Payload not loaded.", "Jumping to boot code")
HANDOVER_GRACE = 3.0  # after "Jumping to boot code": time for the payload to speak or exit


@dataclass
class BootResult:
    rom: str
    machine: str
    passed: bool
    stages: list[str] = field(default_factory=list)
    payload: str = ""
    seconds: float = 0.0
    log: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "passed": self.passed, "stages": self.stages,
                "payload": self.payload}


def qemu_argv(rom: Path, machine: str, serial_log: Path) -> list[str]:
    return [QEMU, "-M", machine, "-m", "256", "-bios", str(rom), "-nographic", "-display", "none",
            "-monitor", "none", "-serial", f"file:{serial_log}", "-no-reboot", "-net", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def scan(text: str) -> tuple[list[str], str]:
    stages = [name for name, marker in STAGES if marker in text]
    payload = next((m for m in PAYLOAD_MARKERS if m in text), "")
    return stages, payload


def boot_rom(runner: Runner, rom: Path, machine: str = "pc", timeout: float = 120) -> BootResult:
    if machine not in ("pc", "q35"):
        raise FwenvError(f"--machine {machine!r}: use pc or q35")
    if timeout <= 0 or timeout > 3600:
        raise FwenvError(f"--timeout {timeout}: use 1..3600 seconds")
    with tempfile.TemporaryDirectory(prefix="fwenv-boot-") as d:
        serial = Path(d) / "serial.log"
        argv = qemu_argv(Path(rom).resolve(), machine, serial)
        runner.show(render(argv) + f"  # until the payload step, at most {timeout:g} s")
        if runner.dry_run:
            return BootResult(str(rom), machine, True)
        if not Path(rom).is_file():
            raise FwenvError(f"ROM {rom} not found: build it (invoke firmware.build --target T)")
        if shutil.which(QEMU) is None:
            raise FwenvError(f"{QEMU} not found: apt-get install qemu-system-x86 (scripts/setup)")
        with runner.step(f"boot {Path(rom).name} in QEMU -M {machine}"):
            res = _run_qemu(argv, serial, timeout)
    res.rom, res.machine = str(rom), machine
    if not res.passed:
        seen = ", ".join(res.stages) or "no coreboot stage"
        tail = res.log.strip().splitlines()[-1:] or ["(empty serial log)"]
        raise FwenvError(f"boot check of {Path(rom).name} failed after {res.seconds:.0f} s: saw "
                         f"{seen}, no payload step; last serial line: {tail[0][:120]!r}: "
                         "check the ROM (a truncated or wrong-board ROM does not boot)")
    return res


def _run_qemu(argv: list[str], serial: Path, timeout: float) -> BootResult:
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    text, payload = "", ""
    stages: list[str] = []
    handed_over = 0.0
    try:
        while time.monotonic() - start < timeout:
            text = serial.read_text(errors="replace") if serial.exists() else ""
            stages, payload = scan(text)
            if proc.poll() is not None or payload in PAYLOAD_MARKERS[:2]:
                break
            if payload:  # handed over to a payload: give it a moment to print or exit
                handed_over = handed_over or time.monotonic()
                if time.monotonic() - handed_over > HANDOVER_GRACE:
                    break
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        qemu_out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    text = serial.read_text(errors="replace") if serial.exists() else text
    stages, payload = scan(text)
    passed = bool(payload) and all(s in stages for s in REQUIRED)
    log = text + (f"\n--- qemu output ---\n{qemu_out}" if qemu_out.strip() else "")
    return BootResult("", "", passed, stages, payload, time.monotonic() - start, log)
