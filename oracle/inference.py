"""Plain (unproven) model inference with onnxruntime: cheap, run on every tick."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort

from oracle.exceptions import SourceError

# onnxruntime logs warnings (e.g. "only *guarantees* support for opset 7 or above") natively to
# fd 2; a model it can run needs none of them, and its load errors arrive as exceptions.
_LOG_ERRORS_ONLY = 3


def quiet_session(model: Path | bytes) -> ort.InferenceSession:
    """A single-threaded CPU session on ``model`` (a file or its bytes) that logs only errors."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = _LOG_ERRORS_ONLY
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """An ONNX model (a file or its bytes) taking and returning flat float lists in EZKL's tensor order."""

    def __init__(self, model: Path | bytes, *, name: str | None = None) -> None:
        self._model = model
        self.name = name or (model.name if isinstance(model, Path) else "model")

    @cached_property
    def _session(self) -> ort.InferenceSession:
        return quiet_session(self._model)

    @cached_property
    def input_names(self) -> list[str]:
        return [node.name for node in self._session.get_inputs()]

    @cached_property
    def output_names(self) -> list[str]:
        return [node.name for node in self._session.get_outputs()]

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
            raise SourceError(f"model {self.name} takes {self.input_size} input values, got {len(flat_inputs)}")
        feeds = {
            node.name: _as_input(values, node.type).reshape(shape)
            for node, shape, values in zip(
                self._session.get_inputs(),
                self.input_shapes,
                split_by_shapes(flat_inputs, self.input_shapes),
                strict=True,
            )
        }
        outputs = self._session.run(None, feeds)
        return [float(value) for output in outputs for value in np.asarray(output).ravel()]


# onnxruntime's names of the integer input types a model may declare (an embedding's indices, say).
_INTEGER_INPUTS = {f"tensor({kind})": np.dtype(kind) for kind in ("int8", "int16", "int32", "int64", "uint8")}


def _as_input(values: Sequence[float], declared: str) -> np.ndarray:
    """Values as the input's declared type: integers for an integer input, float32 otherwise."""
    integer = _INTEGER_INPUTS.get(declared)
    if integer is None:
        return np.asarray(values, dtype=np.float32)
    return np.rint(np.asarray(values, dtype=np.float64)).astype(integer)


def _concrete(shape: Sequence[int | str | None]) -> list[int]:
    """Symbolic dimensions (batch) are 1, as EZKL's circuits fix them."""
    return [dim if isinstance(dim, int) else 1 for dim in shape]


def split_by_shapes(flat: Sequence[float], shapes: Sequence[Sequence[int]]) -> list[list[float]]:
    """A flat input list cut into one list per input tensor, in order (EZKL's data layout)."""
    parts, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append([float(x) for x in flat[offset : offset + size]])
        offset += size
    return parts
