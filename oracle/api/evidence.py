"""Turning stored rounds into API answers, and the files a verifier needs addressed by content hash."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path

from oracle.api.schemas import (
    ArtifactRef,
    Artifacts,
    CircuitOut,
    DeploymentOut,
    ProofOut,
    RegistrationOut,
    RoundEvidence,
    RoundOut,
    SrsRef,
)
from oracle.circuits.artifacts import MANIFEST, CircuitArtifacts
from oracle.circuits.quantize import felt_to_uint
from oracle.exceptions import ApiError
from oracle.store import Deployment, Round, RoundStatus

ARTIFACTS_PATH = "/api/artifacts"


class ArtifactIndex:
    """Built circuits by key, the SHA-256 of the files a verifier needs, and the way back from a hash."""

    def __init__(self, build_root: Path) -> None:
        self.build_root = build_root
        self._circuits: dict[str, CircuitArtifacts] = {}
        self._digests: dict[tuple[str, int, int], str] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()

    def circuit(self, key: str) -> CircuitArtifacts:
        with self._lock:
            if key in self._circuits:
                return self._circuits[key]
        root = self.build_root / key
        if not (root / MANIFEST).is_file():
            raise ApiError(
                f"circuit {key} is not in the build folder {self.build_root}; "
                "run the API with the node's build folder (ZKORACLE_BUILD_DIR)"
            )
        circuit = CircuitArtifacts.load(root)  # a build folder never changes once complete
        with self._lock:
            self._circuits[key] = circuit
        return circuit

    def artifacts(self, circuit: CircuitArtifacts) -> Artifacts:
        srs = self._ref(circuit.srs)
        return Artifacts(
            model=self._ref(circuit.model),
            settings=self._ref(circuit.settings),
            vk=self._ref(circuit.vk),
            srs=SrsRef(**srs.model_dump(), logrows=circuit.manifest.logrows, dev=circuit.manifest.dev_srs),
        )

    def path_for(self, sha256: str, *, circuit_keys: Iterable[str]) -> Path | None:
        """The file with this hash among the given circuits' verifier files."""
        with self._lock:
            if sha256 in self._paths:
                return self._paths[sha256]
        for key in circuit_keys:
            try:
                self.artifacts(self.circuit(key))
            except ApiError:
                continue  # a deployment whose build is not here serves nothing
            with self._lock:
                if sha256 in self._paths:
                    return self._paths[sha256]
        return None

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


def round_out(row: Round, registration: RegistrationOut | None) -> RoundOut:
    return RoundOut(**_round_fields(row, registration))


def _round_fields(row: Round, registration: RegistrationOut | None) -> dict:
    answer = row.onchain_answer if row.status is RoundStatus.LANDED else row.expected_answer
    if answer is not None and registration is not None:
        value: float | None = int(answer) / 10**registration.decimals
    else:
        value = row.proven_output
    return {
        "id": row.id,
        "feed_id": row.feed_id,
        "deployment_id": row.deployment_id,
        "status": str(row.status),
        "created_at": row.created_at,
        "landed_at": row.landed_at,
        "observed_at": row.observed_at,
        "inputs": row.inputs,
        "model_output": row.model_output,
        "proven_output": row.proven_output,
        "answer": answer,
        "value": value,
        "onchain_round_id": row.onchain_round_id,
        "tx_hash": row.tx_hash,
        "gas_used": row.gas_used,
        "fetch_seconds": row.fetch_seconds,
        "infer_seconds": row.infer_seconds,
        "prove_seconds": row.prove_seconds,
        "verify_seconds": row.verify_seconds,
        "proof_digest": row.proof_digest,
        "failure_reason": row.failure_reason,
        "url": f"/api/rounds/{row.id}",
    }


def round_evidence(
    row: Round,
    *,
    deployment: Deployment,
    circuit: CircuitArtifacts,
    registration: RegistrationOut | None,
    index: ArtifactIndex,
) -> RoundEvidence:
    manifest = circuit.manifest
    return RoundEvidence(
        **_round_fields(row, registration),
        proof=_proof(row),
        circuit=CircuitOut(
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
        ),
        artifacts=index.artifacts(circuit),
        deployment=deployment_out(deployment),
        registration=registration,
    )


def deployment_out(deployment: Deployment) -> DeploymentOut:
    return DeploymentOut.model_validate(deployment, from_attributes=True)


def _proof(row: Round) -> ProofOut | None:
    if row.proof_path is None:
        return None
    try:
        document = json.loads(Path(row.proof_path).read_text())
    except (OSError, ValueError) as exc:
        raise ApiError(f"round {row.id}: its proof file {row.proof_path} cannot be read ({exc})") from exc
    return ProofOut(
        digest=str(row.proof_digest),
        hex_proof=document["hex_proof"],
        instances=[str(felt_to_uint(felt)) for group in document["instances"] for felt in group],
        document=document,
    )
