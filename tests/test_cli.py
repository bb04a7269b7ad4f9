"""The `zkoracle` command as a user runs it: a real process, a real Anvil, real proofs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEMO_FEED


def _zkoracle(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZKORACLE_HOME": str(home), "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "oracle", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_run_posts_rounds_and_shows_model_vs_onchain_values(tmp_path: Path, demo_circuit: object) -> None:
    result = _zkoracle("run", "--rounds", "2", str(DEMO_FEED), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = re.findall(
        r"model output \(float\)\s+([\d.]+)\n\s+consumer read on-chain\s+([\d.]+)\n"
        r"\s+\|difference\|\s+([\d.]+)\s+within the quantisation error ([\d.]+)\n.*submit gas ([\d,]+)",
        result.stdout,
    )
    assert len(reports) == 2, result.stdout
    for model, onchain, delta, tolerance, gas in reports:
        assert abs(abs(float(model) - float(onchain)) - float(delta)) < 1e-5
        assert float(delta) <= float(tolerance)
        assert int(gas.replace(",", "")) > 300_000

    status = _zkoracle("status", home=tmp_path)
    assert status.returncode == 0, status.stderr
    line = next(line for line in status.stdout.splitlines() if line.strip("│ ").startswith("demo"))
    cells = [cell.strip() for cell in line.strip("│").split("│")]
    assert cells[4] == "2" and cells[5] == "0"  # landed, failed
    assert cells[3].startswith("0x")


def test_build_reports_a_cached_circuit(tmp_path: Path, demo_circuit: object) -> None:
    result = _zkoracle("build", str(DEMO_FEED), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cached" in result.stdout and "dev SRS" in result.stdout


def test_bad_feed_is_a_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "feed.toml").write_text('id = "broken"\ndecimals = "eight"\n')
    result = _zkoracle("build", str(folder), home=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().startswith("error: feed 'broken', field '")
