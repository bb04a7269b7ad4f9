"""ONNX + sample inputs -> settings, compiled circuit, keys, Solidity verifier.

Every artifact lands in ``<build_root>/<key>/`` where the key hashes everything that
determines them (model bytes, circuit options, calibration data, EZKL version). A
build whose folder exists does no EZKL work at all. Folders appear atomically (built
under a temporary name, then renamed), so a crash never leaves a half-built circuit
that looks complete.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Self

import ezkl
import onnx

from oracle.circuits.artifacts import (
    MANIFEST,
    CircuitArtifacts,
    CircuitFiles,
    CircuitManifest,
    model_commitment,
    sample_bounds,
)
from oracle.circuits.ezkl_failures import is_ezkl_failure, refusal_in
from oracle.circuits.folders import EZKL_VERSION, content_key, fresh_workdir, publish
from oracle.circuits.intake import PreparedModel, check_public_values, node_label, prepare_model
from oracle.circuits.quantize import felt_to_float
from oracle.circuits.srs import ensure_dev_srs
from oracle.evm.compiler import EIP170_CODE_SIZE_LIMIT, compile_file
from oracle.evm.toolchain import resolve_solc
from oracle.exceptions import CircuitError, ModelIntakeError, ZkOracleError
from oracle.inference import OnnxModel, split_by_shapes

# Bump when the layout or content of a build folder changes, so old caches are not reused.
BUILD_FORMAT = 6
FIDELITY_PROBES = 256
# EZKL range-checks by splitting a value into decomp_legs digits, each looked up in a table of
# decomp_base rows: 2**14 rows by default, which alone puts a small model at logrows 15. A
# 2**10-row table with one more leg covers a wider range (2**30 against 2**28) and lets such a
# model take 2**11 rows: keys 16× smaller, proofs ~10× faster. Circuits of 2**14 rows or more
# gain nothing from it (their rows, not the table, set logrows) and pay for the extra leg.
DEFAULT_DECOMPOSITION_ROWS = 2**14
SMALL_DECOMPOSITION = (2**10, 3)  # (decomp_base, decomp_legs)

# "polycommit": the tensor is committed by an unblinded KZG commitment carried in the proof
# itself (no public instance, no in-circuit hashing): how slices are linked.
Visibility = Literal["public", "private", "polycommit", "fixed"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CircuitOptions:
    input_visibility: Visibility = "public"
    output_visibility: Visibility = "public"
    param_visibility: Visibility = "fixed"
    calibration_target: Literal["resources", "accuracy"] = "resources"
    # Fixing the scale (inputs and params) and rebasing every product back to it keeps a
    # slice's output at its input's scale, so neighbouring slices commit to the same values.
    scale: int | None = None
    scale_rebase_multiplier: int | None = None
    # Keep every n-th sample out of calibration and measure the circuit's error on those (unset: none).
    holdout_every: int | None = None
    # Force 2**logrows rows (at least what calibration chose): KZG commitments are comparable
    # only over one domain, so slices linked by them share one logrows.
    logrows: int | None = None
    # True skips EZKL's range checks of the inputs and outputs: for a slice whose input is the
    # previous slice's linked output. The link makes the values that slice's outputs, which its
    # ops determined: EZKL range-checks every value a prover supplies inside an op (a division's
    # quotient, a comparison's digits), so no boundary value is the prover's free choice. Behind
    # an unproven slice the values are the prover's choice whether checked or not (coverage says
    # so), and the slice stays the one circuit full and targeted plans share.
    skip_io_range_checks: bool | None = None


@dataclass(frozen=True)
class BuildResult:
    artifacts: CircuitArtifacts
    cached: bool
    seconds: float


def build_key(onnx_bytes: bytes, options: CircuitOptions, samples: Sequence[Sequence[float]]) -> str:
    # Unset options stay out of the key, so adding an option does not invalidate older builds.
    chosen = {name: value for name, value in asdict(options).items() if value is not None}
    return content_key(build_format=BUILD_FORMAT, onnx_bytes=onnx_bytes, samples=samples, options=chosen)


def build_circuit(
    model_path: Path,
    samples: Sequence[Sequence[float]],
    *,
    build_root: Path,
    options: CircuitOptions | None = None,
    progress: Progress | None = None,
    feed: str | None = None,
    observation_time: bool = False,
) -> BuildResult:
    """Build (or find cached) the circuit for ``model_path`` calibrated on ``samples``.

    The circuit is built from the prepared model (see :mod:`oracle.circuits.intake`);
    ``feed`` names the feed in intake errors.
    """
    started = time.perf_counter()
    options = options or CircuitOptions()
    if not samples:
        raise CircuitError(f"{model_path}: at least one sample input is needed to calibrate the circuit")
    prepared = prepare_model(model_path, feed=feed, input_size=len(samples[0]), observation_time=observation_time)
    check_public_values(prepared, feed=feed)
    onnx_bytes = prepared.onnx_bytes
    key = build_key(onnx_bytes, options, samples)
    final = build_root / key
    if (final / MANIFEST).is_file():
        return BuildResult(CircuitArtifacts.load(final), cached=True, seconds=time.perf_counter() - started)

    report = progress or (lambda _step: None)
    workdir = fresh_workdir(final)
    try:
        manifest = _build_into(workdir, key, prepared, samples, options, build_root, report)
    except BaseException as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        if isinstance(exc, ZkOracleError) or not is_ezkl_failure(exc):
            raise
        refusal = refusal_in(onnx.load_from_string(onnx_bytes), str(exc))
        if refusal is not None:
            raise ModelIntakeError(
                feed,
                model_path.name,
                f"{refusal.problem} ({exc})",
                refusal.fix,
                node=node_label(refusal.index, refusal.node),
                op_type=refusal.node.op_type,
            ) from exc
        raise ModelIntakeError(
            feed,
            model_path.name,
            f"EZKL could not build its circuit ({exc})",
            "check that the samples are inputs the model accepts (an integer input such as an index must stay "
            "in range); if they are, EZKL cannot prove the model as it is: simplify it or split it with [slicing]",
        ) from exc
    artifacts = CircuitArtifacts(root=workdir, manifest=manifest)
    artifacts.write_manifest()
    publish(workdir, final)
    return BuildResult(CircuitArtifacts.load(final), cached=False, seconds=time.perf_counter() - started)


def _build_into(
    workdir: Path,
    key: str,
    prepared: PreparedModel,
    samples: Sequence[Sequence[float]],
    options: CircuitOptions,
    build_root: Path,
    report: Progress,
) -> CircuitManifest:
    paths = CircuitFiles(root=workdir)
    onnx_bytes = prepared.onnx_bytes
    paths.model.write_bytes(onnx_bytes)
    model = OnnxModel(paths.model)
    calibrating, held_out = _split_holdout(samples, options.holdout_every)
    timings: dict[str, float] = {}

    def step(name: str, label: str) -> _Timer:
        report(label)
        return _Timer(timings, name)

    with step("settings", "generating and calibrating circuit settings"):
        _calibrated_settings(paths, model, calibrating, options)
        if options.logrows is not None:
            _force_logrows(paths.settings, options.logrows)
    with step("compile", "compiling the circuit"):
        _check(
            ezkl.compile_circuit(
                model=str(paths.model), compiled_circuit=str(paths.compiled), settings_path=str(paths.settings)
            ),
            "compile_circuit",
        )
    settings = json.loads(paths.settings.read_text())
    logrows = int(settings["run_args"]["logrows"])
    with step("srs", f"preparing the dev SRS (logrows {logrows})"):
        srs = ensure_dev_srs(build_root, logrows)
    with step("setup", "generating proving and verifying keys"):
        _check(
            ezkl.setup(model=str(paths.compiled), vk_path=str(paths.vk), pk_path=str(paths.pk), srs_path=str(srs)),
            "setup",
        )
    with step("fidelity", "measuring the circuit's quantisation error"):
        error = _quantization_error(paths, model, samples, settings["model_output_scales"])
        held_out_errors = _output_errors(paths, model, held_out, settings["model_output_scales"]) if held_out else []
    with step("verifier", "generating and compiling the Solidity verifier"):
        verifier_size = _generate_verifier(paths, srs)
    verifier_kind, vka_words = "dedicated", 0
    if verifier_size > EIP170_CODE_SIZE_LIMIT:
        label = f"the verifier is {verifier_size:,} bytes, over EIP-170: generating EZKL's reusable verifier and a VKA"
        with step("reusable_verifier", label):
            verifier_kind, vka_words = "reusable", _generate_reusable_verifier(paths, srs)

    lows, highs = sample_bounds(samples)
    return CircuitManifest(
        key=key,
        ezkl_version=EZKL_VERSION,
        logrows=logrows,
        input_visibility=options.input_visibility,
        output_visibility=options.output_visibility,
        input_scales=list(settings["model_input_scales"]),
        output_scales=list(settings["model_output_scales"]),
        input_shapes=model.input_shapes,
        output_shapes=model.output_shapes,
        srs_file=str(srs.resolve()),
        dev_srs=True,
        model_commitment=model_commitment(
            onnx_bytes=onnx_bytes, settings_bytes=paths.settings.read_bytes(), vk_bytes=paths.vk.read_bytes()
        ),
        quantization_error=error,
        timings=timings,
        verifier_deployed_size=verifier_size,
        sample_lows=lows,
        sample_highs=highs,
        intake=prepared.intake,
        held_out_samples=len(held_out),
        held_out_errors=held_out_errors,
        verifier_kind=verifier_kind,
        vka_words=vka_words,
    )


def calibrated_settings(
    model_path: Path, samples: Sequence[Sequence[float]], options: CircuitOptions
) -> dict[str, Any]:
    """The settings :func:`build_circuit` would calibrate for ``model_path`` under ``options``, building nothing."""
    prepared = prepare_model(model_path, feed=None, input_size=len(samples[0]), observation_time=False)
    with tempfile.TemporaryDirectory(prefix="zkoracle-calibrate-") as tmp:
        paths = CircuitFiles(root=Path(tmp))
        paths.model.write_bytes(prepared.onnx_bytes)
        _calibrated_settings(paths, OnnxModel(paths.model), samples, options)
        return json.loads(paths.settings.read_text())


def _calibrated_settings(
    paths: CircuitFiles, model: OnnxModel, samples: Sequence[Sequence[float]], options: CircuitOptions
) -> None:
    """``paths.settings`` generated under ``options`` and calibrated on ``samples``, with the
    range-check table (see SMALL_DECOMPOSITION) that needs the fewer rows."""
    calibration = paths.root / "calibration.json"
    per_sample = [split_by_shapes(sample, model.input_shapes) for sample in samples]
    # EZKL wants one list per input tensor, each holding that tensor for every sample in turn.
    per_input = [[x for parts in per_sample for x in parts[i]] for i in range(len(model.input_shapes))]
    calibration.write_text(json.dumps({"input_data": per_input}))
    _calibrate(paths.settings, paths.model, calibration, options, decomposition=None)
    default = json.loads(paths.settings.read_text())
    if default["num_rows"] >= DEFAULT_DECOMPOSITION_ROWS:
        return
    trial = paths.root / "settings-small-table.json"
    try:
        _calibrate(trial, paths.model, calibration, options, decomposition=SMALL_DECOMPOSITION)
    except BaseException as exc:
        trial.unlink(missing_ok=True)
        if is_ezkl_failure(exc):  # EZKL cannot calibrate the model this way: the default stands
            return
        raise
    if json.loads(trial.read_text())["run_args"]["logrows"] < default["run_args"]["logrows"]:
        trial.replace(paths.settings)
    else:
        trial.unlink()


def _calibrate(
    settings: Path,
    model_path: Path,
    calibration: Path,
    options: CircuitOptions,
    *,
    decomposition: tuple[int, int] | None,
) -> None:
    run_args = ezkl.PyRunArgs()
    if decomposition is not None:
        run_args.decomp_base, run_args.decomp_legs = decomposition
    run_args.input_visibility = options.input_visibility
    run_args.output_visibility = options.output_visibility
    run_args.param_visibility = options.param_visibility
    run_args.ignore_range_check_inputs_outputs = bool(options.skip_io_range_checks)
    calibration_limits: dict[str, list[int]] = {}
    if options.scale is not None:
        run_args.input_scale = run_args.param_scale = options.scale
        calibration_limits["scales"] = [options.scale]
    if options.scale_rebase_multiplier is not None:
        run_args.scale_rebase_multiplier = options.scale_rebase_multiplier
        calibration_limits["scale_rebase_multiplier"] = [options.scale_rebase_multiplier]
    _check(ezkl.gen_settings(model=str(model_path), output=str(settings), py_run_args=run_args), "gen_settings")
    _check(
        ezkl.calibrate_settings(
            data=str(calibration),
            model=str(model_path),
            settings=str(settings),
            target=options.calibration_target,
            **calibration_limits,
        ),
        "calibrate_settings",
    )


def _force_logrows(settings_path: Path, logrows: int) -> None:
    settings = json.loads(settings_path.read_text())
    calibrated = int(settings["run_args"]["logrows"])
    if calibrated > logrows:
        raise CircuitError(f"the circuit needs logrows {calibrated}, more than the {logrows} asked for")
    settings["run_args"]["logrows"] = logrows
    settings_path.write_text(json.dumps(settings))


def _fidelity_probes(samples: Sequence[Sequence[float]], count: int = FIDELITY_PROBES) -> list[list[float]]:
    """The samples plus deterministic points between them, where rounding may fall differently."""
    rng = random.Random(0)
    probes = [[float(x) for x in sample] for sample in samples]
    while len(probes) < count:
        a, b = rng.choice(samples), rng.choice(samples)
        t = rng.random()
        probes.append([float(x) + t * (float(y) - float(x)) for x, y in zip(a, b, strict=True)])
    return probes


def _quantization_error(
    paths: CircuitFiles, model: OnnxModel, samples: Sequence[Sequence[float]], output_scales: list[int]
) -> float:
    """A bound on |circuit output − float model output| inside the calibrated range.

    The circuit computes in fixed point, so its outputs differ from onnxruntime's. The
    worst difference seen over the probes is doubled (the probes cannot hit every
    rounding pattern) and one output step is added; each round's proven value is
    checked against this bound.
    """
    worst = max(_output_errors(paths, model, _fidelity_probes(samples), output_scales))
    return 2.0 * worst + 2.0 ** -min(output_scales)


def _split_holdout(
    samples: Sequence[Sequence[float]], every: int | None
) -> tuple[list[Sequence[float]], list[Sequence[float]]]:
    """(calibration samples, held-out samples): every ``every``-th sample held out, none with fewer samples."""
    if every is None or len(samples) < every:
        return list(samples), []
    return (
        [sample for i, sample in enumerate(samples) if i % every != every - 1],
        [sample for i, sample in enumerate(samples) if i % every == every - 1],
    )


def _output_errors(
    paths: CircuitFiles, model: OnnxModel, inputs: Sequence[Sequence[float]], output_scales: list[int]
) -> list[float]:
    """Per output value (flat): the largest |circuit output − onnxruntime output| over ``inputs``."""
    worst: list[float] = []
    data = paths.root / "fidelity-input.json"
    witness_path = paths.root / "fidelity-witness.json"
    for values in inputs:
        data.write_text(json.dumps({"input_data": split_by_shapes(values, model.input_shapes)}))
        witness = ezkl.gen_witness(data=str(data), model=str(paths.compiled), output=str(witness_path))
        proven = [
            felt_to_float(f, scale)
            for felts, scale in zip(witness["outputs"], output_scales, strict=True)
            for f in felts
        ]
        errors = [abs(p - e) for p, e in zip(proven, model.run(values), strict=True)]
        worst = [max(a, b) for a, b in zip(worst, errors, strict=True)] if worst else errors
    data.unlink()
    witness_path.unlink()
    return worst


def _generate_verifier(paths: CircuitFiles, srs: Path) -> int:
    async def create() -> bool:
        return await ezkl.create_evm_verifier(
            vk_path=str(paths.vk),
            settings_path=str(paths.settings),
            sol_code_path=str(paths.verifier_source),
            abi_path=str(paths.root / "verifier.abi"),
            srs_path=str(srs),
        )

    resolve_solc()  # registers a solc where ezkl looks, so it never tries to download one
    _check(asyncio.run(create()), "create_evm_verifier")
    compiled = compile_file(paths.verifier_source)["Halo2Verifier"]
    paths.verifier_artifact.write_text(json.dumps({"abi": compiled.abi, "bytecode": compiled.bytecode}))
    return compiled.deployed_size


def _generate_reusable_verifier(paths: CircuitFiles, srs: Path) -> int:
    """EZKL's reusable verifier (the same contract for every circuit) and this circuit's VKA; returns its words."""
    source, vka_bytes = paths.root / "ReusableVerifier.sol", paths.root / "vka.bytes"

    async def create() -> bool:
        return await ezkl.create_evm_verifier(
            vk_path=str(paths.vk),
            settings_path=str(paths.settings),
            sol_code_path=str(source),
            abi_path=str(paths.root / "reusable-verifier.abi"),
            srs_path=str(srs),
            reusable=True,
        )

    async def create_vka() -> bool:
        return await ezkl.create_evm_vka(
            vk_path=str(paths.vk), settings_path=str(paths.settings), vka_path=str(vka_bytes), srs_path=str(srs)
        )

    _check(asyncio.run(create()), "create_evm_verifier(reusable=True)")
    _check(asyncio.run(create_vka()), "create_evm_vka")
    compiled = compile_file(source)["Halo2VerifierReusable"]
    paths.reusable_verifier_artifact.write_text(json.dumps({"abi": compiled.abi, "bytecode": compiled.bytecode}))
    words = _vka_words(vka_bytes.read_bytes())
    paths.vka.write_text(json.dumps({"words": ["0x" + word.hex() for word in words]}))
    vka_bytes.unlink()
    return len(words)


def _vka_words(raw: bytes) -> list[bytes]:
    """ezkl writes a VKA as a little-endian u64 word count, then the 32-byte words."""
    count = int.from_bytes(raw[:8], "little")
    if len(raw) != 8 + 32 * count:
        raise CircuitError(f"ezkl's VKA file is {len(raw)} bytes, not the {8 + 32 * count} its count of {count} needs")
    return [raw[8 + 32 * i : 8 + 32 * (i + 1)] for i in range(count)]


def _check(ok: bool, step: str) -> None:
    if ok is False:
        raise CircuitError(f"ezkl.{step} reported failure")


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self._timings = timings
        self._name = name

    def __enter__(self) -> Self:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timings[self._name] = round(time.perf_counter() - self._start, 3)
