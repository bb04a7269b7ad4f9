"""Checks of a loaded feed that need its files: the model, the samples and how they fit together.

``load_feed`` validates feed.toml on its own; these checks open the ONNX model (with
onnxruntime, no circuit build) so ``zkoracle feeds validate`` catches a samples file
or an input transform that does not fit the model before an expensive build does.
"""

from __future__ import annotations

import math

from oracle.circuits.intake import OBSERVED_AT_INPUT, PreparedModel, check_public_values, prepare_model
from oracle.circuits.quantize import MAX_EXACT_INPUT_STEPS
from oracle.circuits.slicing import CutPoint, ModelGraph
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.exceptions import CircuitError, FeedSpecError, SlicePlanError
from oracle.feeds.answer import answer_position, resolve_answers
from oracle.feeds.samples import check_sample_shapes, read_samples
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel

# The input scale EZKL's calibration picks for the small models seen so far (resources target), when
# [circuit] input_scale leaves it open: the most the circuit may read an on-chain input at.
UNSET_INPUT_SCALE = 13


def check_feed(spec: FeedSpec) -> None:
    """Raise FeedSpecError naming the field when the model, samples and transforms do not fit together."""
    samples = spec.model_samples()
    # The prepared model is the one the circuit is built from and the node runs.
    prepared = prepare_model(spec.model_path, feed=spec.id, input_size=len(samples[0]), observation_time=True)
    check_public_values(prepared, feed=spec.id)
    model = prepared.inference()
    expected = spec.source_input_size(model.input_size)
    if expected < 1:
        raise FeedSpecError(
            spec.id,
            "circuit.observation_time",
            f"the model takes {model.input_size} values: nothing besides the {OBSERVED_AT_LIMBS} observation-time limbs",
            "give the model at least one input besides its observed_at limbs",
        )
    check_sample_shapes(
        read_samples(spec.samples_path, feed=spec.id),
        source_input_shapes(model),
        feed=spec.id,
        file=spec.samples_path.name,
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
    answer_position(spec.output, model.output_names, model.output_shapes, feed=spec.id)
    resolve_answers(spec, model.output_names, model.output_shapes)
    _check_onchain_input_range(spec)
    if spec.slicing is not None:
        _check_slicing(spec, prepared)


def source_input_shapes(model: OnnxModel) -> list[list[int]]:
    """The shapes of the inputs the source feeds: all but the observation time's."""
    return [
        shape for name, shape in zip(model.input_names, model.input_shapes, strict=True) if name != OBSERVED_AT_INPUT
    ]


def _check_onchain_input_range(spec: FeedSpec) -> None:
    """Values read on-chain must stay below 2**24 steps of the input scale: EZKL reads inputs as f32."""
    if spec.source.kind not in ("evm_aggregator", "evm_view"):
        return
    scale = spec.circuit.input_scale
    if scale is None:
        scale = UNSET_INPUT_SCALE
    largest = max((abs(float(x)) for sample in spec.load_samples() for x in sample), default=0.0)
    steps = math.floor(largest * 2**scale + 0.5)  # rounded as the contract rounds
    if steps < MAX_EXACT_INPUT_STEPS:
        return
    fits = math.floor(math.log2((MAX_EXACT_INPUT_STEPS - 1) / largest))  # largest >= 1 here: scale <= 20
    how = "unset, calibration picks up to" if spec.circuit.input_scale is None else "set to"
    fix = (
        f"set [circuit] input_scale = {fits} or less (steps of 2**-{fits} = {2.0**-fits:g})"
        if fits >= 0
        else "rescale the source values: even at input_scale 0 they do not fit"
    )
    raise FeedSpecError(
        spec.id,
        "circuit.input_scale",
        f"samples reach {largest:g}, {steps} steps of 2**-{scale} (input scale {how} {scale}): "
        f"the contract refuses on-chain inputs of {MAX_EXACT_INPUT_STEPS} steps or more, the most EZKL reads exactly",
        fix,
    )


def _check_slicing(spec: FeedSpec, prepared: PreparedModel) -> None:
    """The cuts exist in the graph and the proven slices are a valid choice, before any slice is built."""
    _, cuts = _slicing_layout(spec, prepared)
    assert spec.slicing is not None
    plan = spec.slicing.plan(calibration_target=spec.circuit.calibration_target)
    try:
        plan.proven_mask(len(cuts) + 1)
    except CircuitError as exc:
        raise FeedSpecError(
            spec.id, "slicing.prove", str(exc), f"list slice indices from 0 to {len(cuts)}, including both ends"
        ) from exc


def slicing_layout(spec: FeedSpec) -> tuple[ModelGraph, list[CutPoint]]:
    """The graph a sliced feed's slices are cut from (wide nodes split under max_logrows) and its cuts."""
    samples = spec.model_samples()
    prepared = prepare_model(spec.model_path, feed=spec.id, input_size=len(samples[0]), observation_time=True)
    return _slicing_layout(spec, prepared)


def _slicing_layout(spec: FeedSpec, prepared: PreparedModel) -> tuple[ModelGraph, list[CutPoint]]:
    assert spec.slicing is not None
    plan = spec.slicing.plan(calibration_target=spec.circuit.calibration_target)
    if spec.slicing.cuts:
        field = "slicing.cuts"
    else:
        field = "slicing.slices" if spec.slicing.slices is not None else "slicing.max_logrows"
    try:
        graph = ModelGraph.load(spec.model_path, onnx_bytes=prepared.onnx_bytes)
        return plan.layout(graph, samples=spec.model_samples())
    except SlicePlanError as exc:
        raise FeedSpecError(spec.id, "slicing.max_logrows", exc.problem, exc.fix) from exc
    except CircuitError as exc:
        raise FeedSpecError(
            spec.id, field, str(exc), "cut at one of the tensors listed, or ask for fewer slices"
        ) from exc
