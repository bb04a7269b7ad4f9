"""Slicing: where a model can be cut, how cuts are balanced, and the built chain of slice circuits."""

from __future__ import annotations

import dataclasses
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import CircuitOptions, build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.slicing import ModelGraph, SlicedCircuit, SlicingPlan, build_sliced_circuit, run_chain
from oracle.circuits.slicing.artifacts import SLICED_PREFIX
from oracle.circuits.slicing.build import _chain_error, _check_commitment_layout, _check_scales
from oracle.circuits.slicing.chain import ChainRun, SliceStep
from oracle.circuits.slicing.links import POINT_BYTES, CommitmentLayout, linked
from oracle.exceptions import CircuitError
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel


@pytest.fixture(scope="module")
def sliced_build(sliced_circuit: FeedCircuit, build_root: Path) -> SlicedCircuit:
    """The sliced example feed's build as the slicing package keeps it: its folder, manifest and slices."""
    return SlicedCircuit.load(build_root / f"{SLICED_PREFIX}{sliced_circuit.key}")


def write_skip_model(path: Path) -> Path:
    """x -> Gemm -> Relu -> Gemm -> (+ x) -> Gemm: the skip from x forbids any cut inside it."""
    rng = np.random.default_rng(3)
    weights = {name: rng.normal(0, 0.5, size=(4, 4)).astype(np.float32) for name in ("w1", "w2", "w3")}
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Gemm", ["b", "w2"], ["c"]),
        helper.make_node("Add", ["c", "x"], ["d"]),
        helper.make_node("Gemm", ["d", "w3"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "skip",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_only_tensors_carrying_all_state_are_cut_points(tmp_path: Path) -> None:
    graph = ModelGraph.load(write_skip_model(tmp_path / "skip.onnx"))
    assert [point.tensor for point in graph.cut_points] == ["d"]
    with pytest.raises(CircuitError, match=r"cannot cut at tensor 'b'.*can be cut at: d"):
        graph.cut_named("b")


def test_balanced_cuts_minimise_the_costliest_slice(sliced_spec: FeedSpec) -> None:
    graph = ModelGraph.load(sliced_spec.model_path)
    for count in (2, 3, 4):
        cuts = graph.balanced_cuts(count)
        rows = graph.slice_rows(cuts)
        # Every node's rows, plus each slice's input boundary and the last one's public outputs.
        assert len(rows) == count and sum(rows) > graph.total_cost
        # No other choice of cut points has a cheaper costliest slice.
        best = min(max(graph.slice_rows(list(combo))) for combo in combinations(graph.cut_points, count - 1))
        assert max(rows) == best
    with pytest.raises(CircuitError, match="need 99 cut points"):
        graph.balanced_cuts(100)


def test_a_plan_must_prove_the_first_and_last_slices() -> None:
    with pytest.raises(CircuitError, match=r"must include the first \(0\) and last \(2\)"):
        SlicingPlan(slices=3, proven=(0, 1)).proven_mask(3)
    with pytest.raises(CircuitError, match="must lie in 0..2"):
        SlicingPlan(slices=3, proven=(0, 2, 5)).proven_mask(3)
    assert SlicingPlan(slices=3, proven=(2, 0)).proven_mask(3) == [True, False, True]


def test_a_boundary_at_another_scale_fails_the_build() -> None:
    _check_scales(Path("m.onnx"), 1, [13], [13], 13, last=2)
    with pytest.raises(CircuitError, match=r"slice 1's output is at scale \[26\], the boundary scale is 13"):
        _check_scales(Path("m.onnx"), 1, [13], [26], 13, last=2)


def test_a_proof_carries_its_boundary_commitments_first_input_before_output() -> None:
    proof = bytes(range(64)) + bytes(range(64, 128)) + b"rest of the proof"
    middle = CommitmentLayout(input_committed=True, output_committed=True)
    assert (middle.input_point(proof), middle.output_point(proof)) == (proof[:64], proof[64:128])
    first = CommitmentLayout(input_committed=False, output_committed=True)
    assert first.output_point(proof) == proof[:64]
    assert CommitmentLayout(input_committed=True, output_committed=False).input_point(proof) == proof[:64]
    assert middle.output_point(proof[:127]) is None  # too short to hold it: nothing to link
    assert not linked(None, None) and linked(proof[:64], proof[:64])
    with pytest.raises(CircuitError, match="does not commit to its input"):
        first.input_point(proof)


def test_broken_links_are_found() -> None:
    steps = [
        SliceStep([1.0], [2.0], None, b"a" * 64),
        SliceStep([2.0], [3.0], b"a" * 64, b"b" * 64),
        SliceStep([3.0], [4.0], b"c" * 64, None),
    ]
    assert ChainRun(steps).broken_links() == [2]


def test_sliced_build_links_every_boundary_and_tracks_the_float_model(
    sliced_spec: FeedSpec, sliced_build: SlicedCircuit
) -> None:
    manifest = sliced_build.manifest
    assert manifest.coverage == (3, 3)
    first, middle, last = (piece.circuit for piece in sliced_build.slices)
    assert first is not None and middle is not None and last is not None
    assert (first.manifest.input_visibility, first.manifest.output_visibility) == ("public", "polycommit")
    assert (middle.manifest.input_visibility, middle.manifest.output_visibility) == ("polycommit", "polycommit")
    assert (last.manifest.input_visibility, last.manifest.output_visibility) == ("polycommit", "public")
    # KZG commitments compare only over one domain: every slice is built at one logrows.
    assert first.manifest.logrows == middle.manifest.logrows == last.manifest.logrows
    # A linked input is a proven slice's output, which that slice's ops constrained: no range check
    # again. The model's own inputs, in the first slice, are checked.
    assert [_skips_io_range_checks(piece) for piece in (first, middle, last)] == [False, True, True]
    # The boundaries are in the proofs, not instances: the middle slice has none.
    assert (first.manifest.instance_count, middle.manifest.instance_count) == (first.manifest.input_instances, 0)
    whole = OnnxModel(sliced_build.model)  # the prepared model: intake added its observed_at input
    for sample in sliced_spec.model_samples()[:3]:
        chain = run_chain(sliced_build.slices, sample)
        assert chain.broken_links() == []
        assert chain.steps[0].output_commitment == chain.steps[1].input_commitment is not None
        assert len(chain.steps[1].input_commitment) == POINT_BYTES
        assert abs(chain.outputs[0] - whole.run(sample)[0]) <= manifest.quantization_error


def test_targeted_verification_reuses_slice_circuits_and_records_coverage(
    sliced_spec: FeedSpec, sliced_build: SlicedCircuit, build_root: Path
) -> None:
    plan = SlicingPlan(slices=3, proven=(0, 2))
    result = build_sliced_circuit(
        sliced_spec.model_path, sliced_spec.model_samples(), plan, build_root=build_root, observation_time=True
    )
    targeted = result.circuit
    assert targeted.manifest.coverage == (2, 3)
    assert targeted.slices[1].circuit is None
    assert targeted.slices[0].circuit.manifest.key == sliced_build.slices[0].circuit.manifest.key  # type: ignore[union-attr]
    assert targeted.manifest.model_commitment != sliced_build.manifest.model_commitment
    chain = run_chain(targeted.slices, sliced_spec.model_samples()[0])
    assert chain.steps[1].input_commitment is None  # the unproven slice ran in onnxruntime
    again = build_sliced_circuit(
        sliced_spec.model_path, sliced_spec.model_samples(), plan, build_root=build_root, observation_time=True
    )
    assert again.cached and again.circuit.root == targeted.root


def test_a_link_broken_by_a_slice_at_another_scale_fails_loudly(
    sliced_spec: FeedSpec, sliced_build: SlicedCircuit, build_root: Path
) -> None:
    """Slice 1 rebuilt at scale 10 while its neighbours commit at 13: the chain check names the broken link."""
    middle = sliced_build.slices[1]
    assert middle.circuit is not None
    samples = [run_chain(sliced_build.slices, sample).steps[1].inputs for sample in sliced_spec.model_samples()]
    options = CircuitOptions(
        input_visibility="polycommit",
        output_visibility="polycommit",
        scale=10,
        scale_rebase_multiplier=1,
        logrows=middle.circuit.manifest.logrows,
    )
    rescaled = build_circuit(middle.model, samples, build_root=build_root, options=options).artifacts
    entries = list(sliced_build.manifest.slices)
    entries[1] = dataclasses.replace(entries[1], circuit_key=rescaled.manifest.key)
    broken = dataclasses.replace(sliced_build, manifest=dataclasses.replace(sliced_build.manifest, slices=entries))
    with pytest.raises(CircuitError, match=r"slice 0's output commitment differs from slice 1's input commitment"):
        _chain_error(sliced_spec.model_path, broken, sliced_spec.model_samples(), OnnxModel(sliced_spec.model_path))


def test_the_build_refuses_a_proof_layout_other_than_the_one_links_are_read_at(
    sliced_spec: FeedSpec, sliced_build: SlicedCircuit
) -> None:
    """Slice 0 described as committing to its input too: its proof's first point is then read as the input
    commitment and the next as the output's, which is not where EZKL put them."""
    first = sliced_build.slices[0]
    assert first.circuit is not None
    misread = dataclasses.replace(first.circuit.manifest, input_visibility="polycommit")
    pieces = [dataclasses.replace(first, circuit=dataclasses.replace(first.circuit, manifest=misread))]
    described = SlicedCircuit(
        root=sliced_build.root, manifest=sliced_build.manifest, build_root=sliced_build.build_root
    )
    vars(described)["slices"] = pieces + sliced_build.slices[1:]  # the cached property, overridden
    with pytest.raises(CircuitError, match="a proof of slice 0 does not carry its boundary commitments at the offsets"):
        _check_commitment_layout(sliced_spec.model_path, described, sliced_spec.model_samples()[0])


def _skips_io_range_checks(circuit: CircuitArtifacts | None) -> bool:
    assert circuit is not None
    return bool(json.loads(circuit.settings.read_text())["run_args"]["ignore_range_check_inputs_outputs"])
