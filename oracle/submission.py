"""A proven round as a ready ZkOracle call: ``submit`` for one proof, ``submitAnswers`` for the answers of a feed
with ``[[answers]]`` that the round posts, ``submitSlices`` for a sliced model."""

from __future__ import annotations

import json
from pathlib import Path

from oracle.attestation.typed_data import inputs_hash
from oracle.circuits.quantize import felt_to_uint
from oracle.evm.zkoracle import InputEvidence, ZkOracle
from oracle.provers.sliced import SlicedProof, is_sliced_document
from oracle.store import Round, Store
from relayer.rounds import SubmitCall


class SubmitCallBuilder:
    """Reads a round's stored proof document (and the answers it posts, from ``store``) and builds its call to
    ``oracle``."""

    def __init__(self, oracle: ZkOracle, store: Store) -> None:
        self._oracle = oracle
        self._store = store

    def __call__(self, row: Round) -> SubmitCall:
        document = json.loads(Path(str(row.proof_path)).read_text())
        evidence = InputEvidence() if row.evidence_json is None else InputEvidence.from_json(row.evidence_json)
        # The model's inputs are the leading public instances (of the first slice when sliced).
        input_count = len(row.inputs)
        if is_sliced_document(document):
            sliced = SlicedProof.from_json(document)
            proofs, instances = sliced.calldata()
            call = self._oracle.submit_slices(row.feed_id, proofs, instances, evidence)
            return SubmitCall(call, inputs_hash(instances[0][:input_count]))
        flat = [felt_to_uint(felt) for group in document["instances"] for felt in group]
        proof = bytes.fromhex(document["hex_proof"].removeprefix("0x"))
        answers = tuple(answer.answer_id for answer in self._store.round_answers(int(row.id)))  # type: ignore[arg-type]
        if answers:
            call = self._oracle.submit_answers(row.feed_id, proof, flat, answers, evidence)
            return SubmitCall(call, inputs_hash(flat[:input_count]), event_ids=answers)
        return SubmitCall(self._oracle.submit(row.feed_id, proof, flat, evidence), inputs_hash(flat[:input_count]))
