"""Tensors, not flat lists: the answer chosen by output tensor and index, samples as tensors or files of
several formats, and the circuit's error measured on held-out samples (real onnxruntime, real EZKL builds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_float
from oracle.deployments.contracts import circuit_config
from oracle.exceptions import FeedSpecError
from oracle.feed_circuit import build_feed_circuit, describe, feed_answer, measured_error
from oracle.feeds.answer import answer_position
from oracle.feeds.checks import check_feed
from oracle.feeds.loader import load_feed
from oracle.feeds.samples import read_samples
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel
from oracle.proof_checks import check_proof
from oracle.provers import LocalProver
from oracle.provers.feed_proof import FeedProof

NAMES = ["mean", "logits"]
SHAPES = [[1, 1], [2, 3]]


@pytest.mark.parametrize(
    ("output", "position"),
    [(0, 0), (6, 6), ("mean", 0), ("logits[0]", 1), ("logits[4]", 5), ("logits[1, 2]", 6), (" logits [ 0 , 1 ] ", 2)],
)
def test_an_output_resolves_to_its_flat_position(output: int | str, position: int) -> None:
    assert answer_position(output, NAMES, SHAPES, feed="f") == position


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (7, "the model has 7 output values, not 8"),
        ("logits", "output logits holds 6 values, not one"),
        ("logits[6]", "output logits holds 6 values, not 7"),
        ("logits[2, 0]", "'logits[2, 0]' is not an element of output logits [2, 3]"),
        ("logits[0, 0, 0]", "is not an element of output logits [2, 3]"),
        ("scores[1]", "no output tensor is named 'scores'"),
    ],
)
def test_an_output_the_model_lacks_is_one_line_listing_its_tensors(output: int | str, problem: str) -> None:
    with pytest.raises(FeedSpecError) as refused:
        answer_position(output, NAMES, SHAPES, feed="f")
    message = str(refused.value)
    assert refused.value.feed == "f" and refused.value.field == "output"
    assert problem in message and "(the model's outputs: mean [1, 1], logits [2, 3])" in message
    assert "use output = " in message and "\n" not in message


def _two_output_model(path: Path) -> Path:
    """prices [1, 4] -> mean [1, 1] (their average) and logits [1, 3] (a linear map)."""
    weights = np.array([[0.5, -1.0, 0.25], [1.0, 0.5, -0.5], [-0.25, 1.0, 0.5], [0.75, -0.5, 1.0]], np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["prices", "average"], ["mean"]),
            helper.make_node("MatMul", ["prices", "weights"], ["logits"]),
        ],
        "two-outputs",
        [helper.make_tensor_value_info("prices", TensorProto.FLOAT, [1, 4])],
        [
            helper.make_tensor_value_info("mean", TensorProto.FLOAT, [1, 1]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3]),
        ],
        [
            numpy_helper.from_array(np.full((4, 1), 0.25, np.float32), "average"),
            numpy_helper.from_array(weights, "weights"),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def _feed(folder: Path, *, output: str, samples: object, samples_file: str = "samples.json", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _two_output_model(folder / "model.onnx")
    if isinstance(samples, np.ndarray):
        np.save(folder / samples_file, samples)
    elif isinstance(samples, str):
        (folder / samples_file).write_text(samples)
    else:
        (folder / samples_file).write_text(json.dumps(samples))
    (folder / "feed.toml").write_text(
        f'id = "tensors"\ndescription = "two output tensors"\nmodel = "model.onnx"\nsamples = "{samples_file}"\n'
        f"decimals = 6\noutput = {output}\n"
        '[source]\nkind = "synthetic"\nwindow = 4\ntick_seconds = 10\nbase = 1.0\n'
        f"[schedule]\ninterval_seconds = 10\n[circuit]\n{extra}"
    )
    return folder


def _samples(count: int = 20) -> list[list[float]]:
    rng = np.random.default_rng(7)
    return rng.uniform(0.5, 1.5, size=(count, 4)).round(4).tolist()


def test_samples_may_be_tensors_csv_or_npy_and_are_flattened_row_major(tmp_path: Path) -> None:
    flat = _samples(3)
    nested = [[row] for row in flat]  # [1, 4] tensors, the model's input shape
    csv = "p0,p1,p2,p3\n" + "\n".join(",".join(str(x) for x in row) for row in flat) + "\n"
    for name, samples, file in [
        ("json", nested, "samples.json"),
        ("csv", csv, "samples.csv"),
        ("npy", np.array(nested), "samples.npy"),
    ]:
        spec = load_feed(_feed(tmp_path / name, output='"logits[2]"', samples=samples, samples_file=file))
        check_feed(spec)
        assert spec.load_samples() == flat, name


@pytest.mark.parametrize(
    ("samples", "problem"),
    [
        ([[[1.0, 2.0], [3.0, 4.0]]], "sample 0 in samples.json is a [2, 2] tensor, the model's source input is [1, 4]"),
        ([[1.0, 2.0, 3.0]], "sample 0 in samples.json has 3 values, the source feeds 4"),
        ([[1.0, 2.0, 3.0, 4.0], [[1.0], [2.0, 3.0]]], "samples.json: sample 1 is not a list of numbers"),
        ("{}", "samples.json: holds no samples"),
    ],
)
def test_a_sample_that_does_not_fit_the_model_is_one_line(tmp_path: Path, samples: object, problem: str) -> None:
    spec = load_feed(_feed(tmp_path / "feed", output="0", samples=samples))
    with pytest.raises(FeedSpecError) as refused:
        check_feed(spec)
    assert refused.value.field == "samples" and problem in str(refused.value), str(refused.value)


def test_read_samples_names_an_unknown_format_and_a_1d_array(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("1 2 3")
    with pytest.raises(FeedSpecError, match="unknown format .txt"):
        read_samples(tmp_path / "s.txt", feed="f")
    np.save(tmp_path / "s.npy", np.arange(4.0))
    with pytest.raises(FeedSpecError, match="a 1-D array; give one sample per row"):
        read_samples(tmp_path / "s.npy", feed="f")


def test_validate_refuses_an_output_the_model_lacks(tmp_path: Path) -> None:
    spec = load_feed(_feed(tmp_path / "feed", output='"logits[3]"', samples=_samples(3)))
    with pytest.raises(FeedSpecError, match=r"output logits holds 3 values, not 4 \(the model's outputs: "):
        check_feed(spec)


def test_a_malformed_output_is_refused_when_the_feed_loads(tmp_path: Path) -> None:
    with pytest.raises(FeedSpecError) as refused:
        load_feed(_feed(tmp_path / "feed", output='"logits[x]"', samples=_samples(3)))
    assert refused.value.field == "output"


def test_a_named_answer_is_proven_checked_and_registered_with_its_tensors_scale(
    tmp_path: Path, build_root: Path
) -> None:
    spec = load_feed(_feed(tmp_path / "feed", output='"logits[2]"', samples=_samples()))
    check_feed(spec)
    circuit = build_feed_circuit(spec, build_root=build_root).circuit
    manifest = circuit.first.manifest
    answer = feed_answer(spec, circuit)
    assert answer == 3  # after mean's one value

    # 20 samples: every 5th (4) kept out of calibration, measured per output value.
    assert manifest.held_out_samples == 4 and len(manifest.held_out_errors) == 4
    error = measured_error(spec, circuit)
    assert error.value == manifest.held_out_errors[answer] <= manifest.quantization_error
    assert f"answer error {error.value:.6f} on 4 held-out samples" in describe(spec, circuit)

    inputs = spec.model_input(spec.load_samples()[1], observed_at=1_700_000_000)
    expected = OnnxModel(circuit.model).run(inputs)
    proof = LocalProver().prove(circuit.first, inputs)
    checked = check_proof(spec, circuit, FeedProof.of(proof), inputs, model_output=expected[answer])
    proven = felt_to_float(proof.instances[manifest.answer_index(answer)], manifest.answer_scale(answer))
    assert checked.proven_output == proven
    assert abs(proven - expected[answer]) <= manifest.quantization_error

    config = circuit_config(spec, circuit, ["0x" + "22" * 20])
    assert config.output_index == manifest.input_instances + 3
    assert config.output_scale == manifest.output_scales[1]


def test_a_circuit_whose_held_out_error_exceeds_max_error_is_refused(tmp_path: Path, build_root: Path) -> None:
    spec = load_feed(_feed(tmp_path / "feed", output='"mean"', samples=_samples(), extra="max_error = 1e-9\n"))
    with pytest.raises(FeedSpecError) as refused:
        build_feed_circuit(spec, build_root=build_root)
    message = str(refused.value)
    assert refused.value.field == "circuit.max_error"
    assert "the circuit's answer differs from onnxruntime's by " in message and "on 4 held-out samples" in message
    assert "above max_error 1e-09" in message and 'calibration_target = "accuracy"' in message

    loose = load_feed(_feed(tmp_path / "loose", output='"mean"', samples=_samples(), extra="max_error = 0.5\n"))
    build_feed_circuit(loose, build_root=build_root)  # the same circuit, within a looser bound


def test_a_sliced_feed_names_its_answer_by_the_whole_model_s_outputs(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit
) -> None:
    named = sliced_spec.model_copy(update={"output": "forecast"})
    answer = feed_answer(named, sliced_circuit)
    assert sliced_circuit.answer_index(answer) == sliced_circuit.answer_index(0)
    assert sliced_circuit.answer_scale(answer) == sliced_circuit.output_scale
    with pytest.raises(
        FeedSpecError, match=r"no output tensor is named 'z3' \(the model's outputs: forecast \[1, 1\]\)"
    ):
        feed_answer(sliced_spec.model_copy(update={"output": "z3"}), sliced_circuit)
