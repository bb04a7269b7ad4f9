"""Checks of a loaded feed that need its files: the model, the samples and how they fit together.

``load_feed`` validates feed.toml on its own; these checks open the ONNX model (with
onnxruntime, no circuit build) so ``zkoracle feeds validate`` catches a samples file
or an input transform that does not fit the model before an expensive build does.
"""

from __future__ import annotations

import numpy as np

from oracle.circuits.intake import PreparedModel, prepare_model
from oracle.circuits.slicing import ModelGraph
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.exceptions import CircuitError, FeedSpecError
from oracle.feeds.schema import FeedSpec


def check_feed(spec: FeedSpec) -> None:
    """Raise FeedSpecError naming the field when the model, samples and transforms do not fit together."""
    samples = spec.model_samples()
    # The prepared model is the one the circuit is built from and the node runs.
    prepared = prepare_model(spec.model_path, feed=spec.id, input_size=len(samples[0]))
    model = prepared.inference()
    outputs = sum(int(np.prod(shape)) for shape in model.output_shapes)
    expected = spec.source_input_size(model.input_size)
    if expected < 1:
        raise FeedSpecError(
            spec.id,
            "circuit.observation_time",
            f"the model takes {model.input_size} values, too few for the {OBSERVED_AT_LIMBS} observation-time limbs",
            "add an observed_at input of 3 values to the model (see feeds/demo/build_model.py) or turn it off",
        )
    for index, sample in enumerate(spec.load_samples()):
        if len(sample) != expected:
            raise FeedSpecError(
                spec.id,
                "samples",
                f"sample {index} in {spec.samples_path.name} has {len(sample)} values, the source feeds {expected}",
                f"give every sample {expected} values, in model input order after the [input] transforms",
            )
    for name in ("order", "scale", "offset"):
        setting = getattr(spec.input, name)
        if isinstance(setting, list) and len(setting) != expected:
            raise FeedSpecError(
                spec.id,
                f"input.{name}",
                f"has {len(setting)} entries, the model takes {expected} source values",
                f"give one entry per model input ({expected})",
            )
    if spec.output >= outputs:
        raise FeedSpecError(
            spec.id, "output", f"the model has {outputs} output values", f"use an index below {outputs}"
        )
    if spec.slicing is not None:
        _check_slicing(spec, prepared)


def _check_slicing(spec: FeedSpec, prepared: PreparedModel) -> None:
    """The cuts exist in the graph and the proven slices are a valid choice, before any slice is built."""
    assert spec.slicing is not None
    plan = spec.slicing.plan(calibration_target=spec.circuit.calibration_target)
    field = "slicing.cuts" if spec.slicing.cuts else "slicing.slices"
    try:
        graph = ModelGraph.load(spec.model_path, onnx_bytes=prepared.onnx_bytes)
        cuts = plan.cut_points(graph)
    except CircuitError as exc:
        raise FeedSpecError(
            spec.id, field, str(exc), "cut at one of the tensors listed, or ask for fewer slices"
        ) from exc
    try:
        plan.proven_mask(len(cuts) + 1)
    except CircuitError as exc:
        raise FeedSpecError(
            spec.id, "slicing.prove", str(exc), f"list slice indices from 0 to {len(cuts)}, including both ends"
        ) from exc
