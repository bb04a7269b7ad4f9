"""Proving a feed's circuit: one proof per proven piece, every piece an independent job for any prover backend.

For a sliced model the chain is run first up to the last piece (cheap witness generation,
slice by slice) to learn each piece's input; the proofs are then requested all at once, so
a pool or a prover network proves them in parallel. A piece's input is handed over
dequantised at the shared boundary scale, which any prover requantises to exactly the
committed values. A whole model is the chain of one piece: nothing runs before its proof.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.slicing import run_chain
from oracle.exceptions import CircuitError, ProverError
from oracle.provers.base import Proof, Prover


@dataclass(frozen=True)
class FeedProof:
    """A round's proof: one EZKL proof per proven piece (None for a piece run unproven), in piece order."""

    proofs: tuple[Proof | None, ...]
    wall_seconds: float  # from the first piece's witness to the last proof, pieces in parallel

    @classmethod
    def of(cls, proof: Proof) -> FeedProof:
        """A whole model's round: its one proof."""
        return cls(proofs=(proof,), wall_seconds=proof.prove_seconds)

    @property
    def first(self) -> Proof:
        """The proof that carries the model inputs (and the observation time)."""
        return _present(self.proofs[0], 0)

    @property
    def last(self) -> Proof:
        """The proof whose instances carry the answers."""
        return _present(self.proofs[-1], len(self.proofs) - 1)

    @property
    def prove_seconds(self) -> float:
        """Proving time summed over the pieces (what the provers spent, not how long the round waited)."""
        return sum(proof.prove_seconds for proof in self.proofs if proof is not None)

    @property
    def prover(self) -> str:
        """Who proved each piece: one name, or the names joined in piece order."""
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
    def from_document(cls, document: bytes) -> FeedProof:
        return cls.from_json(json.loads(document))

    @classmethod
    def from_json(cls, data: dict) -> FeedProof:
        """A stored proof document; one EZKL proof alone (what rounds stored before pieces) is a chain of one."""
        if "slices" not in data:
            return cls.of(Proof(document=json.dumps(data).encode(), prover="unknown", prove_seconds=0.0))
        proofs = tuple(
            None
            if doc is None
            else Proof(document=json.dumps(doc).encode(), prover=prover or "unknown", prove_seconds=seconds or 0.0)
            for doc, prover, seconds in zip(data["slices"], data["provers"], data["prove_seconds"], strict=True)
        )
        return cls(proofs=proofs, wall_seconds=float(data["wall_seconds"]))

    @property
    def digest(self) -> str:
        """sha256 over each proven piece's sha256(proof bytes), in order (nothing for a piece run unproven)."""
        digest = hashlib.sha256()
        for proof in self.proofs:
            digest.update(b"" if proof is None else hashlib.sha256(proof.proof_bytes).digest())
        return "0x" + digest.hexdigest()

    def calldata(self) -> tuple[list[bytes], list[list[int]]]:
        """Per piece, its proof bytes and instances as ZkOracle takes them; empty for pieces run unproven."""
        proofs = [b"" if proof is None else proof.proof_bytes for proof in self.proofs]
        instances = [[] if proof is None else [felt_to_uint(f) for f in proof.instances] for proof in self.proofs]
        return proofs, instances


def prove_circuit(
    circuit: FeedCircuit, inputs: Sequence[float], *, prover: Prover, parallel: int | None = None
) -> FeedProof:
    """Prove every proven piece of ``circuit`` on ``inputs``, up to ``parallel`` at once (default: all)."""
    started = time.perf_counter()
    try:
        pieces_inputs = piece_inputs(circuit, inputs)
    except CircuitError as exc:  # this round's input cannot be carried through the slices: the round fails
        raise ProverError(f"sliced circuit {circuit.key}: {exc}") from exc
    jobs = [(piece.index, piece.circuit, pieces_inputs[piece.index]) for piece in circuit.pieces if piece.circuit]
    with ThreadPoolExecutor(max_workers=parallel or len(jobs), thread_name_prefix="zkoracle-piece") as pool:
        futures = {index: pool.submit(prover.prove, piece, piece_input) for index, piece, piece_input in jobs}
        proofs: list[Proof | None] = [None] * len(circuit.pieces)
        for index, future in futures.items():
            try:
                proofs[index] = future.result()
            except ProverError as exc:
                where = f"slice {index} of circuit {circuit.key}: " if len(circuit.pieces) > 1 else ""
                raise ProverError(f"{where}{exc}") from exc
    return FeedProof(proofs=tuple(proofs), wall_seconds=time.perf_counter() - started)


def piece_inputs(circuit: FeedCircuit, inputs: Sequence[float]) -> list[list[float]]:
    """Each piece's input: the model's for the first, the previous piece's output for every later one."""
    chain = run_chain(circuit.pieces[:-1], inputs)
    return [[float(x) for x in inputs], *(step.outputs for step in chain.steps)]


def _present(proof: Proof | None, index: int) -> Proof:
    if proof is None:
        raise ProverError(f"piece {index} has no proof: the first and last pieces are always proven")
    return proof
