"""A proven round as a ready ZkOracle call: ``submitSlices`` for a model proven in pieces, of which ``submit`` is
the one-piece case (``submitSliceAnswers`` and ``submitAnswers`` when the round posts several answers of a feed
with ``[[answers]]``)."""

from __future__ import annotations

from pathlib import Path

from oracle.attestation.typed_data import inputs_hash
from oracle.evm.zkoracle import InputEvidence, ZkOracle
from oracle.provers.feed_proof import FeedProof
from oracle.store import Round, Store
from relayer.rounds import SubmitCall


class SubmitCallBuilder:
    """Reads a round's stored proof document (and the answers it posts, from ``store``) and builds its call to
    ``oracle``."""

    def __init__(self, oracle: ZkOracle, store: Store) -> None:
        self._oracle = oracle
        self._store = store

    def __call__(self, row: Round) -> SubmitCall:
        proof = FeedProof.from_document(Path(str(row.proof_path)).read_bytes())
        evidence = InputEvidence() if row.evidence_json is None else InputEvidence.from_json(row.evidence_json)
        proofs, instances = proof.calldata()
        # The model's inputs are the leading public instances of the first piece.
        hashed = inputs_hash(instances[0][: len(row.inputs)])
        answers = tuple(answer.answer_id for answer in self._store.round_answers(int(row.id)))  # type: ignore[arg-type]
        if answers:
            if len(proofs) > 1:
                call = self._oracle.submit_slice_answers(row.feed_id, proofs, instances, answers, evidence)
            else:
                call = self._oracle.submit_answers(row.feed_id, proofs[0], instances[0], answers, evidence)
            return SubmitCall(call, hashed, event_ids=answers)
        if len(proofs) > 1:
            return SubmitCall(self._oracle.submit_slices(row.feed_id, proofs, instances, evidence), hashed)
        return SubmitCall(self._oracle.submit(row.feed_id, proofs[0], instances[0], evidence), hashed)
