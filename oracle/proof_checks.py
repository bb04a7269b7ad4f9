"""What makes a proof acceptable for a round, whoever produced it: never trust a prover.

The pipeline applies these checks to every proof before storing it, and the prover
network applies the same ones to pick the winner of a race.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.quantize import answer_from_felt, felt_to_float
from oracle.circuits.verify import verify_document
from oracle.exceptions import ProverError
from oracle.feedspec import FeedSpec
from oracle.provers.base import Proof


@dataclass(frozen=True)
class CheckedProof:
    proven_output: float
    expected_answer: str  # the exact integer the contract will derive, as text (may exceed int64)
    verify_seconds: float


def check_proof(
    spec: FeedSpec, circuit: CircuitArtifacts, proof: Proof, inputs: Sequence[float], *, model_output: float
) -> CheckedProof:
    """Raise :class:`ProverError` unless ``proof`` verifies, is about ``inputs`` and agrees with our inference."""
    started = time.perf_counter()
    verify_document(circuit, proof.document)
    verify_seconds = time.perf_counter() - started
    manifest = circuit.manifest
    instances = proof.instances
    if len(instances) != manifest.instance_count:
        raise ProverError(f"proof carries {len(instances)} instances, circuit has {manifest.instance_count}")
    if manifest.input_visibility == "public":
        input_step = 2.0 ** -min(manifest.input_scales)
        for position, (felt, value) in enumerate(zip(instances[: manifest.input_instances], inputs, strict=True)):
            proven = felt_to_float(felt, manifest.input_scales[0])
            if abs(proven - value) > input_step:
                raise ProverError(f"proof input {position} is {proven}, the round's input is {value}")
    answer_felt = instances[manifest.answer_index(spec.output)]
    proven_output = felt_to_float(answer_felt, manifest.output_scale)
    if abs(proven_output - model_output) > manifest.quantization_error:
        raise ProverError(
            f"proven output {proven_output} differs from inference {model_output} "
            f"by more than the circuit's quantisation error {manifest.quantization_error}"
        )
    expected = answer_from_felt(answer_felt, scale=manifest.output_scale, decimals=spec.decimals)
    return CheckedProof(proven_output=proven_output, expected_answer=str(expected), verify_seconds=verify_seconds)
