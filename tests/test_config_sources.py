"""`invoke config`: every effective setting names the source it came from (no engine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fwenv.config import load_config, settings

ROOT = Path(__file__).resolve().parents[1]


def _by_key(monkeypatch, **env: str) -> dict:
    for k in ("FWENV_OUTPUT_DIR", "FWENV_FIRMWARE_CACHE_SEARCH"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return {s.key: s for s in settings(load_config(ROOT))}


def test_every_source_is_named(monkeypatch) -> None:
    rows = _by_key(monkeypatch)
    assert rows["builder.suite"].source == "pyproject.toml [tool.fwenv.builder]"
    assert rows["environment.pack.entry_point"].source == "guix/environment.toml"
    assert rows["recipe.guix-debian.suite"].source == "containers/guix-debian/recipe.toml"
    assert any(s.source == "coreboot/targets.toml" for s in rows.values())
    assert any(s.source == "heads/boards.toml" for s in rows.values())


def test_environment_variables_override_and_say_so(monkeypatch, tmp_path: Path) -> None:
    rows = _by_key(monkeypatch, FWENV_OUTPUT_DIR=str(tmp_path),
                   FWENV_FIRMWARE_CACHE_SEARCH="/a:/b")
    assert (rows["output_dir"].value, rows["output_dir"].source) == (str(tmp_path),
                                                                    "$FWENV_OUTPUT_DIR")
    assert rows["firmware.cache_search"].value == ["/a", "/b"]
    assert load_config(ROOT).output_dir == tmp_path  # the value the steps use is the same


def test_invoke_config_json() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FWENV_")}
    out = subprocess.run([sys.executable, "-m", "invoke", "config", "--json"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)["settings"]
    assert {"key": "env_image", "value": "coreboot-build-env",
            "source": "pyproject.toml [tool.fwenv]"} in rows
