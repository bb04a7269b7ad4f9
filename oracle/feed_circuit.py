"""The circuit a feed asks for: one circuit for the whole model, or linked slices."""

from __future__ import annotations

from pathlib import Path

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import BuildResult, CircuitOptions, Progress, build_circuit
from oracle.circuits.slicing import SlicedBuildResult, SlicedCircuit, build_sliced_circuit
from oracle.feeds.schema import FeedSpec

FeedCircuit = CircuitArtifacts | SlicedCircuit


def build_feed_circuit(
    spec: FeedSpec, *, build_root: Path, progress: Progress | None = None
) -> BuildResult | SlicedBuildResult:
    """Build (or find cached) ``spec``'s circuit; a feed with ``[slicing]`` gets a sliced one."""
    if spec.slicing is not None:
        plan = spec.slicing.plan(calibration_target=spec.circuit.calibration_target)
        return build_sliced_circuit(
            spec.model_path,
            spec.model_samples(),
            plan,
            build_root=build_root,
            progress=progress,
            feed=spec.id,
            observation_time=True,
        )
    options = CircuitOptions(
        input_visibility=spec.circuit.input_visibility,
        output_visibility=spec.circuit.output_visibility,
        calibration_target=spec.circuit.calibration_target,
        scale=spec.circuit.input_scale,
    )
    return build_circuit(
        spec.model_path,
        spec.model_samples(),
        build_root=build_root,
        options=options,
        progress=progress,
        feed=spec.id,
        observation_time=True,
    )


def describe(circuit: FeedCircuit) -> str:
    """One line for the operator: size, instances and the quantisation bound."""
    if isinstance(circuit, SlicedCircuit):
        proven, total = circuit.manifest.coverage
        logrows = ", ".join(
            "unproven" if piece.circuit is None else str(piece.circuit.manifest.logrows) for piece in circuit.slices
        )
        return (
            f"{total} slices at scale {circuit.manifest.scale}, {proven} proven (logrows {logrows}), "
            f"quantisation error ≤ {circuit.manifest.quantization_error:.6f}"
        )
    manifest = circuit.manifest
    return (
        f"logrows {manifest.logrows}, {manifest.instance_count} public instances, "
        f"quantisation error ≤ {manifest.quantization_error:.6f}"
    )
