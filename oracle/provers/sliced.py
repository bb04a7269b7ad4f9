"""Proving a sliced circuit: every proven slice is an independent job for any prover backend.

The chain is run first (cheap witness generation, slice by slice) to learn each slice's
input; the slice proofs are then requested all at once, so a pool or a prover network
proves them in parallel. A slice's input is handed over dequantised at the shared
boundary scale, which any prover requantises to exactly the committed values.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.slicing import SlicedCircuit, run_chain
from oracle.exceptions import CircuitError, ProverError
from oracle.provers.base import Proof, Prover


@dataclass(frozen=True)
class SlicedProof:
    """One proof per proven slice (None for a slice that runs unproven), in slice order."""

    proofs: tuple[Proof | None, ...]
    wall_seconds: float  # from the first slice's witness to the last proof, slices in parallel

    @property
    def prove_seconds(self) -> float:
        """Proving time summed over the slices (what the provers spent, not how long the round waited)."""
        return sum(proof.prove_seconds for proof in self.proofs if proof is not None)

    @property
    def prover(self) -> str:
        """Who proved each slice: one name, or the names joined in slice order."""
        names = [proof.prover for proof in self.proofs if proof is not None]
        return names[0] if len(set(names)) == 1 else ",".join(names)

    @property
    def document(self) -> bytes:
        return json.dumps(
            {
                "slices": [None if p is None else json.loads(p.document) for p in self.proofs],
                "provers": [None if p is None else p.prover for p in self.proofs],
                "prove_seconds": [None if p is None else p.prove_seconds for p in self.proofs],
                "wall_seconds": self.wall_seconds,
            }
        ).encode()

    @classmethod
    def from_document(cls, document: bytes) -> SlicedProof:
        return cls.from_json(json.loads(document))

    @classmethod
    def from_json(cls, data: dict) -> SlicedProof:
        proofs = tuple(
            None
            if doc is None
            else Proof(document=json.dumps(doc).encode(), prover=prover or "unknown", prove_seconds=seconds or 0.0)
            for doc, prover, seconds in zip(data["slices"], data["provers"], data["prove_seconds"], strict=True)
        )
        return cls(proofs=proofs, wall_seconds=float(data["wall_seconds"]))

    @property
    def digest(self) -> str:
        """sha256 over the proven slices' proof bytes, in order."""
        digest = hashlib.sha256()
        for proof in self.proofs:
            digest.update(b"" if proof is None else hashlib.sha256(proof.proof_bytes).digest())
        return "0x" + digest.hexdigest()

    def calldata(self) -> tuple[list[bytes], list[list[int]]]:
        """``ZkOracle.submitSlices`` arguments: empty proof and instances for unproven slices."""
        proofs = [b"" if proof is None else proof.proof_bytes for proof in self.proofs]
        instances = [[] if proof is None else [felt_to_uint(f) for f in proof.instances] for proof in self.proofs]
        return proofs, instances


def is_sliced_document(document: dict) -> bool:
    """Whether a stored proof document is a sliced round's (else it is one EZKL proof)."""
    return "slices" in document


def prove_slices(
    circuit: SlicedCircuit, inputs: Sequence[float], *, prover: Prover, parallel: int | None = None
) -> SlicedProof:
    """Prove every proven slice of ``circuit`` on ``inputs``, up to ``parallel`` at once (default: all)."""
    started = time.perf_counter()
    try:
        chain = run_chain(circuit, inputs)
    except CircuitError as exc:  # this round's input cannot be carried through the slices: the round fails
        raise ProverError(f"sliced circuit {circuit.manifest.key}: {exc}") from exc
    jobs = [(piece, chain.steps[piece.index].inputs) for piece in circuit.slices if piece.circuit is not None]
    with ThreadPoolExecutor(max_workers=parallel or len(jobs), thread_name_prefix="zkoracle-slice") as pool:
        futures = {piece.index: pool.submit(prover.prove, piece.circuit, slice_inputs) for piece, slice_inputs in jobs}
        proofs: list[Proof | None] = [None] * len(circuit.slices)
        for index, future in futures.items():
            try:
                proofs[index] = future.result()
            except ProverError as exc:
                raise ProverError(f"slice {index} of circuit {circuit.manifest.key}: {exc}") from exc
    return SlicedProof(proofs=tuple(proofs), wall_seconds=time.perf_counter() - started)
