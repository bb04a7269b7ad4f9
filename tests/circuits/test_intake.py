"""Model intake on real exported models: the onnx wheel's opset-6 PyTorch exports, and hand-made edge cases."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from oracle.circuits.build import CircuitOptions, build_key
from oracle.circuits.intake import TARGET_OPSET, default_opset, prepare_bytes, prepare_model
from oracle.exceptions import ModelIntakeError
from oracle.paths import PROJECT_ROOT
from tests.conftest import pytorch_converted

OLD_MODELS = ("PReLU_1d", "Linear", "Conv2d")


def _reference(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The input and output PyTorch recorded next to the model when it was exported."""
    data = pytorch_converted(name).parent / "test_data_set_0"
    return (
        numpy_helper.to_array(onnx.load_tensor(str(data / "input_0.pb"))),
        numpy_helper.to_array(onnx.load_tensor(str(data / "output_0.pb"))),
    )


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def _matmul_model(*, batch: int | str) -> onnx.ModelProto:
    weights = numpy_helper.from_array(np.arange(80, dtype=np.float32).reshape(10, 8) / 80, "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="project")],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8])],
        [weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("name", OLD_MODELS)
def test_opset_6_exports_are_upgraded_and_compute_what_pytorch_recorded(name: str) -> None:
    path = pytorch_converted(name)
    original = path.read_bytes()
    prepared = prepare_model(path, feed="old")
    assert path.read_bytes() == original  # the operator's file is never touched
    assert prepared.intake is not None
    assert prepared.intake.original_sha256 == hashlib.sha256(original).hexdigest()
    assert (prepared.intake.original_opset, prepared.intake.opset) == (6, TARGET_OPSET)
    assert prepared.intake.changes == [f"opset 6 -> {TARGET_OPSET}", "IR version 3 -> 7"]
    assert default_opset(onnx.load_from_string(prepared.onnx_bytes)) == TARGET_OPSET

    given, expected = _reference(name)
    model = prepared.inference()
    assert model.input_shapes == [list(given.shape)]  # the weights, listed as IR-3 inputs, are not inputs
    assert model.output_shapes == [list(expected.shape)]
    np.testing.assert_allclose(model.run(given.ravel().tolist()), expected.ravel(), rtol=1e-5, atol=1e-6)


def test_preparing_is_deterministic_so_the_content_key_is_stable() -> None:
    path = pytorch_converted("PReLU_1d")
    first, second = prepare_model(path), prepare_model(path)
    assert first.onnx_bytes == second.onnx_bytes
    samples = [[0.5] * 24]
    assert build_key(first.onnx_bytes, CircuitOptions(), samples) == build_key(
        second.onnx_bytes, CircuitOptions(), samples
    )


@pytest.mark.parametrize("feed", ["demo", "lending-risk", "sliced", "volatility"])
def test_a_current_model_passes_through_byte_for_byte(feed: str) -> None:
    path = PROJECT_ROOT / "feeds" / feed / "model.onnx"
    prepared = prepare_model(path, feed=feed)
    assert prepared.intake is None
    assert prepared.onnx_bytes == path.read_bytes()  # so its circuit keeps its content key and cache


def test_a_symbolic_batch_dimension_is_solved_from_the_samples_size(tmp_path: Path) -> None:
    path = _save(_matmul_model(batch="N"), tmp_path / "dynamic.onnx")
    batch_of_4 = prepare_model(path, input_size=40)
    assert batch_of_4.inference().input_shapes == [[4, 10]]
    assert batch_of_4.inference().output_shapes == [[4, 8]]
    assert batch_of_4.intake is not None
    assert batch_of_4.intake.changes == ["input 'x' shape [N, 10] -> [4, 10]", "output 'y' shape [N, 8] -> [4, 8]"]
    # Unknown sample size (as at `init`): the batch is 1.
    assert prepare_model(path).inference().input_shapes == [[1, 10]]
    # A size no batch fits leaves it at 1, for the samples check to report.
    assert prepare_model(path, input_size=15).inference().input_shapes == [[1, 10]]


def test_a_file_that_is_not_a_model_is_one_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(ModelIntakeError, match=r"^feed 'x', field 'model': junk.onnx: is not an ONNX model"):
        prepare_model(junk, feed="x")
    with pytest.raises(ModelIntakeError, match=r"^model missing.onnx: cannot read model file"):
        prepare_model(tmp_path / "missing.onnx")


def test_an_invalid_node_is_named_with_its_op_type() -> None:
    model = _matmul_model(batch=1)
    model.graph.node.append(helper.make_node("Relu", ["y", "y"], ["z"], name="double-relu"))
    model.graph.output[0].name = "z"
    with pytest.raises(ModelIntakeError) as caught:
        prepare_bytes(model.SerializeToString(), name="bad.onnx", feed="bad")
    error = caught.value
    assert (error.feed, error.node, error.op_type) == ("bad", "'double-relu'", "Relu")
    assert str(error).startswith("feed 'bad', field 'model': bad.onnx, node 'double-relu' (Relu): ")


def test_an_operator_onnxruntime_cannot_run_is_named_with_a_fix() -> None:
    model = _matmul_model(batch=1)
    # A custom-domain operator: valid ONNX, but no runtime has a kernel for it.
    model.graph.node.append(helper.make_node("Mystery", ["y"], ["z"], domain="com.example"))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 8]))
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(ModelIntakeError) as caught:
        prepare_bytes(model.SerializeToString(), name="custom.onnx", feed="custom")
    error = caught.value
    assert (error.node, error.op_type) == ("#1 (unnamed)", "Mystery")
    message = str(error)
    assert "onnxruntime cannot run it" in message and "replace the Mystery operator" in message
    assert len(message.splitlines()) == 1


def test_an_attribute_the_upgrade_turns_into_an_initializer_is_a_valid_ir_7_model() -> None:
    # Pad-2's pads become an initializer of Pad-13, which IR 3 would have to list as a graph input.
    prepared = prepare_model(pytorch_converted("ConstantPad2d"), feed="pad")
    assert prepared.intake is not None and "IR version 3 -> 7" in prepared.intake.changes
    assert onnx.load_from_string(prepared.onnx_bytes).ir_version == 7



def test_an_integer_input_is_fed_as_the_integers_the_model_declares() -> None:
    # test_Embedding looks rows up by int64 indices: the flat float values are passed as int64.
    prepared = prepare_model(pytorch_converted("Embedding"), feed="lookup")
    given, expected = _reference("Embedding")
    assert given.dtype == np.int64
    model = prepared.inference()
    np.testing.assert_allclose(model.run([float(i) for i in given.ravel()]), expected.ravel(), rtol=1e-6)


@pytest.mark.parametrize("name", ["PReLU_1d_multiparam", "PReLU_2d_multiparam", "PReLU_3d_multiparam"])
def test_an_opset_6_per_channel_slope_is_reshaped_to_mean_what_pytorch_computed(name: str) -> None:
    prepared = prepare_model(pytorch_converted(name))
    assert prepared.intake is not None
    rank = len(_reference(name)[0].shape)
    assert prepared.intake.changes[-1] == (
        f"PRelu slope '1' [3] -> {[3] + [1] * (rank - 2)} (per channel, as opset 6 meant)"
    )
    given, expected = _reference(name)
    np.testing.assert_allclose(prepared.inference().run(given.ravel().tolist()), expected.ravel(), rtol=1e-5, atol=1e-6)
