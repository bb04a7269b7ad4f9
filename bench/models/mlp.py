"""Deterministic MLP forecasters of three sizes, each written out as a complete feed folder.

Like the demo feed, every model takes a window of raw synthetic USD prices, normalises
them inside the graph (powers of two, so the circuit's constants are exact), runs a
ReLU MLP with fixed seeded weights and maps the result back to USD. The weights are
random (He-scaled so activations stay O(1)): the benchmark measures proving cost,
which depends on the shapes, not on what the weights learned.

    python -m bench.models.mlp OUT_DIR [SIZE ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from oracle.sources.synthetic import price_window

CENTER = 2048.0
SPREAD = 128.0
TICK_SECONDS = 10
SAMPLE_COUNT = 24


@dataclass(frozen=True)
class ModelSize:
    name: str
    window: int  # input prices
    hidden: tuple[int, ...]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one inference: what the circuit's row count grows with."""
        widths = (self.window, *self.hidden, 1)
        return sum(a * b for a, b in itertools.pairwise(widths))


SIZES: dict[str, ModelSize] = {
    size.name: size
    for size in (
        ModelSize("tiny", window=4, hidden=(8,)),
        ModelSize("small", window=32, hidden=(256, 256)),
        ModelSize("medium", window=32, hidden=(256, 384)),
    )
}


def _weights(size: ModelSize) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(sum(size.hidden) * 1009 + size.window)
    widths = (size.window, *size.hidden, 1)
    layers = []
    for fan_in, fan_out in itertools.pairwise(widths):
        weight = rng.normal(0.0, (2.0 / fan_in) ** 0.5, size=(fan_out, fan_in))
        bias = rng.normal(0.0, 0.05, size=fan_out)
        layers.append((weight, bias))
    return layers


def build_onnx(size: ModelSize) -> onnx.ModelProto:
    constants = {"center": np.array([CENTER]), "inv_spread": np.array([1.0 / SPREAD]), "spread": np.array([SPREAD])}
    nodes = [
        helper.make_node("Sub", ["prices", "center"], ["centered"]),
        helper.make_node("Mul", ["centered", "inv_spread"], ["h0"]),
    ]
    layers = _weights(size)
    current = "h0"
    for index, (weight, bias) in enumerate(layers, start=1):
        constants[f"w{index}"], constants[f"b{index}"] = weight, bias
        nodes.append(helper.make_node("Gemm", [current, f"w{index}", f"b{index}"], [f"z{index}"], transB=1))
        current = f"z{index}"
        if index < len(layers):
            nodes.append(helper.make_node("Relu", [current], [f"h{index}"]))
            current = f"h{index}"
    nodes += [
        helper.make_node("Mul", [current, "spread"], ["offset"]),
        helper.make_node("Add", ["offset", "center"], ["forecast"]),
    ]
    graph = helper.make_graph(
        nodes,
        f"bench_{size.name}",
        [helper.make_tensor_value_info("prices", TensorProto.FLOAT, [1, size.window])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(value.astype(np.float32), name) for name, value in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def samples(size: ModelSize) -> list[list[float]]:
    """Calibration inputs spread over the synthetic series' range."""
    return [
        [round(p, 6) for p in price_window(tick, size.window)] for tick in range(200, 200 + 160 * SAMPLE_COUNT, 160)
    ]


FEED_TOML = """\
# Benchmark feed '{id}', written by bench/models/mlp.py: do not edit, run it again.
id = "{id}"
description = "bench {name}: MLP {shape}"
model = "model.onnx"
samples = "samples.json"
decimals = 8

[source]
kind = "synthetic"
window = {window}
tick_seconds = {tick_seconds}

[schedule]
interval_seconds = {tick_seconds}
"""


def write_feed(size: ModelSize, folder: Path) -> Path:
    """Write ``size``'s feed folder (model, samples, feed.toml) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(build_onnx(size), folder / "model.onnx")
    (folder / "samples.json").write_text(json.dumps(samples(size)) + "\n")
    shape = " → ".join(str(width) for width in (size.window, *size.hidden, 1))
    (folder / "feed.toml").write_text(
        FEED_TOML.format(
            id=f"bench-{size.name}", name=size.name, shape=shape, window=size.window, tick_seconds=TICK_SECONDS
        )
    )
    return folder


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.models.mlp", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write one feed folder per size into")
    parser.add_argument("sizes", nargs="*", metavar="SIZE", help=f"any of {', '.join(SIZES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown size(s) {', '.join(sorted(unknown))}; choose from {', '.join(SIZES)}")
    for name in args.sizes or SIZES:
        print(write_feed(SIZES[name], args.out / name))


if __name__ == "__main__":
    main(sys.argv[1:])
