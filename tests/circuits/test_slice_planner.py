"""The slice planner: rows estimates, narrow boundaries, wide nodes split under max_logrows, no circuit built."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from oracle.circuits.slicing import ModelGraph, SlicingPlan
from oracle.circuits.slicing.cut import tensor_shapes
from oracle.circuits.slicing.rows import logrows_for, row_budget
from oracle.circuits.slicing.split import split_nodes, split_wide_nodes
from oracle.exceptions import CircuitError, SlicePlanError
from oracle.inference import OnnxModel
from oracle.paths import PROJECT_ROOT

ISSUE_MLP = (64, 512, 512, 256, 1)


def _save(
    path: Path,
    nodes: list[onnx.NodeProto],
    weights: dict[str, np.ndarray],
    x: Sequence[int],
    y: str,
    y_shape: list[int],
) -> Path:
    graph = helper.make_graph(
        nodes,
        path.stem,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x))],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, y_shape)],
        [numpy_helper.from_array(value.astype(np.float32), name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def write_mlp(path: Path, widths: Sequence[int], *, relu_last: bool = False) -> Path:
    """x -> (Gemm -> Relu) per layer, weights [out, in] (transB), no Relu after the last layer unless asked."""
    rng = np.random.default_rng(7)
    nodes, weights, current = [], {}, "x"
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(widths), start=1):
        weights[f"w{index}"] = rng.normal(0, (2 / fan_in) ** 0.5, size=(fan_out, fan_in))
        weights[f"b{index}"] = rng.normal(0, 0.05, size=fan_out)
        nodes.append(helper.make_node("Gemm", [current, f"w{index}", f"b{index}"], [f"z{index}"], transB=1))
        current = f"z{index}"
        if index < len(widths) - 1 or relu_last:
            nodes.append(helper.make_node("Relu", [current], [f"h{index}"]))
            current = f"h{index}"
    return _save(path, nodes, weights, [1, widths[0]], current, [1, widths[-1]])


def _samples(graph: ModelGraph, count: int = 4) -> list[list[float]]:
    return np.random.default_rng(0).uniform(-1, 1, size=(count, graph.input_width)).tolist()


def _chained(graph: ModelGraph, cuts: list, folder: Path, sample: list[float]) -> list[float]:
    values = sample
    for path in graph.extract(cuts, folder):
        values = OnnxModel(path).run(values)
    return values


def test_the_issue_mlp_is_cut_into_slices_within_max_logrows(tmp_path: Path) -> None:
    graph = ModelGraph.load(write_mlp(tmp_path / "mlp.onnx", ISSUE_MLP))
    assert logrows_for(max(graph.slice_rows([]))) == 18  # whole, as EZKL calibrates it
    for max_logrows, least in ((16, 4), (17, 4), (15, 2)):
        split, cuts = SlicingPlan(slices=least, max_logrows=max_logrows).layout(graph)
        rows = split.slice_rows(cuts)
        assert len(rows) >= least and max(rows) <= row_budget(max_logrows), (max_logrows, rows)
        # The fewest slices that fit: one fewer cannot hold the model.
        if len(rows) > least:
            fewer = SlicingPlan(slices=len(rows) - 1).layout(split)[1]
            assert max(split.slice_rows(fewer)) > row_budget(max_logrows)
    split, cuts = SlicingPlan(slices=4, max_logrows=17).layout(graph)
    assert len(cuts) == 3 and {s.name for s in split.splits} == {"z2", "z3"}


def test_wide_layers_split_where_slices_fill_up_need_fewer_slices(tmp_path: Path) -> None:
    """Equal pieces pay a Slice of the carried tensor each and land where they may: five slices of logrows 16.
    Split where each slice is full, one piece per slice spanned, and the four slices come out even."""
    graph = ModelGraph.load(write_mlp(tmp_path / "mlp.onnx", ISSUE_MLP))
    equal = graph.split_for(16)
    assert len(equal.fitting_cuts(16)) + 1 == 5
    split, cuts = SlicingPlan(max_logrows=16).layout(graph)
    rows = split.slice_rows(cuts)
    assert len(rows) == 4 and max(rows) <= row_budget(16)
    assert max(rows) - min(rows) < 0.01 * max(rows)
    assert {(node.name, node.pieces) for node in split.splits} == {("z2", 3), ("z3", 2)}
    original = OnnxModel(graph.path)
    for number, sample in enumerate(_samples(graph, 2)):
        got = _chained(split, cuts, tmp_path / f"slices-{number}", sample)
        np.testing.assert_allclose(got, original.run(sample), rtol=1e-4, atol=1e-5)


def test_a_node_split_in_uneven_pieces_computes_the_original(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    weights = {"w": rng.normal(size=(10, 7)), "b": rng.normal(size=10), "v": rng.normal(size=(10, 3))}
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["z"], transB=1),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("MatMul", ["r", "v"], ["y"]),
    ]
    path = _save(tmp_path / "m.onnx", nodes, weights, [1, 7], "y", [1, 3])
    graph = ModelGraph.load(path)
    samples = _samples(graph)
    model, splits = split_nodes(graph.proto, tensor_shapes(graph.proto), {"z": [1, 6, 3]}, model_name="m")
    assert [(node.name, node.pieces) for node in splits] == [("z", 3)]
    split = ModelGraph.load(path, onnx_bytes=model.SerializeToString())
    for number, sample in enumerate(samples):
        got = _chained(split, split.cut_points, tmp_path / f"slices-{number}", sample)
        np.testing.assert_allclose(got, OnnxModel(path).run(sample), rtol=1e-4, atol=1e-4)
    with pytest.raises(CircuitError, match=r"node z: pieces of \[4, 4\] features do not make its 10"):
        split_nodes(graph.proto, tensor_shapes(graph.proto), {"z": [4, 4]}, model_name="m")


def test_a_split_graph_chained_slice_by_slice_computes_the_original(tmp_path: Path) -> None:
    graph = ModelGraph.load(write_mlp(tmp_path / "mlp.onnx", ISSUE_MLP))
    split, cuts = SlicingPlan(max_logrows=16).layout(graph)
    assert split.splits  # the wide layers were split, and every piece boundary is one tensor
    original = OnnxModel(graph.path)
    for number, sample in enumerate(_samples(graph)):
        got = _chained(split, cuts, tmp_path / f"slices-{number}", sample)
        np.testing.assert_allclose(got, original.run(sample), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layout", ["gemm", "gemm-untransposed", "matmul", "conv"])
def test_every_splittable_op_split_finely_computes_the_original(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(1)
    if layout == "conv":
        weights = {"w": rng.normal(size=(6, 2, 3, 3)), "b": rng.normal(size=6), "v": rng.normal(size=(6 * 4 * 4, 3))}
        nodes = [
            helper.make_node("Conv", ["x", "w", "b"], ["c"]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("Flatten", ["r"], ["f"]),
            helper.make_node("MatMul", ["f", "v"], ["y"]),
        ]
        path = _save(tmp_path / "m.onnx", nodes, weights, [1, 2, 6, 6], "y", [1, 3])
    else:
        transposed = layout == "gemm"
        w = rng.normal(size=(10, 7) if transposed else (7, 10))
        weights = {"w": w, "b": rng.normal(size=10), "v": rng.normal(size=(10, 3))}
        first = (
            helper.make_node("MatMul", ["x", "w"], ["z"])
            if layout == "matmul"
            else helper.make_node("Gemm", ["x", "w", "b"], ["z"], transB=int(transposed))
        )
        nodes = [first, helper.make_node("Relu", ["z"], ["r"]), helper.make_node("MatMul", ["r", "v"], ["y"])]
        path = _save(tmp_path / "m.onnx", nodes, weights, [1, 7], "y", [1, 3])
    graph = ModelGraph.load(path)
    samples = _samples(graph)
    model, splits = split_wide_nodes(
        graph.proto, tensor_shapes(graph.proto), piece_rows=40, model_name="m", samples=samples
    )
    assert splits and splits[0].pieces >= 3
    split = ModelGraph.load(path, onnx_bytes=model.SerializeToString())
    assert len(split.cut_points) > len(graph.cut_points)  # a cut may fall between any two pieces
    for number, sample in enumerate(samples):
        got = _chained(split, split.cut_points, tmp_path / f"slices-{number}", sample)
        np.testing.assert_allclose(got, OnnxModel(path).run(sample), rtol=1e-4, atol=1e-4)


def test_narrow_boundaries_win_when_the_largest_slice_ties(tmp_path: Path) -> None:
    """A heavy first layer sets the largest slice whichever second cut is taken: the narrowest is."""
    graph = ModelGraph.load(write_mlp(tmp_path / "m.onnx", (8, 512, 2, 128, 8, 8)))
    by_name = {point.tensor: point for point in graph.cut_points}
    cuts = graph.balanced_cuts(3)
    assert cuts[0].tensor == "z1" and cuts[1].width == 2  # not h3 (128 values cross) or h4 (8)
    for wider in ("h3", "h4"):
        assert max(graph.slice_rows([cuts[0], by_name[wider]])) == max(graph.slice_rows(cuts))


def test_an_op_that_cannot_be_split_below_max_logrows_is_named(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    graph = ModelGraph.load(_save(tmp_path / "wide.onnx", nodes, {}, [1, 8192], "y", [1, 8192]))
    with pytest.raises(
        SlicePlanError, match=r"node 'y' \(Relu\) of wide.onnx alone needs about 65,536 rows"
    ) as refused:
        SlicingPlan(max_logrows=15).layout(graph)
    assert (refused.value.needed_logrows, refused.value.fix) == (17, "set max_logrows = 17 or more")


def test_feeds_validate_prints_the_plan_and_names_a_max_logrows_too_small(tmp_path: Path) -> None:
    folder = tmp_path / "wide"
    shutil.copytree(PROJECT_ROOT / "feeds" / "sliced", folder)
    write_mlp(folder / "model.onnx", (8, 512, 512, 1))
    toml = folder / "feed.toml"
    toml.write_text(toml.read_text().replace("slices = 3          #", "max_logrows = 16    #"))
    wide = tmp_path / "too-wide"
    shutil.copytree(folder, wide)
    write_mlp(wide / "model.onnx", (8, 4096, 1))  # its Relu over 4,096 values alone needs 32,768 rows
    (wide / "feed.toml").write_text(toml.read_text().replace("max_logrows = 16", "max_logrows = 15"))
    result = subprocess.run(
        [sys.executable, "-m", "oracle", "feeds", "validate", str(folder), str(wide)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines[0] == f"ok    {folder}: sliced"
    assert lines[1].strip() == "3 slices, est. logrows 16 (max_logrows 16; every slice is built at the largest)"
    assert lines[2].strip() == "split: z2 (Gemm) in 3"  # one piece per slice it spans: split where each fills up
    slices = [line.split() for line in lines[3:6]]
    assert [" ".join(words[:5]) for words in slices] == [
        "slice 0 Gemm Relu Gemm",
        "slice 1 Gemm 2/3 ~55,989",
        "slice 2 Gemm 3/3 Relu",
    ]
    assert slices[1][-8:] == "rows logrows 16 in 647 → out 845".split()
    assert slices[0][-5:] == "in 11 → out 647".split() and slices[2][-5:] == "in 845 → out 1".split()
    assert lines[6].startswith(f"error {wide}: feed 'sliced', field 'slicing.max_logrows': node 'h1' (Relu)")
    assert lines[6].endswith("set max_logrows = 16 or more") and len(lines) == 7
