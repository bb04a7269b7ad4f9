"""One round, up to a locally verified proof stored on disk and in the database.

fetch inputs -> inference -> prove -> verify locally -> check the proven values
against our own inference -> persist. Sending is the relayer's job; a round leaves
here either PROVEN (ready to relay) or FAILED with the reason.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from oracle.attestation.panel import AttesterPanel
from oracle.circuits.quantize import felt_to_uint
from oracle.evm.zkoracle import InputEvidence
from oracle.exceptions import AttestationError, ProverError, SourceError
from oracle.feed_circuit import FeedCircuit, feed_answer, feed_answers
from oracle.feeds.inputs import CalibratedRange
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel
from oracle.proof_checks import check_answers, check_proof
from oracle.provers.base import Prover
from oracle.provers.feed_proof import FeedProof, prove_circuit
from oracle.sources.base import InputSource
from oracle.store import FailureKind, Round, RoundAnswer, RoundStatus, Store
from oracle.store.crashpoints import crash_point


class RoundPipeline:
    def __init__(
        self,
        spec: FeedSpec,
        circuit: FeedCircuit,
        *,
        source: InputSource,
        prover: Prover,
        store: Store,
        deployment_id: int,
        proofs_dir: Path,
        attesters: AttesterPanel | None = None,
    ) -> None:
        """``attesters``: an attested feed's data attesters, asked to sign each proven round's inputs."""
        self.spec = spec
        self.circuit = circuit
        self._source = source
        self._prover = prover
        self._store = store
        self._deployment_id = deployment_id
        self._proofs_dir = proofs_dir
        self._attesters = attesters
        self._model = OnnxModel(circuit.model)
        self._answer = feed_answer(spec, circuit)
        self.answers = feed_answers(spec, circuit)
        self._source_inputs = spec.source_input_size(circuit.input_size)
        # The samples' range was recorded when the circuit was built: the source's values come first.
        self._calibrated = CalibratedRange.widened(
            circuit.sample_lows[: self._source_inputs],
            circuit.sample_highs[: self._source_inputs],
            margin=spec.input.range_margin,
        )

    def run(self, *, now: float | None = None) -> Round:
        """Observe and prove one round."""
        row = self.observe(now=now)
        return row if row.status is RoundStatus.FAILED else self.prove(row)

    def observe(self, *, now: float | None = None) -> Round:
        """Fetch the inputs and run inference: cheap, so every tick does it.

        The returned round is not stored yet (a tick that posts nothing leaves no row),
        except when the source fails: that round is recorded FAILED with the reason.
        """
        row = Round(
            feed_id=self.spec.id,
            deployment_id=self._deployment_id,
            circuit_key=self.circuit.key,
            inputs_json="[]",
        )
        started = time.perf_counter()
        observed_at = time.time() if now is None else now
        try:
            inputs = self.spec.model_input(self._fetch(observed_at), observed_at=int(observed_at))
        except SourceError as exc:
            return self._fail(row, FailureKind.SOURCE, exc)
        row.observed_at = int(observed_at)
        row.inputs_json = json.dumps(inputs)
        if rounds := self._source.source_rounds():
            # The oracle reads these very rounds in submit: recorded with the inputs they gave.
            row.evidence_json = InputEvidence(source_rounds=rounds).to_json()
        row.fetch_seconds = time.perf_counter() - started
        started = time.perf_counter()
        outputs = self._model.run(inputs)
        row.model_output = outputs[self._answer]
        if self.answers:
            row.answers_json = json.dumps({answer.id: outputs[answer.position] for answer in self.answers})
        row.infer_seconds = time.perf_counter() - started
        crash_point("after_inference")
        return row

    def prove(self, row: Round, *, answers: Sequence[str] = ()) -> Round:
        """Prove an observed round, verify the proof locally and persist it (PROVEN or FAILED).

        ``answers``: for a feed with ``[[answers]]``, the ids of those the round posts (unset: all of
        them), recorded with the round before it is proven; the round's own answer columns are its first's.
        """
        self._store.add(row)  # recorded before the expensive part
        posted = self._posted(row, answers)
        inputs = row.inputs
        try:
            crash_point("during_proving")  # the state a crash while proving leaves: round stored, no proof
            proof = prove_circuit(self.circuit, inputs, prover=self._prover)
            checked = check_proof(self.spec, self.circuit, proof, inputs, model_output=row.model_output)  # type: ignore[arg-type]
            row.prove_seconds, row.prover = proof.prove_seconds, proof.prover
            row.verify_seconds = checked.verify_seconds
            row.proven_output, row.expected_answer = checked.proven_output, checked.expected_answer
            if posted:
                ids = {answer.answer_id for answer in posted}
                wanted = [answer for answer in self.answers if answer.id in ids]
                each = check_answers(self.circuit, proof, wanted, row.answer_values)
                for answer in posted:
                    answer.proven_output = each[answer.answer_id].proven_output
                    answer.expected_answer = each[answer.answer_id].expected_answer
                self._store.save_round_answers(posted)
                headline = posted[0]
                row.model_output, row.proven_output = headline.model_output, headline.proven_output
                row.expected_answer = headline.expected_answer
        except ProverError as exc:
            return self._fail(row, FailureKind.PROVER, exc)
        if self._attesters is not None:
            try:
                self._attest(row, proof)
            except AttestationError as exc:
                return self._fail(row, FailureKind.ATTESTATION, exc)
        path = self._proofs_dir / self.spec.id / f"{proof.digest.removeprefix('0x')}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(proof.document)
        row.proof_path, row.proof_digest = str(path), proof.digest
        row.status = RoundStatus.PROVEN
        self._store.add(row)
        crash_point("after_proof_stored")
        return row

    def _posted(self, row: Round, answers: Sequence[str]) -> list[RoundAnswer]:
        """The round's answers to post, written down with it (none for a feed of one answer)."""
        if not self.answers:
            return []
        outputs = row.answer_values
        chosen = set(answers) if answers else {answer.id for answer in self.answers}
        unknown = chosen - set(outputs)
        if unknown:
            raise ValueError(f"feed '{self.spec.id}' has no answers {sorted(unknown)}")
        posted = [
            RoundAnswer(round_id=int(row.id), answer_id=answer.id, model_output=outputs[answer.id])  # type: ignore[arg-type]
            for answer in self.answers
            if answer.id in chosen
        ]
        self._store.save_round_answers(posted)
        return posted

    def _attest(self, row: Round, proof: FeedProof) -> None:
        """The attesters' signatures of the proof's input instances, kept with the round's evidence."""
        assert self._attesters is not None and row.observed_at is not None
        input_count = self.circuit.first.manifest.input_instances
        instances = [felt_to_uint(felt) for felt in proof.first.instances[:input_count]]
        attestations = self._attesters.attest(
            observed_at=row.observed_at, input_instances=instances, source_values=row.inputs[: self._source_inputs]
        )
        evidence = InputEvidence() if row.evidence_json is None else InputEvidence.from_json(row.evidence_json)
        row.evidence_json = replace(evidence, attestations=attestations).to_json()

    def _fail(self, row: Round, kind: FailureKind, exc: SourceError | ProverError | AttestationError) -> Round:
        row.status = RoundStatus.FAILED
        row.failure_kind, row.failure_reason = kind, str(exc)
        self._store.add(row)
        return row

    def _fetch(self, now: float) -> list[float]:
        values = self.spec.input.apply([float(x) for x in self._source.fetch(now=now)])
        if len(values) != self._source_inputs:
            raise SourceError(
                f"feed '{self.spec.id}': source returned {len(values)} values, the model takes {self._source_inputs}"
            )
        if not all(math.isfinite(x) for x in values):
            raise SourceError(f"feed '{self.spec.id}': source returned a non-finite value in {values}")
        self._calibrated.check(values, feed=self.spec.id)
        return values
