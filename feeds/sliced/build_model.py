"""Build the sliced feed's model: the benchmark's MLP forecaster, deep enough to cut in three.

The model normalises a window of 8 synthetic ETH/USD prices inside the graph, runs a
ReLU MLP 8 → 32 → 32 → 16 → 1 with fixed seeded weights and maps the result back to
USD (see bench/models/mlp.py). The feed proves it as three slices linked by KZG
commitments. Run ``python feeds/sliced/build_model.py`` to regenerate ``model.onnx``
and ``samples.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from bench.models.mlp import ModelSize, build_onnx, samples  # noqa: E402

SIZE = ModelSize("sliced", window=8, hidden=(32, 32, 16))


def main() -> None:
    folder = Path(__file__).resolve().parent
    onnx.save(build_onnx(SIZE), folder / "model.onnx")
    (folder / "samples.json").write_text(json.dumps(samples(SIZE)) + "\n")


if __name__ == "__main__":
    main()
