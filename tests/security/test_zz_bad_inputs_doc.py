"""docs/bad-inputs.md says what the tests in this directory saw (runs last: `zz`).

Each row recorded in this session must be in the table as recorded; the table has at least 40
rows. scripts/bad-inputs-doc rewrites it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-inputs.md"


@pytest.mark.skipif(os.environ.get("FWENV_WRITE_BAD_INPUTS") == "1", reason="being rewritten")
def test_bad_inputs_doc_is_current(bad_input_records: dict[tuple[str, str], str],
                                   request: pytest.FixtureRequest) -> None:
    doc_rows = request.config.pluginmanager.get_plugin(
        str(Path(__file__).with_name("conftest.py"))).doc_rows  # the conftest's parser
    rows = doc_rows(DOC.read_text())
    assert len(rows) >= 40, f"{DOC.name} has {len(rows)} rows: run scripts/bad-inputs-doc"
    stale = {k: v for k, v in bad_input_records.items() if rows.get(k) != v}
    assert not stale, f"{DOC.name} is out of date for {sorted(stale)[:3]}: run scripts/bad-inputs-doc"
