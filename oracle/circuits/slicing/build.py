"""ONNX model + samples -> slices, one circuit per proven slice, a checked chain of commitments.

Each boundary tensor is committed with EZKL's ``polycommit`` visibility: a KZG commitment
carried in the proof, compared byte for byte between neighbouring proofs (see
``slicing.links``). The first slice is calibrated freely with every product rebased to the
input scale; every later slice is built at that same scale, so each boundary tensor is
committed at one scale on both sides (a Gemm output left at twice the scale made the two
commitments differ). KZG commitments over different domains differ too, so every proven
slice is built at the largest logrows any of them needs. The build then runs the chain on
every sample and fails if any link breaks, and checks on a proof of one slice of each
commitment layout that the commitments sit where ``slicing.links`` says, before anything
is deployed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ezkl

from oracle.circuits.artifacts import MANIFEST, CircuitArtifacts, sample_bounds
from oracle.circuits.build import CircuitOptions, Progress, _fidelity_probes, build_circuit, calibrated_settings
from oracle.circuits.folders import EZKL_VERSION, content_key, fresh_workdir, publish
from oracle.circuits.intake import PreparedModel, check_public_values, prepare_model
from oracle.circuits.slicing.artifacts import SLICED_PREFIX, SlicedCircuit, SlicedManifest, SliceEntry
from oracle.circuits.slicing.chain import SliceStep, run_chain, witness_file, witness_step
from oracle.circuits.slicing.cut import CutPoint, ModelGraph
from oracle.circuits.slicing.links import commitment_layout
from oracle.circuits.slicing_plan import SlicingPlan
from oracle.exceptions import CircuitError
from oracle.inference import OnnxModel

# Bump when what a sliced build makes of the same model and plan changes (4: linked slices skip the
# range checks of their inputs and outputs; pieces sized where slices fill up), so old caches are not reused.
SLICED_FORMAT = 4
# Chained witnesses cost one gen_witness per slice, so the chain's fidelity uses fewer probes.
CHAIN_FIDELITY_PROBES = 48


@dataclass(frozen=True)
class SlicedBuildResult:
    circuit: SlicedCircuit
    cached: bool
    seconds: float


def sliced_build_key(
    onnx_bytes: bytes,
    cuts: Sequence[str],
    proven: Sequence[bool],
    plan: SlicingPlan,
    samples: Sequence[Sequence[float]],
) -> str:
    # A graph split under max_logrows is derived from the model and it; unset, it stays out of the key.
    split = {} if plan.max_logrows is None else {"max_logrows": plan.max_logrows}
    return content_key(
        build_format=SLICED_FORMAT,
        onnx_bytes=onnx_bytes,
        samples=samples,
        cuts=list(cuts),
        proven=list(proven),
        target=plan.calibration_target,
        **split,
    )


def build_sliced_circuit(
    model_path: Path,
    samples: Sequence[Sequence[float]],
    plan: SlicingPlan,
    *,
    build_root: Path,
    progress: Progress | None = None,
    feed: str | None = None,
    observation_time: bool = False,
) -> SlicedBuildResult:
    """Build (or find cached) the sliced circuit for ``model_path`` cut as ``plan`` says.

    The prepared model (see :mod:`oracle.circuits.intake`) is what is cut (after splitting its
    wide nodes, under ``plan.max_logrows``) and committed to.
    """
    started = time.perf_counter()
    report = progress or (lambda _step: None)
    if not samples:
        raise CircuitError(f"{model_path}: at least one sample input is needed to calibrate the slices")
    prepared = prepare_model(model_path, feed=feed, input_size=len(samples[0]), observation_time=observation_time)
    check_public_values(prepared, feed=feed)
    onnx_bytes = prepared.onnx_bytes
    graph, cuts = plan.layout(ModelGraph.load(model_path, onnx_bytes=onnx_bytes), samples=samples)
    proven = plan.proven_mask(len(cuts) + 1)
    key = sliced_build_key(onnx_bytes, [p.tensor for p in cuts], proven, plan, samples)
    final = build_root / f"{SLICED_PREFIX}{key}"
    if (final / MANIFEST).is_file():
        return SlicedBuildResult(SlicedCircuit.load(final), cached=True, seconds=time.perf_counter() - started)

    workdir = fresh_workdir(final)
    try:
        manifest = _build_into(
            workdir, key, model_path, prepared, graph, cuts, proven, plan, samples, build_root, report
        )
        SlicedCircuit(root=workdir, manifest=manifest, build_root=build_root).write_manifest()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    publish(workdir, final)
    return SlicedBuildResult(SlicedCircuit.load(final), cached=False, seconds=time.perf_counter() - started)


def _build_into(
    workdir: Path,
    key: str,
    model_path: Path,
    prepared: PreparedModel,
    graph: ModelGraph,
    cuts: list[CutPoint],
    proven: list[bool],
    plan: SlicingPlan,
    samples: Sequence[Sequence[float]],
    build_root: Path,
    report: Progress,
) -> SlicedManifest:
    timings: dict[str, float] = {}
    onnx_bytes = prepared.onnx_bytes
    (workdir / "model.onnx").write_bytes(onnx_bytes)
    paths = graph.extract(cuts, workdir)
    costs = graph.slice_rows(cuts)
    last = len(paths) - 1
    boundaries = [None, *(p.tensor for p in cuts), None]

    # Calibration data for each slice: the samples carried through the float slices before it.
    activations = [[float(x) for x in sample] for sample in samples]
    per_slice: list[list[list[float]]] = []
    for path in paths:
        per_slice.append(activations)
        model = OnnxModel(path)
        activations = [model.run(sample) for sample in activations]

    def options(index: int, scale: int | None, logrows: int | None) -> CircuitOptions:
        return CircuitOptions(
            input_visibility="public" if index == 0 else "polycommit",
            output_visibility="public" if index == last else "polycommit",
            calibration_target=plan.calibration_target,
            scale=scale,
            scale_rebase_multiplier=1,
            logrows=logrows,
            skip_io_range_checks=True if index > 0 else None,
        )

    report("calibrating the slices for their shared scale and logrows")
    calibrating = time.perf_counter()
    first = calibrated_settings(paths[0], per_slice[0], options(0, None, None))
    scale = int(first["model_input_scales"][0])
    logrows = max(
        int(first["run_args"]["logrows"]),
        *(
            int(calibrated_settings(path, per_slice[index], options(index, scale, None))["run_args"]["logrows"])
            for index, path in enumerate(paths)
            if index > 0 and proven[index]
        ),
    )
    timings["calibration"] = round(time.perf_counter() - calibrating, 3)
    circuit_keys: list[str | None] = []
    for index, path in enumerate(paths):
        if not proven[index]:
            circuit_keys.append(None)
            continue
        report(f"building slice {index + 1}/{len(paths)} ({path.name}, est. {costs[index]:,} rows, logrows {logrows})")
        result = build_circuit(path, per_slice[index], build_root=build_root, options=options(index, scale, logrows))
        manifest = result.artifacts.manifest
        timings[f"slice-{index}"] = round(result.seconds, 3)
        _check_scales(model_path, index, manifest.input_scales, manifest.output_scales, scale, last)
        circuit_keys.append(manifest.key)

    entries = [
        SliceEntry(
            index=index,
            model_file=path.name,
            input_tensor=boundaries[index] or "<model inputs>",
            output_tensor=boundaries[index + 1] or "<model outputs>",
            estimated_cost=costs[index],
            circuit_key=circuit_keys[index],
        )
        for index, path in enumerate(paths)
    ]
    whole = OnnxModel(workdir / "model.onnx")
    lows, highs = sample_bounds(samples)
    draft = SlicedManifest(
        key=key,
        ezkl_version=EZKL_VERSION,
        scale=scale,
        slices=entries,
        input_shapes=whole.input_shapes,
        output_shapes=whole.output_shapes,
        model_commitment="",
        quantization_error=0.0,
        dev_srs=True,
        timings=timings,
        sample_lows=lows,
        sample_highs=highs,
        intake=prepared.intake,
    )
    circuit = SlicedCircuit(root=workdir, manifest=draft, build_root=build_root)
    report("checking the links between slices and the chain's quantisation error")
    checked = time.perf_counter()
    error = _chain_error(model_path, circuit, samples, whole)
    timings["links"] = round(time.perf_counter() - checked, 3)
    report("checking where a slice proof of each commitment layout carries its commitments")
    checked = time.perf_counter()
    _check_commitment_layout(model_path, circuit, samples[0])
    timings["layout"] = round(time.perf_counter() - checked, 3)
    return SlicedManifest(
        **{
            **draft.__dict__,
            "model_commitment": sliced_commitment(onnx_bytes, circuit),
            "quantization_error": error,
        }
    )


def _check_commitment_layout(model_path: Path, circuit: SlicedCircuit, sample: Sequence[float]) -> None:
    """Fail unless proofs carry their witness's commitments where ``slicing.links`` says.

    The offsets are EZKL's proof layout, which nothing else pins down: the node, ``zkoracle
    verify`` and the contract all read the commitments at them. They depend only on which
    boundaries a slice commits to, so one proof per layout checks every slice: the first
    slice with each (at most three: first, middle, last), not a proof of every slice of a
    many-slice model.
    """
    unchecked = {commitment_layout(piece.circuit.manifest) for piece in circuit.slices if piece.circuit is not None}
    flat = [float(x) for x in sample]
    with tempfile.TemporaryDirectory(prefix="zkoracle-layout-") as tmp:
        workdir = Path(tmp)
        for piece in circuit.slices:
            if not unchecked:
                return
            if piece.circuit is None:
                flat = piece.inference.run(flat)
                continue
            step = witness_step(piece.circuit, flat, workdir=workdir)
            layout = commitment_layout(piece.circuit.manifest)
            if layout in unchecked:
                _check_proof_layout(model_path, piece.index, piece.circuit, step, workdir)
                unchecked.discard(layout)
            flat = step.outputs


def _check_proof_layout(
    model_path: Path, index: int, circuit: CircuitArtifacts, step: SliceStep, workdir: Path
) -> None:
    """Prove ``step``'s witness (just written in ``workdir``) and fail unless the proof holds its commitments."""
    proof_path = workdir / "proof.json"
    ezkl.prove(
        witness=str(witness_file(circuit, workdir)),
        model=str(circuit.compiled),
        pk_path=str(circuit.pk),
        proof_path=str(proof_path),
        srs_path=str(circuit.srs),
    )
    proof = bytes.fromhex(json.loads(proof_path.read_text())["hex_proof"].removeprefix("0x"))
    layout = commitment_layout(circuit.manifest)
    found = (
        layout.input_point(proof) if layout.input_committed else None,
        layout.output_point(proof) if layout.output_committed else None,
    )
    if found != (step.input_commitment, step.output_commitment):
        raise CircuitError(
            f"{model_path}: a proof of slice {index} does not carry its boundary commitments at "
            f"the offsets of EZKL's proof layout ({layout}): this EZKL version lays proofs out otherwise"
        )


def _check_scales(
    model_path: Path, index: int, input_scales: list[int], output_scales: list[int], scale: int, last: int
) -> None:
    sides = ([] if index == 0 else [("input", input_scales)]) + ([] if index == last else [("output", output_scales)])
    for side, scales in sides:
        if any(s != scale for s in scales):
            raise CircuitError(
                f"{model_path}: slice {index}'s {side} is at scale {scales}, the boundary scale is {scale}; "
                "its commitment could never match its neighbour's. Cut at another tensor."
            )


def _chain_error(
    model_path: Path, circuit: SlicedCircuit, samples: Sequence[Sequence[float]], whole: OnnxModel
) -> float:
    """Fail unless every link holds on every probe; return the chain's output error bound."""
    worst = 0.0
    for number, probe in enumerate(_fidelity_probes(samples, CHAIN_FIDELITY_PROBES)):
        chain = run_chain(circuit.slices, probe)
        broken = chain.broken_links()
        if broken:
            raise CircuitError(
                f"{model_path}: slice {broken[0] - 1}'s output commitment differs from slice {broken[0]}'s input "
                f"commitment on {'sample' if number < len(samples) else 'probe'} {number}: the boundary values "
                "do not survive requantisation (too large for the scale?). Cut elsewhere or rescale the model."
            )
        expected = whole.run(probe)
        worst = max(worst, *(abs(p - e) for p, e in zip(chain.outputs, expected, strict=True)))
    return 2.0 * worst + 2.0**-circuit.output_scale


def sliced_commitment(onnx_bytes: bytes, circuit: SlicedCircuit) -> str:
    """Binds the whole model and, slice by slice, the proven circuit or the plain ONNX that runs unproven."""
    return commitment_of_slices(
        onnx_bytes,
        [
            piece.model.read_bytes() if piece.circuit is None else piece.circuit.manifest.model_commitment
            for piece in circuit.slices
        ],
    )


def commitment_of_slices(onnx_bytes: bytes, slices: Sequence[str | bytes]) -> str:
    """sha256 over sha256(whole ONNX) and, per slice, its circuit's model commitment (0x hex) or sha256(its ONNX).

    Shared by the build and by verifiers holding only downloaded bytes.
    """
    digest = hashlib.sha256(hashlib.sha256(onnx_bytes).digest())
    for piece in slices:
        if isinstance(piece, str):
            digest.update(bytes.fromhex(piece.removeprefix("0x")))
        else:
            digest.update(hashlib.sha256(piece).digest())
    return "0x" + digest.hexdigest()
