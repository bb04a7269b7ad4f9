"""Build the multi-asset feed's model deterministically: eight assets scored at once, 8 → 8 (ReLU) → 8.

Each asset's momentum score (around 50; above 50, its recent move outran the basket's)
comes from the eight moves ``assets.moves`` computes: a direct term (the asset's own move
against the basket's mean) plus a small random-feature layer mixing the assets, fixed by
a seeded RNG. One output tensor ``scores`` [1, 8]: the feed publishes each element as an
answer of its own. Run ``python feeds/multi-asset/build_model.py`` to regenerate
``model.onnx`` and ``samples.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from assets import ASSETS, MAX_MOVE_PCT, moves_at  # noqa: E402

N = len(ASSETS)
SAMPLE_TICKS = range(4, 4000, 101)


def weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261202)
    # Own move against the basket's mean, in score points per percent.
    direct = 2.0 * (np.eye(N) - np.full((N, N), 1.0 / N))
    return {
        "w1": rng.normal(0.0, 0.25, size=(N, N)),
        "b1": rng.normal(0.0, 0.5, size=N),
        "w2": rng.normal(0.0, 0.5, size=(N, N)),
        "direct": direct,
        "b2": np.full(N, 50.0),
    }


def build(path: Path) -> None:
    inits = [numpy_helper.from_array(value.astype(np.float32), name) for name, value in weights().items()]
    nodes = [
        helper.make_node("Gemm", ["moves", "w1", "b1"], ["pre"], transB=1),
        helper.make_node("Relu", ["pre"], ["hidden"]),
        helper.make_node("Gemm", ["hidden", "w2", "b2"], ["mixed"], transB=1),
        helper.make_node("Gemm", ["moves", "direct"], ["own"], transB=1),
        helper.make_node("Add", ["mixed", "own"], ["scores"]),
    ]
    # The observation time rides along as a public input (three 11-bit limbs) so the
    # contract can check freshness; the scores do not depend on it.
    graph = helper.make_graph(
        nodes,
        "multi_asset_scores",
        [
            helper.make_tensor_value_info("moves", TensorProto.FLOAT, [1, N]),
            helper.make_tensor_value_info("observed_at", TensorProto.FLOAT, [1, 3]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, N])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_samples(path: Path) -> None:
    samples = [moves_at(tick) for tick in SAMPLE_TICKS]
    # The corners of the range the moves stay in, so calibration covers every live input.
    samples += [[MAX_MOVE_PCT] * N, [-MAX_MOVE_PCT] * N]
    path.write_text(json.dumps(samples, indent=1) + "\n")


if __name__ == "__main__":
    here = Path(__file__).parent
    build(here / "model.onnx")
    write_samples(here / "samples.json")
