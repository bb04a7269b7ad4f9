"""A model someone else exported, taken through `zkoracle` as a feed operator would: a real process, a real Anvil."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import pytorch_converted

ONNXRUNTIME_WARNING = "W:onnxruntime"


def _zkoracle(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oracle", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ZKORACLE_HOME": str(home), "COLUMNS": "400"},
        timeout=timeout,
        check=False,
    )


def _quiet(result: subprocess.CompletedProcess[str]) -> bool:
    output = result.stdout + result.stderr
    return ONNXRUNTIME_WARNING not in output and "Traceback" not in output


def test_an_opset_6_export_goes_from_init_to_a_landed_round(tmp_path: Path) -> None:
    model = pytorch_converted("PReLU_1d")  # PRelu-6: onnxruntime has no kernel until it is upgraded
    folder = tmp_path / "prelu"
    init = _zkoracle("init", str(folder), "--model", str(model), home=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "taking 27 values (24 from the source" in init.stdout and _quiet(init)  # a [2, 3, 4] tensor + 3 limbs
    assert (folder / "model.onnx").read_bytes() == model.read_bytes()  # the original is kept as exported

    validate = _zkoracle("feeds", "validate", str(folder), home=tmp_path)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert _quiet(validate)

    run = _zkoracle("run", str(folder), "--rounds", "1", home=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^prelu round \d+.* → on-chain", run.stdout, re.MULTILINE), run.stdout
    assert "within the quantisation error" in run.stdout
    assert _quiet(run)


# With PReLU_1d and Linear above, ten of the wheel's PyTorch exports covering its families of
# operators: Gemm, Conv1d/2d, pooling, normalisation and activations (bench.models takes all of them).
OPERATOR_FAMILIES = [
    "Conv1d",
    "Conv2d",
    "AvgPool2d",
    "MaxPool1d",
    "BatchNorm1d_3d_input_eval",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
]


@pytest.mark.parametrize("name", OPERATOR_FAMILIES)
def test_a_pytorch_export_goes_from_init_through_validate_to_a_proven_round(name: str, tmp_path: Path) -> None:
    folder = tmp_path / name.lower()
    init = _zkoracle("init", str(folder), "--model", str(pytorch_converted(name)), home=tmp_path)
    assert init.returncode == 0 and _quiet(init), init.stdout + init.stderr

    validate = _zkoracle("feeds", "validate", str(folder), home=tmp_path)
    assert validate.returncode == 0 and _quiet(validate), validate.stdout + validate.stderr

    run = _zkoracle("run", str(folder), "--rounds", "1", home=tmp_path)
    assert run.returncode == 0 and _quiet(run), run.stdout + run.stderr
    assert re.search(rf"^{re.escape(folder.name)} round \d+.* → on-chain", run.stdout, re.MULTILINE), run.stdout
    assert "within the quantisation error" in run.stdout


def test_a_model_whose_verifier_is_over_eip170_lands_through_the_reusable_verifier(tmp_path: Path) -> None:
    folder = tmp_path / "linear"  # Gemm-6 on a batch of 4: 40 inputs and 32 outputs, all public
    init = _zkoracle("init", str(folder), "--model", str(pytorch_converted("Linear")), home=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _zkoracle("feeds", "validate", str(folder), home=tmp_path)
    assert validate.returncode == 0 and _quiet(validate), validate.stdout + validate.stderr

    build = _zkoracle("build", str(folder), home=tmp_path)
    assert build.returncode == 0 and _quiet(build), build.stdout + build.stderr
    assert "EZKL's reusable verifier with a " in build.stdout and "-word VKA" in build.stdout

    run = _zkoracle("run", str(folder), "--rounds", "1", home=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^linear round \d+.* → on-chain", run.stdout, re.MULTILINE), run.stdout
    assert "within the quantisation error" in run.stdout
    assert _quiet(run)


def test_validating_a_folder_that_does_not_exist_names_that_folder(tmp_path: Path) -> None:
    missing = tmp_path / "feeds" / "nowhere"
    result = _zkoracle("feeds", "validate", str(missing), home=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"error {missing}: feed 'nowhere', field 'folder': {missing} does not exist; "
        "pass a feed folder containing feed.toml"
    )


def test_init_calibrates_on_real_tensors_and_a_named_output_lands_a_round(tmp_path: Path) -> None:
    model = pytorch_converted("PReLU_1d")  # input '0' and output '2', both [2, 3, 4]
    tensors = np.random.default_rng(3).uniform(-2.0, 2.0, size=(10, 2, 3, 4)).round(3)
    np.save(tmp_path / "real.npy", tensors)
    folder = tmp_path / "prelu"
    init = _zkoracle("init", str(folder), "--model", str(model), "--samples", str(tmp_path / "real.npy"), home=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "10 real samples" in init.stdout and _quiet(init)
    assert json.loads((folder / "samples.json").read_text()) == tensors.reshape(10, 24).tolist()  # row-major
    toml = folder / "feed.toml"
    toml.write_text(toml.read_text().replace("decimals = 8\n", 'decimals = 8\noutput = "2[5]"\n'))

    listed = _zkoracle("feeds", "list", str(folder), home=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "0 [2, 3, 4], observed_at [1, 3]" in listed.stdout and "2 [2, 3, 4]" in listed.stdout
    assert "2[5]" in listed.stdout

    run = _zkoracle("run", str(folder), "--rounds", "1", home=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "answer error" in run.stdout and "on 2 held-out samples" in run.stdout  # every 5th of 10
    assert re.search(r"^prelu round \d+.* → on-chain", run.stdout, re.MULTILINE), run.stdout
    assert _quiet(run)


def test_init_refuses_samples_that_do_not_fit_the_model_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "short.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    folder = tmp_path / "prelu"
    init = _zkoracle(
        "init",
        str(folder),
        "--model",
        str(pytorch_converted("PReLU_1d")),
        "--samples",
        str(tmp_path / "short.csv"),
        home=tmp_path,
    )
    assert init.returncode == 1 and _quiet(init) and not folder.exists()
    assert init.stdout.strip() == (
        "error: feed 'prelu', field '--samples': sample 0 in short.csv has 3 values, the source feeds 24; "
        "give each sample as a flat list of 24 values (row-major, model input order) or a [2, 3, 4] tensor"
    )


@pytest.mark.parametrize(
    ("name", "values"),
    [("MaxPool1d_stride_padding_dilation", "241,824"), ("MaxPool2d_stride_padding_dilation", "1,001,078")],
)
def test_a_model_too_wide_to_post_on_chain_is_refused_by_init_in_one_line(
    name: str, values: str, tmp_path: Path
) -> None:
    folder = tmp_path / "wide"
    init = _zkoracle("init", str(folder), "--model", str(pytorch_converted(name)), home=tmp_path)
    assert init.returncode == 1 and _quiet(init) and not folder.exists(), init.stdout + init.stderr
    line = init.stdout.strip()
    assert "\n" not in line and line.startswith("error: feed 'wide', field 'model': model.onnx: ")
    assert f"its inputs and outputs hold {values} values, each a public instance posted in submit's calldata" in line
    assert line.endswith("return only the values the feed answers with)")
