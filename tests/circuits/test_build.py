from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from oracle.circuits.artifacts import CircuitArtifacts, model_commitment
from oracle.circuits.build import (
    DEFAULT_DECOMPOSITION_ROWS,
    SMALL_DECOMPOSITION,
    CircuitOptions,
    build_circuit,
    calibrated_settings,
)
from oracle.circuits.ezkl_failures import refusal_in
from oracle.circuits.intake import MAX_PUBLIC_VALUES, prepare_model
from oracle.circuits.slicing_plan import RANGE_CHECK_LOGROWS
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.exceptions import CircuitError, ModelIntakeError
from oracle.feeds.schema import FeedSpec
from tests.conftest import pytorch_converted

SAMPLES = [[0.5, -0.25, 1.0], [1.5, 0.75, -1.0], [-0.5, 0.0, 0.25]]


def _linear_model(path: Path, weights: list[float]) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(np.array([weights], dtype=np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _wide_model(path: Path, *, inputs: int, outputs: int) -> Path:
    weights = np.random.default_rng(7).uniform(-0.1, 0.1, size=(outputs, inputs)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, outputs])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_demo_circuit_has_public_inputs_and_output(demo_spec: FeedSpec, demo_circuit: CircuitArtifacts) -> None:
    manifest = demo_circuit.manifest
    inputs = demo_spec.source.window + OBSERVED_AT_LIMBS  # prices, then the observation time
    assert manifest.input_size == manifest.input_instances == inputs
    assert manifest.instance_count == inputs + 1
    assert manifest.answer_index(0) == inputs
    assert manifest.dev_srs
    assert 0 < manifest.quantization_error < 1.0
    for path in (demo_circuit.pk, demo_circuit.vk, demo_circuit.verifier_source, demo_circuit.srs):
        assert path.is_file()
    abi, bytecode = demo_circuit.verifier_abi_and_bytecode()
    assert any(entry.get("name") == "verifyProof" for entry in abi) and bytecode.startswith("0x")
    assert manifest.model_commitment == model_commitment(
        onnx_bytes=demo_spec.model_path.read_bytes(),
        settings_bytes=demo_circuit.settings.read_bytes(),
        vk_bytes=demo_circuit.vk.read_bytes(),
    )


def test_a_small_circuit_takes_the_small_range_check_table_and_fewer_rows(demo_circuit: CircuitArtifacts) -> None:
    run_args = json.loads(demo_circuit.settings.read_text())["run_args"]
    assert (run_args["decomp_base"], run_args["decomp_legs"]) == SMALL_DECOMPOSITION
    # The default 2**14-row table alone would need logrows 15.
    assert demo_circuit.manifest.logrows == run_args["logrows"] < RANGE_CHECK_LOGROWS


def test_a_circuit_of_2_14_rows_or_more_keeps_the_default_table(tmp_path: Path) -> None:
    wide = _wide_model(tmp_path / "wide.onnx", inputs=128, outputs=256)
    settings = calibrated_settings(wide, [[0.01 * i for i in range(128)]], CircuitOptions())
    assert settings["num_rows"] >= DEFAULT_DECOMPOSITION_ROWS
    assert settings["run_args"]["decomp_base"] == DEFAULT_DECOMPOSITION_ROWS


def test_second_build_is_cached_and_does_no_ezkl_work(tmp_path: Path) -> None:
    model = _linear_model(tmp_path / "linear.onnx", [0.5, -1.0, 2.0])
    first = build_circuit(model, SAMPLES, build_root=tmp_path / "build")
    pk_mtime = first.artifacts.pk.stat().st_mtime_ns
    second = build_circuit(model, SAMPLES, build_root=tmp_path / "build")
    assert not first.cached and second.cached
    assert second.artifacts.root == first.artifacts.root
    assert second.artifacts.pk.stat().st_mtime_ns == pk_mtime
    # The range the pipeline holds inputs to is recorded once, at build time.
    manifest = second.artifacts.manifest
    assert (manifest.sample_lows, manifest.sample_highs) == ([-0.5, -0.25, -1.0], [1.5, 0.75, 1.0])
    assert second.seconds < 0.1 * first.seconds
    assert not list((tmp_path / "build").glob("*.partial*"))


def test_changed_model_gets_its_own_circuit(tmp_path: Path, build_root: Path) -> None:
    a = build_circuit(_linear_model(tmp_path / "a.onnx", [0.5, -1.0, 2.0]), SAMPLES, build_root=build_root)
    b = build_circuit(_linear_model(tmp_path / "b.onnx", [0.5, -1.0, 2.5]), SAMPLES, build_root=build_root)
    assert a.artifacts.manifest.key != b.artifacts.manifest.key
    assert a.artifacts.manifest.model_commitment != b.artifacts.manifest.model_commitment


def test_unreadable_model_and_missing_samples_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CircuitError, match="cannot read model"):
        build_circuit(tmp_path / "missing.onnx", SAMPLES, build_root=tmp_path)
    model = _linear_model(tmp_path / "m.onnx", [1.0, 1.0, 1.0])
    with pytest.raises(CircuitError, match="sample input"):
        build_circuit(model, [], build_root=tmp_path)


def test_manifest_round_trips(demo_circuit: CircuitArtifacts) -> None:
    reloaded = CircuitArtifacts.load(demo_circuit.root)
    assert reloaded == demo_circuit
    assert json.loads((demo_circuit.root / "manifest.json").read_text())["key"] == demo_circuit.manifest.key


def test_an_old_export_is_built_from_and_committed_as_its_prepared_model(build_root: Path) -> None:
    model = pytorch_converted("PReLU_1d")  # opset 6: onnxruntime cannot run it as exported
    samples = [[-1.0] * 24, [1.0] * 24, [0.25 * (i % 8 - 4) for i in range(24)]]
    built = build_circuit(model, samples, build_root=build_root, feed="prelu").artifacts
    prepared = prepare_model(model, input_size=24)
    assert built.model.read_bytes() == prepared.onnx_bytes != model.read_bytes()
    manifest = built.manifest
    assert manifest.intake == prepared.intake
    assert manifest.intake is not None and (manifest.intake.original_opset, manifest.intake.opset) == (6, 13)
    assert manifest.input_shapes == manifest.output_shapes == [[2, 3, 4]]
    assert manifest.model_commitment == model_commitment(
        onnx_bytes=prepared.onnx_bytes, settings_bytes=built.settings.read_bytes(), vk_bytes=built.vk.read_bytes()
    )
    assert CircuitArtifacts.load(built.root) == built  # the intake record survives the manifest file


def test_a_model_ezkl_cannot_build_on_its_samples_is_one_line_naming_the_feed_and_the_fix(tmp_path: Path) -> None:
    # test_Embedding looks rows up by an int64 index: samples in [-1, 1] are out-of-range indices to EZKL.
    samples = [[-1.0, 1.0, 0.5, -0.5], [1.0, -1.0, 0.25, 0.0]]
    with pytest.raises(ModelIntakeError) as caught:
        build_circuit(pytorch_converted("Embedding"), samples, build_root=tmp_path, feed="lookup")
    message = str(caught.value)
    assert message.startswith("feed 'lookup', field 'model': model.onnx: EZKL could not build its circuit (")
    assert "an integer input such as an index must stay in range" in message and len(message.splitlines()) == 1
    assert not [path for path in tmp_path.iterdir() if path.name != "srs"]  # nothing half-built left behind


def test_a_dilation_ezkl_refuses_is_named_by_node_with_a_fix(tmp_path: Path) -> None:
    samples = [[-1.0] * 384, [1.0] * 384, [0.5 - (i % 3) / 2 for i in range(384)]]  # a [2, 3, 8, 8] input
    with pytest.raises(ModelIntakeError) as caught:
        build_circuit(pytorch_converted("Conv2d_dilated"), samples, build_root=tmp_path, feed="dilated")
    error = caught.value
    assert (error.feed, error.node, error.op_type) == ("dilated", "#0 (unnamed)", "Conv")
    message = str(error)
    assert message.startswith("feed 'dilated', field 'model': model.onnx, node #0 (unnamed) (Conv): ")
    assert "EZKL cannot prove this layer's dilations" in message and "export the layer with dilation 1" in message
    assert len(message.splitlines()) == 1


def test_a_pad_ezkl_refuses_is_named_by_node_with_a_fix(tmp_path: Path) -> None:
    samples = [[-1.0] * 96, [1.0] * 96, [0.5 - (i % 3) / 2 for i in range(96)]]  # a [2, 3, 4, 4] input
    with pytest.raises(ModelIntakeError) as caught:
        build_circuit(pytorch_converted("ConstantPad2d"), samples, build_root=tmp_path, feed="padded")
    error = caught.value
    assert (error.node, error.op_type) == ("#1 (unnamed)", "Pad")  # after the upgrade, #0 is its pads constant
    assert "EZKL cannot prove this Pad's mode or fill value" in str(error) and "pad with zeros" in str(error)


def test_a_model_with_more_public_values_than_a_transaction_carries_is_refused_before_ezkl(tmp_path: Path) -> None:
    width = MAX_PUBLIC_VALUES // 2 + 1  # the input and the output, each just over half the budget
    wide = helper.make_model(
        helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"])],
            "wide",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, width])],
        ),
        opset_imports=[helper.make_opsetid("", 13)],
    )
    path = tmp_path / "wide.onnx"
    onnx.save(wide, path)
    assert prepare_model(path).public_values() == 2 * width
    build_root = tmp_path / "build"
    with pytest.raises(ModelIntakeError) as caught:
        build_circuit(path, [[0.5] * width], build_root=build_root, feed="wide")
    message = str(caught.value)
    assert message.startswith(f"feed 'wide', field 'model': wide.onnx: its inputs and outputs hold {2 * width:,} values")
    assert f"over the {MAX_PUBLIC_VALUES:,} that fit in a 128 KiB transaction" in message
    assert not build_root.exists()  # refused before EZKL saw it


def test_a_node_ezkl_cannot_translate_is_named_by_its_message() -> None:
    model = onnx.load(pytorch_converted("PReLU_1d"))
    message = 'Failed to generate settings: [graph] [tract] Translating node #2 "2" Prelu ToTypedTranslator'
    refusal = refusal_in(model, message)
    assert refusal is not None and (refusal.index, refusal.node.op_type) == (0, "PRelu")
    assert refusal.problem == "EZKL's ONNX reader cannot translate this PRelu as exported"
