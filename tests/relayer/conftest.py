"""Helpers for the relayer tests: proven rounds of the demo feed, raw chain controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.feeds.schema import FeedSpec
from oracle.pipeline import RoundPipeline
from oracle.provers import LocalProver
from oracle.sources.factory import create_source
from oracle.store import Deployment, RoundStatus, Store
from oracle.submission import SubmitCallBuilder
from relayer.rounds import RoundRelayer
from relayer.sender import TransactionSender


def round_relayer(store: Store, sender: TransactionSender, deployment: Deployment, **options: float) -> RoundRelayer:
    """A relayer posting the deployment's proven rounds, as a node sets one up."""
    calls = SubmitCallBuilder(ZkOracle(sender.w3, deployment.oracle_address), store)
    return RoundRelayer(store, sender, submit_calls=calls, **options)  # type: ignore[arg-type]


def in_phase(onchain_round_id: str | None) -> int:
    """The round's number within its phase, from the id a landed round records."""
    return RoundId.decode(int(str(onchain_round_id))).n


def prove_rounds(
    store: Store, deployment: Deployment, spec: FeedSpec, circuit: CircuitArtifacts, proofs: Path, times: list[float]
) -> list[int]:
    """Rounds observed at ``times``, proven and stored as a node leaves them before relaying."""
    pipeline = RoundPipeline(
        spec,
        FeedCircuit.whole(circuit),
        source=create_source(spec.source),
        prover=LocalProver(),
        store=store,
        deployment_id=int(deployment.id),  # type: ignore[arg-type]
        proofs_dir=proofs,
    )
    rows = [pipeline.run(now=now) for now in times]
    assert all(row.status is RoundStatus.PROVEN for row in rows), [row.failure_reason for row in rows]
    return [int(row.id) for row in rows]  # type: ignore[arg-type]


def rounds_on_chain(w3: Web3, deployment: Deployment) -> int:
    """The oracle's in-phase round counter of the demo feed."""
    latest = ZkOracle(w3, deployment.oracle_address).latest_round_id("demo")
    return 0 if latest is None else latest.n


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response.get("result")
