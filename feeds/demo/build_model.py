"""Build the demo feed's model deterministically: an ETH/USD next-tick forecaster.

A random-feature network (4 → 8 ReLU → 1): the hidden layer is fixed by a seeded RNG,
the read-out is fitted by ridge regression on the synthetic price series, and the
input normalisation is folded into the weights so the model takes raw USD prices.
Run it with ``python feeds/demo/build_model.py`` to regenerate ``model.onnx`` and
``samples.json`` (the calibration inputs, spread over the series' whole range).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from oracle.sources.synthetic import price_window  # noqa: E402

WINDOW = 4
HIDDEN = 8
# Powers of two: EZKL's fixed-point constants are then exact, so normalising inside
# the circuit adds no quantisation error to the raw USD prices it takes as input.
CENTER = 2048.0
SPREAD = 128.0
TRAIN_TICKS = 4000
SAMPLE_TICKS = range(WINDOW, TRAIN_TICKS, 125)


def training_set() -> tuple[np.ndarray, np.ndarray]:
    series = np.array(price_window(TRAIN_TICKS, TRAIN_TICKS + WINDOW + 1))
    windows = np.stack([series[i : i + WINDOW] for i in range(TRAIN_TICKS)])
    targets = series[WINDOW : WINDOW + TRAIN_TICKS]
    return windows, targets


def fit() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261125)
    w1 = rng.normal(0.0, 0.6, size=(HIDDEN, WINDOW))
    b1 = rng.normal(0.0, 0.3, size=HIDDEN)
    windows, targets = training_set()
    z = (windows - CENTER) / SPREAD
    features = np.maximum(z @ w1.T + b1, 0.0)
    design = np.hstack([features, z, np.ones((len(z), 1))])
    ridge = 1e-3 * np.eye(design.shape[1])
    coef = np.linalg.solve(design.T @ design + ridge, design.T @ ((targets - CENTER) / SPREAD))
    return {
        "w1": w1,
        "b1": b1,
        "w2": coef[:HIDDEN].reshape(1, HIDDEN),
        "skip": coef[HIDDEN : HIDDEN + WINDOW].reshape(1, WINDOW),
        "b2": coef[HIDDEN + WINDOW :],
        "center": np.array([CENTER]),
        "inv_spread": np.array([1.0 / SPREAD]),
        "spread": np.array([SPREAD]),
    }


def build(path: Path) -> None:
    weights = fit()
    inits = [numpy_helper.from_array(value.astype(np.float32), name) for name, value in weights.items()]
    nodes = [
        helper.make_node("Sub", ["prices", "center"], ["centered"]),
        helper.make_node("Mul", ["centered", "inv_spread"], ["z"]),
        helper.make_node("Gemm", ["z", "w1", "b1"], ["pre"], transB=1),
        helper.make_node("Relu", ["pre"], ["hidden"]),
        helper.make_node("Gemm", ["hidden", "w2", "b2"], ["nonlinear"], transB=1),
        helper.make_node("Gemm", ["z", "skip"], ["linear"], transB=1),
        helper.make_node("Add", ["nonlinear", "linear"], ["forecast_z"]),
        helper.make_node("Mul", ["forecast_z", "spread"], ["forecast_offset"]),
        helper.make_node("Add", ["forecast_offset", "center"], ["forecast"]),
    ]
    # The observation time rides along as a public input (three 11-bit limbs) so the
    # contract can check freshness; the forecast does not depend on it.
    graph = helper.make_graph(
        nodes,
        "eth_usd_forecast",
        [
            helper.make_tensor_value_info("prices", TensorProto.FLOAT, [1, WINDOW]),
            helper.make_tensor_value_info("observed_at", TensorProto.FLOAT, [1, 3]),
        ],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_samples(path: Path) -> None:
    samples = [[round(p, 6) for p in price_window(tick, WINDOW)] for tick in SAMPLE_TICKS]
    path.write_text(json.dumps(samples, indent=1) + "\n")


if __name__ == "__main__":
    here = Path(__file__).parent
    build(here / "model.onnx")
    write_samples(here / "samples.json")
