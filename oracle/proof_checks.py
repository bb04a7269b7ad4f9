"""What makes a proof acceptable for a round, whoever produced it: never trust a prover.

The pipeline applies these checks to every proof before storing it, and the prover
network applies the same ones to pick the winner of a race.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import answer_from_felt, felt_to_float
from oracle.circuits.slicing.chain import witness_step
from oracle.circuits.slicing.links import commitment_layout, linked
from oracle.circuits.verify import verify_document
from oracle.exceptions import ProverError
from oracle.feed_circuit import feed_answer
from oracle.feeds.answer import Answer
from oracle.feeds.schema import FeedSpec
from oracle.provers.base import Proof
from oracle.provers.feed_proof import FeedProof


@dataclass(frozen=True)
class CheckedProof:
    proven_output: float
    expected_answer: str  # the exact integer the contract will derive, as text (may exceed int64)
    verify_seconds: float


def check_proof(
    spec: FeedSpec, circuit: FeedCircuit, proof: FeedProof, inputs: Sequence[float], *, model_output: float
) -> CheckedProof:
    """Raise :class:`ProverError` unless every piece's proof verifies, consecutive proven pieces are linked, the
    first is about ``inputs`` and the answer agrees with our inference.

    A valid proof of one slice on other activations verifies on its own; only the link
    (the commitment to its input, read from its proof's bytes, against the one to the
    previous slice's output, read from that proof's) exposes it.
    """
    if len(proof.proofs) != len(circuit.pieces):
        raise ProverError(f"{len(proof.proofs)} proofs for a circuit of {len(circuit.pieces)} pieces")
    started = time.perf_counter()
    for piece, piece_proof in zip(circuit.pieces, proof.proofs, strict=True):
        _check_piece(piece.index, piece.circuit, piece_proof, sliced=len(circuit.pieces) > 1)
    verify_seconds = time.perf_counter() - started
    _check_links(circuit, proof)
    _check_inputs(circuit.first, proof.first.instances, inputs)
    answer = feed_answer(spec, circuit)
    proven_output, expected = _check_answer(
        spec.decimals,
        proof.last.instances[circuit.answer_index(answer)],
        circuit.answer_scale(answer),
        model_output,
        bound=circuit.quantization_error,
    )
    return CheckedProof(proven_output=proven_output, expected_answer=str(expected), verify_seconds=verify_seconds)


@dataclass(frozen=True)
class CheckedAnswer:
    proven_output: float
    expected_answer: str  # the exact integer the contract will derive for the answer, as text


def check_answers(
    circuit: FeedCircuit, proof: FeedProof, answers: Sequence[Answer], model_outputs: Mapping[str, float]
) -> dict[str, CheckedAnswer]:
    """Each of ``answers`` (already verified by :func:`check_proof`) agrees with our inference, by answer id."""
    instances = proof.last.instances
    checked = {}
    for answer in answers:
        try:
            proven, expected = _check_answer(
                answer.decimals,
                instances[circuit.answer_index(answer.position)],
                circuit.answer_scale(answer.position),
                model_outputs[answer.id],
                bound=circuit.quantization_error,
            )
        except ProverError as exc:
            raise ProverError(f"answer '{answer.id}': {exc}") from exc
        checked[answer.id] = CheckedAnswer(proven_output=proven, expected_answer=str(expected))
    return checked


def _check_piece(index: int, circuit: CircuitArtifacts | None, proof: Proof | None, *, sliced: bool) -> None:
    """One piece's proof verifies and carries its circuit's instances; a piece run unproven has none."""
    where = f"slice {index}: " if sliced else ""
    if circuit is None:
        if proof is not None:
            raise ProverError(f"slice {index} is not proven by this feed, yet a proof came for it")
        return
    if proof is None:
        raise ProverError(f"slice {index} has no proof")
    try:
        verify_document(circuit, proof.document)
    except ProverError as exc:
        raise ProverError(f"{where}{exc}") from exc
    felts = proof.instances
    if len(felts) != circuit.manifest.instance_count:
        raise ProverError(
            f"{where}proof carries {len(felts)} instances, its circuit has {circuit.manifest.instance_count}"
        )


def check_slice_proof(circuit: CircuitArtifacts, proof: Proof, inputs: Sequence[float]) -> None:
    """One slice's proof, alone: it verifies and commits to exactly the activations we computed.

    What a prover network must check before a slice proof may win a race; the whole
    chain is checked again by :func:`check_proof` once every slice is in.
    """
    verify_document(circuit, proof.document)
    manifest = circuit.manifest
    felts = proof.instances
    if len(felts) != manifest.instance_count:
        raise ProverError(f"proof carries {len(felts)} instances, slice circuit has {manifest.instance_count}")
    with tempfile.TemporaryDirectory(prefix="zkoracle-slice-check-") as tmp:
        expected = witness_step(circuit, inputs, workdir=Path(tmp))
    layout = commitment_layout(manifest)
    if layout.input_committed and layout.input_point(proof.proof_bytes) != expected.input_commitment:
        raise ProverError(f"slice proof commits to other inputs than this round's (circuit {manifest.key})")
    if layout.output_committed and layout.output_point(proof.proof_bytes) != expected.output_commitment:
        raise ProverError(f"slice proof commits to other outputs than this round's (circuit {manifest.key})")
    _check_inputs(circuit, felts, inputs)


def is_slice_circuit(circuit: CircuitArtifacts) -> bool:
    """Whether ``circuit`` is one slice of a sliced model (a boundary is committed, not public)."""
    return "polycommit" in (circuit.manifest.input_visibility, circuit.manifest.output_visibility)


def _check_links(circuit: FeedCircuit, proof: FeedProof) -> None:
    """Consecutive proven slices carry one commitment to the tensor between them, byte for byte."""
    for index in range(1, len(circuit.pieces)):
        before, after = circuit.pieces[index - 1].circuit, circuit.pieces[index].circuit
        before_proof, after_proof = proof.proofs[index - 1], proof.proofs[index]
        if before is None or after is None or before_proof is None or after_proof is None:
            continue  # across a slice run unproven nothing links (targeted verification)
        output = commitment_layout(before.manifest).output_point(before_proof.proof_bytes)
        input_ = commitment_layout(after.manifest).input_point(after_proof.proof_bytes)
        if not linked(output, input_):
            raise ProverError(
                f"slice {index}'s input commitment differs from slice {index - 1}'s output commitment: "
                "its proof is about other activations"
            )


def _check_inputs(circuit: CircuitArtifacts, instances: Sequence[str], inputs: Sequence[float]) -> None:
    manifest = circuit.manifest
    if manifest.input_visibility != "public":
        return
    input_step = 2.0 ** -min(manifest.input_scales)
    for position, (felt, value) in enumerate(zip(instances[: manifest.input_instances], inputs, strict=True)):
        proven = felt_to_float(felt, manifest.input_scales[0])
        if abs(proven - value) > input_step:
            raise ProverError(f"proof input {position} is {proven}, the round's input is {value}")


def _check_answer(
    decimals: int, answer_felt: str, scale: int, model_output: float, *, bound: float
) -> tuple[float, int]:
    proven_output = felt_to_float(answer_felt, scale)
    if abs(proven_output - model_output) > bound:
        raise ProverError(
            f"proven output {proven_output} differs from inference {model_output} "
            f"by more than the circuit's quantisation error {bound}"
        )
    return proven_output, answer_from_felt(answer_felt, scale=scale, decimals=decimals)
