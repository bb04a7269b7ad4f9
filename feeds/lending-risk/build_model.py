"""Build the lending-risk feed's model deterministically: a 6 → 16 (ReLU) → 8 (ReLU) → 1 network.

It scores the liquidation risk of a lending market from 0 (calm) to 100 from the six
features ``market.snapshot`` computes. The target is a hand-written expert score (high
utilisation, thin collateral, falling prices, thin liquidity and dislocated venues are
risky, and they compound); the network is fitted to it with full-batch gradient descent
from a fixed seed, and the features' standardisation is folded into the first layer so
the model takes raw feature values. Run ``python feeds/lending-risk/build_model.py`` to
regenerate ``model.onnx`` and ``samples.json``.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).parent))
from market import BOUNDS, features_at  # noqa: E402

HIDDEN = (16, 8)
STEPS = 4000
LEARNING_RATE = 0.01
SAMPLE_TICKS = range(0, 40_000, 997)


def expert_score(x: np.ndarray) -> np.ndarray:
    utilisation, collateral, change, liquidity, apr, spread = x.T
    stress = (
        2.2 * (utilisation - 70) / 25
        - 2.0 * (collateral - 1.8) / 0.6
        - 0.9 * change / 8
        - 0.8 * (liquidity - 25) / 20
        + 0.5 * (apr - 10) / 10
        + 0.7 * spread / 60
    )
    compounding = 0.6 * np.maximum(utilisation - 85, 0) / 10 * np.maximum(1.6 - collateral, 0) / 0.4
    return 100 / (1 + np.exp(-(stress + compounding - 0.5)))


def training_inputs(rng: np.random.Generator) -> np.ndarray:
    lows = np.array([low for low, _, _ in BOUNDS.values()])
    highs = np.array([high for _, high, _ in BOUNDS.values()])
    return lows + (highs - lows) * rng.random((4096, len(BOUNDS)))


def fit() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20261125)
    x = training_inputs(rng)
    mean, std = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / std
    y = expert_score(x)[:, None] / 100
    sizes = (z.shape[1], *HIDDEN, 1)
    layers = [
        [rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)), np.zeros(n_out)] for n_in, n_out in itertools.pairwise(sizes)
    ]
    moments = [[np.zeros_like(p) for p in layer] for layer in layers]
    squares = [[np.zeros_like(p) for p in layer] for layer in layers]
    for step in range(1, STEPS + 1):  # Adam, full batch
        activations = [z]
        for i, (w, b) in enumerate(layers):
            out = activations[-1] @ w + b
            activations.append(np.maximum(out, 0) if i < len(layers) - 1 else out)
        grad = 2 * (activations[-1] - y) / len(y)
        for i in reversed(range(len(layers))):
            w, _ = layers[i]
            grads = [activations[i].T @ grad, grad.sum(axis=0)]
            if i:
                grad = (grad @ w.T) * (activations[i] > 0)
            for j, g in enumerate(grads):
                moments[i][j] = 0.9 * moments[i][j] + 0.1 * g
                squares[i][j] = 0.999 * squares[i][j] + 0.001 * g * g
                m_hat, v_hat = moments[i][j] / (1 - 0.9**step), squares[i][j] / (1 - 0.999**step)
                layers[i][j] = layers[i][j] - LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)
    # Fold the standardisation into layer 1 and the /100 into the read-out.
    (w1, b1), *rest = layers
    w1_raw, b1_raw = w1 / std[:, None], b1 - (mean / std) @ w1
    *hidden, (w_out, b_out) = [(w1_raw, b1_raw), *rest]
    return [*hidden, (w_out * 100, b_out * 100)]


def build(path: Path) -> None:
    layers = fit()
    inits, nodes, current = [], [], "features"
    for i, (w, b) in enumerate(layers):
        inits += [
            numpy_helper.from_array(w.T.astype(np.float32), f"w{i}"),
            numpy_helper.from_array(b.astype(np.float32), f"b{i}"),
        ]
        out = "score" if i == len(layers) - 1 else f"pre{i}"
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [out], transB=1))
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"hidden{i}"]))
            current = f"hidden{i}"
    graph = helper.make_graph(
        nodes,
        "lending_risk",
        # The observation time rides along as a public input (three 11-bit limbs) for the
        # contract's freshness check; the score does not depend on it.
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, len(BOUNDS)]),
            helper.make_tensor_value_info("observed_at", TensorProto.FLOAT, [1, 3]),
        ],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_samples(path: Path) -> None:
    """Snapshots over many ticks, plus the all-low and all-high corners, so the bounds are covered."""
    samples = [features_at(tick) for tick in SAMPLE_TICKS]
    samples.append([low for low, _, _ in BOUNDS.values()])
    samples.append([high for _, high, _ in BOUNDS.values()])
    path.write_text(json.dumps(samples) + "\n")


if __name__ == "__main__":
    here = Path(__file__).parent
    build(here / "model.onnx")
    write_samples(here / "samples.json")
