"""Sliced proving and its off-chain checks: every slice verified, every link matched."""

from __future__ import annotations

import dataclasses

import pytest

from oracle.circuits.feed import FeedCircuit
from oracle.circuits.slicing import run_chain
from oracle.exceptions import ProverError
from oracle.feed_circuit import feed_answer
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel
from oracle.proof_checks import check_proof, check_slice_proof
from oracle.provers import LocalProver, Proof
from oracle.provers.feed_proof import FeedProof, prove_circuit
from tests.provers.rogue_server import flip_proof_byte


@pytest.fixture(scope="module")
def other_activations_proof(sliced_spec: FeedSpec, sliced_circuit: FeedCircuit) -> Proof:
    """A valid proof of slice 1, but on the activations of another model input."""
    other = sliced_spec.model_samples()[5]
    piece = sliced_circuit.pieces[1]
    assert piece.circuit is not None
    return LocalProver().prove(piece.circuit, run_chain(sliced_circuit.pieces, other).steps[1].inputs)


def _model_output(spec: FeedSpec, circuit: FeedCircuit, inputs: list[float]) -> float:
    """The prepared model's answer (it takes the observation time the original lacks)."""
    return OnnxModel(circuit.model).run(inputs)[feed_answer(spec, circuit)]


def test_a_sliced_proof_passes_every_check(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_proof: FeedProof
) -> None:
    inputs = sliced_spec.model_samples()[0]
    checked = check_proof(
        sliced_spec,
        sliced_circuit,
        sliced_proof,
        inputs,
        model_output=_model_output(sliced_spec, sliced_circuit, inputs),
    )
    assert (
        abs(checked.proven_output - _model_output(sliced_spec, sliced_circuit, inputs))
        <= sliced_circuit.quantization_error
    )
    proofs, instances = sliced_proof.calldata()
    assert [len(p) > 0 for p in proofs] == [True, True, True]
    assert instances[1] == []  # the middle slice's boundaries are committed in its proof, not instances
    # Each link: the output commitment in one proof is the input commitment in the next, byte for byte,
    # and both are the commitments EZKL computed from the witnesses.
    chain = run_chain(sliced_circuit.pieces, inputs)
    assert proofs[0][:64] == proofs[1][:64] == chain.steps[0].output_commitment == chain.steps[1].input_commitment
    assert proofs[1][64:128] == proofs[2][:64] == chain.steps[1].output_commitment
    assert FeedProof.from_document(sliced_proof.document).digest == sliced_proof.digest


def test_a_slice_proven_on_other_activations_breaks_the_link(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_proof: FeedProof, other_activations_proof: Proof
) -> None:
    inputs = sliced_spec.model_samples()[0]
    tampered = dataclasses.replace(
        sliced_proof, proofs=(sliced_proof.proofs[0], other_activations_proof, sliced_proof.proofs[2])
    )
    with pytest.raises(ProverError, match="slice 1's input commitment differs from slice 0's output commitment"):
        check_proof(
            sliced_spec,
            sliced_circuit,
            tampered,
            inputs,
            model_output=_model_output(sliced_spec, sliced_circuit, inputs),
        )


@pytest.mark.parametrize(("slice_index", "position"), [(0, 0), (0, 31), (0, 40), (0, 63), (1, 64), (1, 127)])
def test_a_link_commitment_changed_on_both_sides_fails_verification(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_proof: FeedProof, slice_index: int, position: int
) -> None:
    """The attack the link cannot see: both proofs carry the same altered point; their verifiers refuse it."""
    inputs = sliced_spec.model_samples()[0]
    proofs = list(sliced_proof.proofs)
    before, after = proofs[slice_index], proofs[slice_index + 1]
    assert before is not None and after is not None
    proofs[slice_index] = dataclasses.replace(before, document=flip_proof_byte(before.document, position=position))
    proofs[slice_index + 1] = dataclasses.replace(after, document=flip_proof_byte(after.document, position=position % 64))
    with pytest.raises(ProverError, match=f"slice {slice_index}: proof does not verify"):
        check_proof(
            sliced_spec,
            sliced_circuit,
            dataclasses.replace(sliced_proof, proofs=tuple(proofs)),
            inputs,
            model_output=_model_output(sliced_spec, sliced_circuit, inputs),
        )


def test_a_prover_network_refuses_a_slice_proof_about_other_activations(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_proof: FeedProof, other_activations_proof: Proof
) -> None:
    piece = sliced_circuit.pieces[1]
    assert piece.circuit is not None
    ours = run_chain(sliced_circuit.pieces, sliced_spec.model_samples()[0]).steps[1].inputs
    honest = sliced_proof.proofs[1]
    assert honest is not None
    check_slice_proof(piece.circuit, honest, ours)
    with pytest.raises(ProverError, match="commits to other inputs"):
        check_slice_proof(piece.circuit, other_activations_proof, ours)


def test_missing_extra_and_corrupt_slice_proofs_are_refused(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_proof: FeedProof
) -> None:
    inputs = sliced_spec.model_samples()[0]
    output = _model_output(sliced_spec, sliced_circuit, inputs)
    first, middle, last = sliced_proof.proofs
    assert first is not None and last is not None
    with pytest.raises(ProverError, match="slice 1 has no proof"):
        check_proof(
            sliced_spec,
            sliced_circuit,
            dataclasses.replace(sliced_proof, proofs=(first, None, last)),
            inputs,
            model_output=output,
        )
    with pytest.raises(ProverError, match="2 proofs for a circuit of 3 pieces"):
        check_proof(
            sliced_spec,
            sliced_circuit,
            dataclasses.replace(sliced_proof, proofs=(first, last)),
            inputs,
            model_output=output,
        )
    broken = dataclasses.replace(last, document=flip_proof_byte(last.document))
    with pytest.raises(ProverError, match="slice 2: proof does not verify"):
        check_proof(
            sliced_spec,
            sliced_circuit,
            dataclasses.replace(sliced_proof, proofs=(first, middle, broken)),
            inputs,
            model_output=output,
        )


def test_an_input_the_slices_cannot_carry_fails_the_round_as_a_prover_error(sliced_circuit: FeedCircuit) -> None:
    # Far outside the calibrated range (the pipeline refuses it earlier): the first witness cannot be built.
    with pytest.raises(ProverError, match=r"sliced circuit \w+: witness generation failed for slice circuit"):
        prove_circuit(sliced_circuit, [1e12] * 8, prover=LocalProver())
