"""What a release manager reads: sums as `sha256  name` lines (not a Python dict), and digests,
refs and error lines never cut by the terminal width (issue 15.6)."""

from __future__ import annotations

import io

from rich.console import Console

from fwenv.plan import Runner
from fwtasks.common import emit

DIGEST = "sha256:" + "ab" * 32
REF = f"127.0.0.1:5000/coreboot-build-env@{DIGEST}"


def _runner(width: int) -> tuple[Runner, io.StringIO]:
    out = io.StringIO()
    return Runner(console=Console(file=out, width=width, highlight=False)), out


def test_sums_print_as_sha256sum_lines() -> None:
    runner, out = _runner(200)
    sums = {"coreboot-build-env-1.0.tar.xz": "1" * 64, "sbom.cdx.json": "2" * 64}
    emit({"version": "1.0", "sums": sums}, False, runner)
    lines = out.getvalue().splitlines()
    for digest, name in (("1" * 64, "coreboot-build-env-1.0.tar.xz"), ("2" * 64, "sbom.cdx.json")):
        assert sum(ln.endswith(f" {digest}  {name}") for ln in lines) == 1, lines
    assert "{" not in out.getvalue()


def test_refs_and_digests_are_never_wrapped() -> None:
    runner, out = _runner(40)  # narrower than any of them
    runner.info(f"pushed {REF}")
    with runner.step(f"pull {REF}"):
        pass
    emit({"pushed": {"pinned": REF, "digest": DIGEST}}, False, runner)
    text = out.getvalue()
    assert f"pushed {REF}\n" in text
    assert f"pull {REF}" in text
    assert f"{REF}\n" in text.split("pushed ", 1)[1] and f" {DIGEST}" in text
