"""The circuit a feed asks for (one circuit for the whole model, or linked slices), built as a :class:`FeedCircuit`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oracle.circuits.build import CircuitOptions, Progress, build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.intake import output_names
from oracle.circuits.slicing import build_sliced_circuit
from oracle.exceptions import FeedSpecError
from oracle.feeds.answer import Answer, answer_position, resolve_answers
from oracle.feeds.schema import FeedSpec

__all__ = ["FeedBuild", "FeedCircuit", "build_feed_circuit"]

# Every HOLDOUT_EVERY-th sample is kept out of calibration and measures the circuit's error.
HOLDOUT_EVERY = 5
MAX_ERROR_FIX = (
    'set [circuit] calibration_target = "accuracy", or a larger [circuit] input_scale, '
    "or add samples covering the inputs (or raise max_error)"
)


@dataclass(frozen=True)
class FeedBuild:
    circuit: FeedCircuit
    cached: bool
    seconds: float


def build_feed_circuit(spec: FeedSpec, *, build_root: Path, progress: Progress | None = None) -> FeedBuild:
    """Build (or find cached) ``spec``'s circuit; a feed with ``[slicing]`` gets a sliced one.

    Raises FeedSpecError when the circuit's measured error exceeds ``[circuit] max_error``.
    """
    if spec.slicing is not None:
        plan = spec.slicing.plan(calibration_target=spec.circuit.calibration_target)
        sliced = build_sliced_circuit(
            spec.model_path,
            spec.model_samples(),
            plan,
            build_root=build_root,
            progress=progress,
            feed=spec.id,
            observation_time=True,
        )
        built = FeedBuild(FeedCircuit.sliced(sliced.circuit), cached=sliced.cached, seconds=sliced.seconds)
        check_max_error(spec, built.circuit)
        return built
    options = CircuitOptions(
        input_visibility=spec.circuit.input_visibility,
        output_visibility=spec.circuit.output_visibility,
        calibration_target=spec.circuit.calibration_target,
        scale=spec.circuit.input_scale,
        holdout_every=HOLDOUT_EVERY,
    )
    result = build_circuit(
        spec.model_path,
        spec.model_samples(),
        build_root=build_root,
        options=options,
        progress=progress,
        feed=spec.id,
        observation_time=True,
    )
    built = FeedBuild(FeedCircuit.whole(result.artifacts), cached=result.cached, seconds=result.seconds)
    check_max_error(spec, built.circuit)
    return built


def feed_answer(spec: FeedSpec, circuit: FeedCircuit) -> int:
    """The flat position of ``spec``'s answer among the model's output values (see :mod:`oracle.feeds.answer`);
    for a feed with ``[[answers]]``, the lowest answer's: the circuit's output instance, each answer an offset past it."""
    answers = feed_answers(spec, circuit)
    if answers:
        return min(answer.position for answer in answers)
    return answer_position(spec.output, output_names(circuit.model), circuit.output_shapes, feed=spec.id)


def feed_answers(spec: FeedSpec, circuit: FeedCircuit) -> tuple[Answer, ...]:
    """``spec``'s ``[[answers]]`` placed in ``circuit``'s outputs (none for a feed of one answer).

    ZkOracle derives every answer of a feed at the circuit's one output scale, so answers
    spanning output tensors of different scales are refused.
    """
    if not spec.answers:
        return ()
    answers = resolve_answers(spec, output_names(circuit.model), circuit.output_shapes)
    scales = {answer.id: circuit.answer_scale(answer.position) for answer in answers}
    if len(set(scales.values())) > 1:
        raise FeedSpecError(
            spec.id,
            "answers",
            f"the answers' output tensors are proven at different scales ({scales}): the oracle derives "
            "every answer of a feed at one scale",
            "take every answer from one output tensor (or from tensors the circuit proves at one scale)",
        )
    return answers


@dataclass(frozen=True)
class MeasuredError:
    """The answer's error measured at build time: on ``held_out`` samples, or (none held out) the quantisation bound."""

    value: float
    held_out: int

    @property
    def where(self) -> str:
        return f"on {self.held_out} held-out samples" if self.held_out else "(the quantisation bound: none held out)"


def measured_error(spec: FeedSpec, circuit: FeedCircuit) -> MeasuredError:
    """The answer error on the build's held-out samples; with none held out (a sliced circuit, or too few
    samples), the quantisation bound."""
    if circuit.held_out_samples:
        return MeasuredError(circuit.held_out_errors[feed_answer(spec, circuit)], circuit.held_out_samples)
    return MeasuredError(circuit.quantization_error, 0)


def check_max_error(spec: FeedSpec, circuit: FeedCircuit) -> None:
    limit = spec.circuit.max_error
    if limit is None:
        return
    error = measured_error(spec, circuit)
    if error.value > limit:
        raise FeedSpecError(
            spec.id,
            "circuit.max_error",
            f"the circuit's answer differs from onnxruntime's by {error.value:.6g} {error.where}, "
            f"above max_error {limit:g}",
            MAX_ERROR_FIX,
        )


def describe(spec: FeedSpec, circuit: FeedCircuit) -> str:
    """One line for the operator: size, instances, the quantisation bound and the measured error."""
    error = measured_error(spec, circuit)
    measured = f", answer error {error.value:.6f} {error.where}" if error.held_out else ""
    if len(circuit.pieces) > 1:
        proven, total = circuit.coverage
        logrows = ", ".join(
            "unproven" if piece.circuit is None else str(piece.circuit.manifest.logrows) for piece in circuit.pieces
        )
        return (
            f"{total} slices at scale {circuit.input_scale}, {proven} proven (logrows {logrows}), "
            f"quantisation error ≤ {circuit.quantization_error:.6f}"
        )
    manifest = circuit.first.manifest
    verifier = (
        f", EZKL's reusable verifier with a {manifest.vka_words}-word VKA (the generated one is over EIP-170)"
        if manifest.verifier_kind == "reusable"
        else ""
    )
    return (
        f"logrows {manifest.logrows}, {manifest.instance_count} public instances, "
        f"quantisation error ≤ {manifest.quantization_error:.6f}{measured}{verifier}"
    )
