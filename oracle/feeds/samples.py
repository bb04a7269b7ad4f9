"""Sample inputs from a file: JSON, CSV or NumPy ``.npy``, flat lists or tensors.

A sample is what the source gives a round (after the [input] transforms): either a
flat list in row-major order or a tensor (nested lists) of the model's input shape.
Tensors are flattened row-major; :func:`check_sample_shapes` checks their shape
against the model's source inputs (leading 1s, the batch, may be left out).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from math import prod
from pathlib import Path

import numpy as np

from oracle.exceptions import FeedSpecError

SAMPLES_FIX = (
    "point it at sample inputs relative to the feed folder: a JSON list of flat lists or tensors, "
    "a CSV file (one sample a row, header optional) or a NumPy .npy array (one sample per row)"
)
FORMATS = (".json", ".csv", ".npy")


def read_samples(path: Path, *, feed: str, field: str = "samples") -> list[np.ndarray]:
    """Each sample in ``path`` as an array of its own shape (1-D for a flat list)."""

    def refuse(problem: str) -> FeedSpecError:
        return FeedSpecError(feed, field, f"{path.name}: {problem}", SAMPLES_FIX)

    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise refuse(f"unknown format {suffix or '(no suffix)'}; use one of {', '.join(FORMATS)}")
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
            if array.ndim < 2:
                raise refuse(f"a {array.ndim}-D array; give one sample per row (np.save(path, x.reshape(len(x), -1)))")
            raw: list[object] = list(array)
        elif suffix == ".csv":
            raw = _csv_rows(path.read_text())
        else:
            raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise refuse("does not exist") from exc
    except (OSError, ValueError) as exc:
        raise refuse(f"cannot be read ({exc})") from exc
    if not isinstance(raw, list) or not raw:
        raise refuse("holds no samples (expected a non-empty list of samples)")
    samples = []
    for index, sample in enumerate(raw):
        try:
            array = np.asarray(sample, dtype=np.float64)
        except (TypeError, ValueError):
            raise refuse(f"sample {index} is not a list of numbers or a tensor with rows of equal length") from None
        if array.ndim == 0:
            raise refuse(f"sample {index} is one number, not a list of inputs")
        if not np.isfinite(array).all():
            raise refuse(f"sample {index} holds a value that is not a finite number")
        samples.append(array)
    return samples


def _csv_rows(text: str) -> list[object]:
    rows = [row for row in csv.reader(text.splitlines()) if row and any(cell.strip() for cell in row)]
    if rows and not _numeric(rows[0]):
        rows = rows[1:]  # a header
    parsed = []
    for number, row in enumerate(rows):
        if not _numeric(row):
            raise ValueError(f"row {number + 1} holds a cell that is not a number: {row}")
        parsed.append([float(cell) for cell in row])
    return parsed


def _numeric(row: Sequence[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def flat(samples: Sequence[np.ndarray]) -> list[list[float]]:
    """Every sample flattened in row-major order."""
    return [[float(x) for x in sample.ravel()] for sample in samples]


def check_sample_shapes(
    samples: Sequence[np.ndarray], shapes: Sequence[Sequence[int]], *, feed: str, file: str, field: str = "samples"
) -> None:
    """Each sample is a flat list of all the source inputs' values, or a tensor of the (single) source input's shape."""
    size = sum(prod(shape) for shape in shapes)
    wanted = " and ".join(str(list(shape)) for shape in shapes)
    fix = f"give each sample as a flat list of {size} values (row-major, model input order)" + (
        f" or a {wanted} tensor" if len(shapes) == 1 else ""
    )
    for index, sample in enumerate(samples):
        if sample.ndim == 1:
            if sample.size != size:
                raise FeedSpecError(
                    feed, field, f"sample {index} in {file} has {sample.size} values, the source feeds {size}", fix
                )
        elif len(shapes) != 1 or _squeezed(sample.shape) != _squeezed(shapes[0]):
            raise FeedSpecError(
                feed,
                field,
                f"sample {index} in {file} is a {list(sample.shape)} tensor, the model's source input is {wanted}",
                fix,
            )


def _squeezed(shape: Sequence[int]) -> list[int]:
    """The shape without its leading 1s (a batch of one may be left out)."""
    dims = list(shape)
    while len(dims) > 1 and dims[0] == 1:
        dims.pop(0)
    return dims
