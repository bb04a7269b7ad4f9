"""Build the volatility feed deterministically: a BTC/USD minute-close history and a forecaster.

``prices.csv`` is a seeded random walk with volatility regimes (calm and stressed
stretches of about two hours), one row per minute for a day. The model takes the last
8 closes (centred by the feed's input transform), turns them into the 7 absolute
one-minute moves and forecasts the mean absolute move of the next 8 minutes with a
linear read-out fitted by least squares on the history: a volatility forecast in USD.

Run ``python feeds/volatility/build_model.py`` to regenerate ``prices.csv``,
``model.onnx`` and ``samples.json``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WINDOW = 8
HORIZON = 8
ROWS = 1440
START = 1_767_225_600  # 2026-01-01T00:00:00Z
# The feed's [input] offset: closes are centred on it before the model sees them, so
# the circuit's fixed-point inputs stay small (64,000 × 2^13 overflows EZKL's range checks).
CENTER = 64_000.0
SAMPLE_STRIDE = 37


def price_history(seed: int = 20260101) -> np.ndarray:
    rng = np.random.default_rng(seed)
    regime_vol = rng.choice([4e-4, 9e-4, 2e-3], size=ROWS // 120 + 1, p=[0.5, 0.35, 0.15])
    vol = np.repeat(regime_vol, 120)[:ROWS]
    log_returns = rng.standard_normal(ROWS) * vol
    return np.round(61_000.0 * np.exp(np.cumsum(log_returns)), 2)


def features(windows: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(windows, axis=1))


def fit(closes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = range(len(closes) - WINDOW - HORIZON + 1)
    windows = np.stack([closes[s : s + WINDOW] for s in starts])
    future = np.stack([closes[s + WINDOW - 1 : s + WINDOW + HORIZON] for s in starts])
    design = np.hstack([features(windows), np.ones((len(windows), 1))])
    target = features(future).mean(axis=1)
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    return coef[:-1].reshape(1, WINDOW - 1), coef[-1:]


def difference_matrix() -> np.ndarray:
    """Row i of D · x is x[i+1] − x[i]."""
    d = np.zeros((WINDOW - 1, WINDOW))
    for i in range(WINDOW - 1):
        d[i, i], d[i, i + 1] = -1.0, 1.0
    return d


def build(path: Path, closes: np.ndarray) -> None:
    weights, bias = fit(closes)
    inits = [
        numpy_helper.from_array(value.astype(np.float32), name)
        for name, value in {"diff": difference_matrix(), "w": weights, "b": bias}.items()
    ]
    nodes = [
        helper.make_node("Gemm", ["closes", "diff"], ["moves"], transB=1),
        helper.make_node("Abs", ["moves"], ["abs_moves"]),
        helper.make_node("Gemm", ["abs_moves", "w", "b"], ["forecast"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "btc_usd_volatility",
        [helper.make_tensor_value_info("closes", TensorProto.FLOAT, [1, WINDOW])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_history(path: Path, closes: np.ndarray) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["time", "close"])
        writer.writerows([START + 60 * i, f"{close:.2f}"] for i, close in enumerate(closes))


def write_samples(path: Path, closes: np.ndarray) -> None:
    """Calibration inputs: windows spread over the day, plus every window holding the day's low or high.

    The source replays every window of the file, so each position's extremes must be covered.
    """
    last = len(closes) - WINDOW
    starts = set(range(0, last + 1, SAMPLE_STRIDE))
    for extreme in (int(np.argmin(closes)), int(np.argmax(closes))):
        starts.update(s for s in range(extreme - WINDOW + 1, extreme + 1) if 0 <= s <= last)
    samples = [[round(float(c) - CENTER, 2) for c in closes[s : s + WINDOW]] for s in sorted(starts)]
    path.write_text(json.dumps(samples) + "\n")


if __name__ == "__main__":
    here = Path(__file__).parent
    history = price_history()
    write_history(here / "prices.csv", history)
    build(here / "model.onnx", history - CENTER)
    write_samples(here / "samples.json", history)
