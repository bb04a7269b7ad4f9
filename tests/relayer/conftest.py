"""Helpers for the relayer tests: proven rounds of the demo feed, raw chain controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.evm.contracts import ORACLE, bind, feed_key
from oracle.feeds.schema import FeedSpec
from oracle.pipeline import RoundPipeline
from oracle.provers import LocalProver
from oracle.sources.factory import create_source
from oracle.store import Deployment, RoundStatus, Store

IN_PHASE = (1 << 64) - 1


def prove_rounds(
    store: Store, deployment: Deployment, spec: FeedSpec, circuit: CircuitArtifacts, proofs: Path, times: list[float]
) -> list[int]:
    """Rounds observed at ``times``, proven and stored as a node leaves them before relaying."""
    pipeline = RoundPipeline(
        spec,
        circuit,
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
    return bind(w3, ORACLE, deployment.oracle_address).functions.latestRoundId(feed_key("demo")).call() & IN_PHASE


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response.get("result")
