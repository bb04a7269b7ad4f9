"""A proven round as a ready ZkOracle call: ``submit`` for one proof, ``submitSlices`` for a sliced model."""

from __future__ import annotations

import json
from pathlib import Path

from oracle.circuits.quantize import felt_to_uint
from oracle.evm.zkoracle import InputEvidence, ZkOracle
from oracle.provers.sliced import SlicedProof, is_sliced_document
from oracle.store import Round
from relayer.rounds import SubmitCall


class SubmitCallBuilder:
    """Reads a round's stored proof document and builds its call to ``oracle``."""

    def __init__(self, oracle: ZkOracle) -> None:
        self._oracle = oracle

    def __call__(self, row: Round) -> SubmitCall:
        document = json.loads(Path(str(row.proof_path)).read_text())
        evidence = InputEvidence() if row.evidence_json is None else InputEvidence.from_json(row.evidence_json)
        if is_sliced_document(document):
            sliced = SlicedProof.from_json(document)
            proofs, instances = sliced.calldata()
            # The event carries the first slice's instances: the model inputs and the link to slice 1.
            call = self._oracle.submit_slices(row.feed_id, proofs, instances, evidence)
            return SubmitCall(call, tuple(instances[0]))
        instances = tuple(felt_to_uint(felt) for group in document["instances"] for felt in group)
        proof = bytes.fromhex(document["hex_proof"].removeprefix("0x"))
        return SubmitCall(self._oracle.submit(row.feed_id, proof, instances, evidence), instances)
