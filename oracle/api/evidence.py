"""Turning stored rounds into API answers, and the files a verifier needs addressed by content hash."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from oracle.api.schemas import (
    AnswerRoundOut,
    ArtifactRef,
    CircuitOut,
    Coverage,
    DeploymentOut,
    FeedCircuitOut,
    FeedProofOut,
    IntakeOut,
    PieceArtifacts,
    PieceOut,
    ProofOut,
    RegistrationOut,
    RoundEvidence,
    RoundOut,
    SrsRef,
)
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.slicing import SliceCircuit
from oracle.exceptions import ApiError, CircuitError
from oracle.provers.feed_proof import FeedProof
from oracle.store import Deployment, DeploymentAnswer, Round, RoundAnswer, RoundStatus

ARTIFACTS_PATH = "/api/artifacts"


class ArtifactIndex:
    """Built circuits by key, the SHA-256 of the files a verifier needs, and the way back from a hash."""

    def __init__(self, build_root: Path) -> None:
        self.build_root = build_root
        self._circuits: dict[str, FeedCircuit] = {}
        self._digests: dict[tuple[str, int, int], str] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()

    def circuit(self, key: str) -> FeedCircuit:
        """The whole-model circuit or the sliced circuit a deployment or round names by ``key``."""
        with self._lock:
            if key in self._circuits:
                return self._circuits[key]
        circuit = self._load(key)  # a build folder never changes once complete
        with self._lock:
            self._circuits[key] = circuit
        return circuit

    def _load(self, key: str) -> FeedCircuit:
        try:
            return FeedCircuit.load(self.build_root, key)
        except CircuitError as exc:
            raise ApiError(f"{exc}; run the API with the node's build folder (ZKORACLE_BUILD_DIR)") from exc

    def piece_artifacts(self, piece: SliceCircuit) -> PieceArtifacts:
        circuit = piece.circuit
        if circuit is None:
            return PieceArtifacts(model=self._ref(piece.model), settings=None, vk=None, srs=None)
        srs = self._ref(circuit.srs)
        return PieceArtifacts(
            model=self._ref(circuit.model),
            settings=self._ref(circuit.settings),
            vk=self._ref(circuit.vk),
            srs=SrsRef(**srs.model_dump(), logrows=circuit.manifest.logrows, dev=circuit.manifest.dev_srs),
        )

    def whole_model(self, circuit: FeedCircuit) -> ArtifactRef:
        return self._ref(circuit.model)

    def path_for(self, sha256: str, *, circuit_keys: Iterable[str]) -> Path | None:
        """The file with this hash among the given circuits' verifier files."""
        with self._lock:
            if sha256 in self._paths:
                return self._paths[sha256]
        for key in circuit_keys:
            try:
                self._index(self.circuit(key))
            except ApiError:
                continue  # a deployment whose build is not here serves nothing
            with self._lock:
                if sha256 in self._paths:
                    return self._paths[sha256]
        return None

    def _index(self, circuit: FeedCircuit) -> None:
        """Hash every file a verifier of ``circuit``'s rounds fetches, so each can be found by its hash."""
        self.whole_model(circuit)
        for piece in circuit.pieces:
            self.piece_artifacts(piece)

    def _ref(self, path: Path) -> ArtifactRef:
        stat = path.stat()
        identity = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            digest = self._digests.get(identity)
        if digest is None:
            digest = _sha256_file(path)
            with self._lock:
                self._digests[identity] = digest
                self._paths[digest] = path
        return ArtifactRef(sha256=digest, size=stat.st_size, url=f"{ARTIFACTS_PATH}/{digest}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def round_out(
    row: Round,
    registration: RegistrationOut | None,
    *,
    deployment: Deployment,
    answers: list[AnswerRoundOut] | None = None,
    answer_id: str | None = None,
) -> RoundOut:
    """``row`` as the API shows it; ``deployment`` is the one it names, which says its chain; ``answers``: those
    it posts (a feed with ``[[answers]]``); ``answer_id``: list it as a round of that answer."""
    return RoundOut(**_round_fields(row, registration, deployment, answers or [], answer_id))


def answer_round_out(
    posted: RoundAnswer, registered: DeploymentAnswer | None, *, status: RoundStatus
) -> AnswerRoundOut:
    """One answer a round posts, with what its deployment registered for it (offset, decimals, proxy)."""
    answer = posted.onchain_answer if status is RoundStatus.LANDED else posted.expected_answer
    decimals = registered.decimals if registered is not None else None
    return AnswerRoundOut(
        answer_id=posted.answer_id,
        output_offset=registered.output_offset if registered is not None else None,
        decimals=decimals,
        proxy_address=registered.proxy_address if registered is not None else None,
        model_output=posted.model_output,
        proven_output=posted.proven_output,
        answer=answer,
        value=int(answer) / 10**decimals if answer is not None and decimals is not None else posted.proven_output,
        onchain_round_id=posted.onchain_round_id,
        rounds_url=f"/api/feeds/{posted.answer_id}/rounds",
    )


def _round_fields(
    row: Round,
    registration: RegistrationOut | None,
    deployment: Deployment,
    answers: list[AnswerRoundOut],
    answer_id: str | None,
) -> dict:
    answer = row.onchain_answer if row.status is RoundStatus.LANDED else row.expected_answer
    if answer is not None and registration is not None:
        value: float | None = int(answer) / 10**registration.decimals
    else:
        value = row.proven_output
    own = {
        "model_output": row.model_output,
        "proven_output": row.proven_output,
        "answer": answer,
        "value": value,
        "onchain_round_id": row.onchain_round_id,
    }
    if answers:  # the round's own columns are its first answer's, at that answer's decimals
        listed = next((a for a in answers if a.answer_id == answer_id), answers[0])
        own = {field: getattr(listed, field) for field in own}
    return {
        **own,
        "id": row.id,
        "feed_id": row.feed_id,
        "answer_id": answer_id,
        "deployment_id": row.deployment_id,
        "chain_id": deployment.chain_id,
        "oracle_address": deployment.oracle_address,
        "proof_round_id": row.proof_round_id,
        "status": str(row.status),
        "created_at": row.created_at,
        "landed_at": row.landed_at,
        "observed_at": row.observed_at,
        "inputs": row.inputs,
        "tx_hash": row.tx_hash,
        "gas_used": row.gas_used,
        "fetch_seconds": row.fetch_seconds,
        "infer_seconds": row.infer_seconds,
        "prove_seconds": row.prove_seconds,
        "verify_seconds": row.verify_seconds,
        "proof_digest": row.proof_digest,
        "failure_kind": str(row.failure_kind) if row.failure_kind else None,
        "failure_reason": row.failure_reason,
        "failure_error": row.failure_error,
        "answers": answers,
        "url": f"/api/rounds/{row.id}",
    }


def round_evidence(
    row: Round,
    *,
    deployment: Deployment,
    circuit: FeedCircuit,
    registration: RegistrationOut | None,
    index: ArtifactIndex,
    answers: list[AnswerRoundOut] | None = None,
    answer_id: str | None = None,
) -> RoundEvidence:
    document = _proof_document(row)
    return RoundEvidence(
        **_round_fields(row, registration, deployment, answers or [], answer_id),
        deployment=deployment_out(deployment),
        registration=registration,
        proof=None if document is None else _feed_proof(row, document, circuit),
        circuit=_feed_circuit_out(circuit, index),
        pieces=[_piece_out(circuit, piece, index) for piece in circuit.pieces],
    )


def circuit_out(circuit: CircuitArtifacts) -> CircuitOut:
    manifest = circuit.manifest
    return CircuitOut(
        key=manifest.key,
        ezkl_version=manifest.ezkl_version,
        logrows=manifest.logrows,
        input_visibility=manifest.input_visibility,
        output_visibility=manifest.output_visibility,
        input_scales=manifest.input_scales,
        output_scales=manifest.output_scales,
        input_instances=manifest.input_instances,
        instance_count=manifest.instance_count,
        quantization_error=manifest.quantization_error,
        model_commitment=manifest.model_commitment,
        intake=None if manifest.intake is None else IntakeOut.model_validate(asdict(manifest.intake)),
        verifier_kind=manifest.verifier_kind,
        vka_words=manifest.vka_words,
    )


def coverage(circuit: FeedCircuit) -> Coverage:
    proven, total = circuit.coverage
    return Coverage(proven=proven, total=total)


def _feed_circuit_out(circuit: FeedCircuit, index: ArtifactIndex) -> FeedCircuitOut:
    return FeedCircuitOut(
        key=circuit.key,
        ezkl_version=circuit.ezkl_version,
        scale=circuit.input_scale,
        coverage=coverage(circuit),
        quantization_error=circuit.quantization_error,
        model_commitment=circuit.model_commitment,
        model=index.whole_model(circuit),
        intake=None if circuit.intake is None else IntakeOut.model_validate(asdict(circuit.intake)),
    )


def _piece_out(circuit: FeedCircuit, piece: SliceCircuit, index: ArtifactIndex) -> PieceOut:
    boundary = circuit.boundaries[piece.index] if circuit.boundaries else None
    return PieceOut(
        index=piece.index,
        proven=piece.proven,
        input_tensor=None if boundary is None else boundary.input_tensor,
        output_tensor=None if boundary is None else boundary.output_tensor,
        circuit=None if piece.circuit is None else circuit_out(piece.circuit),
        artifacts=index.piece_artifacts(piece),
    )


def deployment_out(deployment: Deployment) -> DeploymentOut:
    return DeploymentOut.model_validate(deployment, from_attributes=True)


def _proof_document(row: Round) -> dict | None:
    if row.proof_path is None:
        return None
    try:
        return json.loads(Path(row.proof_path).read_text())
    except (OSError, ValueError) as exc:
        raise ApiError(f"round {row.id}: its proof file {row.proof_path} cannot be read ({exc})") from exc


def _proof(digest: str, document: dict) -> ProofOut:
    return ProofOut(
        digest=digest,
        hex_proof=document["hex_proof"],
        instances=[str(felt_to_uint(felt)) for group in document["instances"] for felt in group],
        document=document,
    )


def _feed_proof(row: Round, document: dict, circuit: FeedCircuit) -> FeedProofOut:
    # Only the round's digest is stored; each piece's is derived here, as the verifier will derive it.
    proof = FeedProof.from_json(document)
    if len(proof.proofs) != len(circuit.pieces):
        raise ApiError(
            f"round {row.id}: its proof file {row.proof_path} holds {len(proof.proofs)} proofs, "
            f"its circuit {circuit.key} has {len(circuit.pieces)} pieces"
        )
    pieces: list[ProofOut | None] = []
    for number, piece in enumerate(proof.proofs):
        if piece is None:
            pieces.append(None)
            continue
        try:
            raw = piece.proof_bytes
        except ValueError as exc:
            raise ApiError(f"round {row.id}: proof {number} in {row.proof_path} is not hex ({exc})") from exc
        pieces.append(_proof("0x" + hashlib.sha256(raw).hexdigest(), piece.parsed))
    return FeedProofOut(digest=str(row.proof_digest), pieces=pieces)
