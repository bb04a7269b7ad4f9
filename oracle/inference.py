"""Plain (unproven) model inference with onnxruntime: cheap, run on every tick."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort

from oracle.exceptions import SourceError


class OnnxModel:
    """An ONNX model taking and returning flat float lists in EZKL's tensor order."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def _session(self) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def input_shapes(self) -> list[list[int]]:
        return [_concrete(node.shape) for node in self._session.get_inputs()]

    @cached_property
    def output_shapes(self) -> list[list[int]]:
        return [_concrete(node.shape) for node in self._session.get_outputs()]

    @property
    def input_size(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.input_shapes)

    def run(self, flat_inputs: Sequence[float]) -> list[float]:
        if len(flat_inputs) != self.input_size:
            raise SourceError(f"model {self.path.name} takes {self.input_size} input values, got {len(flat_inputs)}")
        feeds: dict[str, np.ndarray] = {}
        offset = 0
        for node, shape in zip(self._session.get_inputs(), self.input_shapes, strict=True):
            size = int(np.prod(shape))
            feeds[node.name] = np.asarray(flat_inputs[offset : offset + size], dtype=np.float32).reshape(shape)
            offset += size
        outputs = self._session.run(None, feeds)
        return [float(value) for output in outputs for value in np.asarray(output).ravel()]


def _concrete(shape: Sequence[int | str | None]) -> list[int]:
    """Symbolic dimensions (batch) are 1, as EZKL's circuits fix them."""
    return [dim if isinstance(dim, int) else 1 for dim in shape]
