"""A release resumed after a failed push vs a full release (goal: resume ≤ 0.1 × full).

Drives the real `invoke` CLI in a scratch clone of this checkout, releasing the offline test
environment (tests/pack/offline, as docs/release.md shows) with --push to a loopback
docker-registry that this script starts. The failed release: the registry is stopped once both
builds agreed (at the SBOM step), so the push fails; it is started again and
`invoke release --resume` publishes from the kept builds.

full:  a complete release of another version (two builds, import, SBOM, push)
       --quick: not run; full is taken as failed run + resume (the same work, one release)
Needs the engine (run under the shared lock), docker-registry, and a builder image with busybox
(FWENV_TEST_OFFLINE_BUILDER, default guix-pack-builder:1.5.0).
Run: flock /tmp/fwenv-engine.lock .venv/bin/python benchmarks/release_resume_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = "coreboot-build-env"


def offline_release(version: str, builder: str, registry: str) -> list[str]:
    return ["release", "--version", version, "--allow-dirty",
            "--manifest", "tests/pack/offline/manifest.scm", "--load-path", "tests/pack/offline",
            "--no-time-machine", "--no-substitutes", "--guix-option=--bootstrap",
            "--compressor=xz", "--builder", builder,
            "--push", registry]


class Registry:
    def __init__(self, d: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{s.getsockname()[1]}"
        self.config = d / "registry.yml"
        self.config.write_text("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                               f"    rootdirectory: {d / 'data'}\nhttp:\n"
                               f"  addr: {self.address}\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("docker-registry did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def invoke(clone: Path, argv: list[str], stop_at: str = "",
           registry: Registry | None = None) -> tuple[int, float, str]:
    """Run `invoke ARGV`; stop the registry when stderr shows `stop_at`. (code, seconds, stderr)"""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "invoke", *argv], cwd=clone, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = []
    for line in proc.stderr:
        err.append(line)
        if stop_at and stop_at in line and registry is not None:
            registry.stop()
            stop_at = ""
    code = proc.wait()
    return code, time.monotonic() - start, "".join(err)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="no separate full release: full = failed run + resume")
    args = ap.parse_args()
    builder = os.environ.get("FWENV_TEST_OFFLINE_BUILDER", "guix-pack-builder:1.5.0")
    tag = f"bench{os.getpid()}"
    made = []
    with tempfile.TemporaryDirectory(prefix="fwenv-resume-bench-") as d:
        base = Path(d)
        clone = base / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        reg = Registry(base)
        reg.start()
        try:
            v = f"0.0.1-{tag}"
            made += [f"{ENV}:{v}", f"{reg.address}/{ENV}:{v}"]
            code, failed, err = invoke(clone, offline_release(v, builder, reg.address),
                                       stop_at="SBOM and sums", registry=reg)
            if code != 1 or "--resume" not in err:
                raise SystemExit(f"the interrupted release did not fail as expected:\n{err}")
            reg.start()
            code, resumed, err = invoke(clone, [*offline_release(v, builder, reg.address),
                                                "--resume"])
            if code != 0:
                raise SystemExit(f"resume failed:\n{err}")
            if args.quick:
                full, how = failed + resumed, "failed run + resume"
            else:
                v2 = f"0.0.2-{tag}"
                made += [f"{ENV}:{v2}", f"{reg.address}/{ENV}:{v2}"]
                code, full, err = invoke(clone, offline_release(v2, builder, reg.address))
                if code != 0:
                    raise SystemExit(f"full release failed:\n{err}")
                how = "a complete release"
        finally:
            reg.stop()
            for ref in made:
                subprocess.run(["docker", "rmi", ref], capture_output=True, check=False)
    print(f"full release      {full:8.2f} s   ({how})")
    print(f"failed release    {failed:8.2f} s   (registry stopped after both builds agreed)")
    print(f"resumed release   {resumed:8.2f} s   "
          "(--resume: re-check builds and kept artifacts, import, push)")
    ratio = resumed / full
    print(f"resume / full     {ratio:8.3f}     (goal ≤ 0.1: {'met' if ratio <= 0.1 else 'NOT met'})")


if __name__ == "__main__":
    main()
