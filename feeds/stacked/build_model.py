"""Build the stacked feed's model: a 0–100 score of how close the demo's ETH/USD forecast is to 2048.

score = relu(100 - |forecast - 2048| / 16): 100 at 2048 USD, one point less per 16 USD away,
0 from 1600 USD away. Two Gemm + Relu layers (|x - 2048| is relu(x - 2048) + relu(2048 - x)).
Every weight and bias is a power of two or a small integer, so EZKL's fixed-point constants
are exact at the feed's input scale 7 and the only quantisation is the input's own 2**-7 step.
The model takes the price alone; model intake adds the observed_at input the circuit proves.
Run it with ``python feeds/stacked/build_model.py`` to regenerate ``model.onnx`` and
``samples.json`` (the calibration inputs, spread over 0..4096 USD so every branch is exercised).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CENTER = 2048.0
POINTS_PER_USD = 1.0 / 16.0
SAMPLES = [
    0.0,
    250.0,
    448.0,
    1000.0,
    1500.0,
    1848.0,
    1900.0,
    1950.0,
    2000.0,
    2048.0,
    2100.0,
    2150.0,
    2248.0,
    2500.0,
    3000.125,
    3648.0,
    4096.0,
]


def score(price: float) -> float:
    """The model in plain Python: what the circuit proves, up to its quantisation error."""
    return max(100.0 - abs(price - CENTER) * POINTS_PER_USD, 0.0)


def build(path: Path) -> None:
    weights = {
        "w1": np.array([[1.0], [-1.0]]),  # [relu(x - 2048), relu(2048 - x)]
        "b1": np.array([-CENTER, CENTER]),
        "w2": np.array([[-POINTS_PER_USD, -POINTS_PER_USD]]),
        "b2": np.array([100.0]),
    }
    inits = [numpy_helper.from_array(value.astype(np.float32), name) for name, value in weights.items()]
    nodes = [
        helper.make_node("Gemm", ["price", "w1", "b1"], ["pre"], transB=1),
        helper.make_node("Relu", ["pre"], ["distance"]),
        helper.make_node("Gemm", ["distance", "w2", "b2"], ["raw_score"], transB=1),
        helper.make_node("Relu", ["raw_score"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "distance_from_2048",
        [helper.make_tensor_value_info("price", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_samples(path: Path) -> None:
    path.write_text(json.dumps([[price] for price in SAMPLES], indent=1) + "\n")


if __name__ == "__main__":
    here = Path(__file__).parent
    build(here / "model.onnx")
    write_samples(here / "samples.json")
