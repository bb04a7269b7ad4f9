"""`zkoracle feeds validate|list` and `zkoracle init`, run as a user runs them: a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from oracle.circuits.artifacts import sample_bounds
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.feeds.inputs import CalibratedRange
from oracle.feeds.loader import load_feed
from oracle.inference import OnnxModel
from oracle.paths import PROJECT_ROOT
from oracle.sources.factory import create_source
from tests.conftest import DEMO_FEED

EXAMPLES = ("attested", "demo", "lending-risk", "multi-asset", "sliced", "stacked", "volatility")


def _zkoracle(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oracle", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_validate_checks_every_shipped_feed_by_default() -> None:
    result = _zkoracle("feeds", "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(line.split(": ")[-1] for line in result.stdout.splitlines() if line.startswith("ok")) == sorted(
        EXAMPLES
    )


def test_validate_reports_each_broken_feed_and_exits_1(tmp_path: Path) -> None:
    short = tmp_path / "short-samples"
    shutil.copytree(DEMO_FEED, short)
    (short / "samples.json").write_text(json.dumps([[2000.0, 2001.0, 2002.0]]))
    bad_toml = tmp_path / "bad-toml"
    shutil.copytree(DEMO_FEED, bad_toml)
    (bad_toml / "feed.toml").write_text((bad_toml / "feed.toml").read_text().replace("decimals = 8", "decimals = 99"))

    result = _zkoracle("feeds", "validate", str(DEMO_FEED), str(short), str(bad_toml))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok") and lines[0].endswith(": demo")
    assert lines[1].startswith(f"error {short}: feed 'demo', field 'samples': sample 0 in samples.json has 3 values")
    assert lines[2].startswith(f"error {bad_toml}: feed 'demo', field 'decimals'") and "0 to 36" in lines[2]
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_refuses_permissionless_relaying_of_operator_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    shutil.copytree(DEMO_FEED, folder)
    toml = folder / "feed.toml"
    toml.write_text(toml.read_text().replace("permissionless = false", "permissionless = true"))

    result = _zkoracle("feeds", "validate", str(folder))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"error {folder}: feed 'demo', field 'onchain.permissionless': ")
    assert "cannot use the operator input policy" in line
    assert 'set onchain.input_policy = "attested"' in line  # the fix


def test_list_shows_id_source_schedule_model_shapes_answer_and_decimals() -> None:
    result = _zkoracle("feeds", "list")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {
        cells[0]: cells
        for line in result.stdout.splitlines()
        if len(cells := [cell.strip() for cell in line.strip("│").split("│")]) == 9
    }
    assert rows["demo"][2:] == [
        "synthetic",
        "every 10s",
        "feeds/demo/model.onnx",
        "prices [1, 4], observed_at [1, 3]",
        "forecast [1, 1]",
        "0",
        "8",
    ]
    assert rows["volatility"][2:5] == ["file", "every 10s", "feeds/volatility/model.onnx"]
    assert rows["volatility"][5:] == ["closes [1, 8], observed_at [1, 3]", "forecast [1, 1]", "0", "6"]
    assert rows["lending-risk"][2] == "callable" and rows["lending-risk"][1].startswith("ETH / USDC lending")


def test_init_scaffolds_a_feed_that_validates_and_fetches_in_range(tmp_path: Path) -> None:
    model = PROJECT_ROOT / "feeds" / "lending-risk" / "model.onnx"  # two input tensors: 6 features + 3 limbs
    folder = tmp_path / "My Risk Feed"
    result = _zkoracle("init", str(folder), "--model", str(model))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created" in result.stdout and "taking 9 values" in result.stdout

    spec = load_feed(folder)
    assert spec.id == "my-risk-feed" and spec.source.kind == "file"
    assert spec.onchain.rounds_retained == 1024  # a new feed's rounds rewrite their slots once it has 1,024
    assert (folder / "model.onnx").read_bytes() == model.read_bytes()
    samples = spec.load_samples()
    # The source's values: the node appends the observation time's limbs.
    assert all(len(sample) == OnnxModel(spec.model_path).input_size - OBSERVED_AT_LIMBS for sample in samples)
    assert "TODO" in (folder / "feed.toml").read_text()
    values = spec.input.apply(list(create_source(spec.source).fetch(now=time.time())))
    CalibratedRange.widened(*sample_bounds(samples), margin=spec.input.range_margin).check(values, feed=spec.id)
    assert _zkoracle("feeds", "validate", str(folder)).returncode == 0

    again = _zkoracle("init", str(folder), "--model", str(model), "--id", "other")
    assert again.returncode == 1 and again.stdout.startswith("error: feed 'other', field 'feed.toml'")


def test_init_refuses_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    result = _zkoracle("init", str(tmp_path / "feed"), "--model", str(junk), "--id", "junk")
    assert result.returncode == 1
    assert result.stdout.startswith("error: feed 'junk', field 'model': junk.onnx: is not an ONNX model")
    assert not (tmp_path / "feed").exists()

    bad_id = _zkoracle("init", str(tmp_path / "feed"), "--model", str(DEMO_FEED / "model.onnx"), "--id", "ETH USD")
    assert bad_id.returncode == 1 and bad_id.stdout.startswith("error: feed 'ETH USD', field 'id'")
    assert not (tmp_path / "feed").exists()
