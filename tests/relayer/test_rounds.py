"""Crash safety of relaying: every round left proven or in flight lands exactly once."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import ORACLE, bind, feed_key
from oracle.feedspec import FeedSpec
from oracle.node import ensure_deployment, sender_for
from oracle.pipeline import RoundPipeline
from oracle.provers import LocalProver
from oracle.store import Deployment, Round, RoundStatus, Store
from relayer.rounds import RoundRelayer


@pytest.fixture(scope="module")
def proven_rounds(
    tmp_path_factory: pytest.TempPathFactory,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
) -> tuple[Store, Deployment, list[int]]:
    """Three rounds proven and stored, as a node that crashed before sending would leave them."""
    folder = tmp_path_factory.mktemp("relay")
    store = Store.sqlite(folder / "db.sqlite")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, demo_circuit)
    pipeline = RoundPipeline(
        demo_spec,
        demo_circuit,
        source=demo_spec.source.create(),
        prover=LocalProver(),
        store=store,
        deployment_id=int(deployment.id),
        proofs_dir=folder / "proofs",  # type: ignore[arg-type]
    )
    # Observation times must rise in landing order: the round broadcast before the crash
    # (the second) lands first, then the unsent one, then the dropped one.
    start = time.time() - 5
    rows = [pipeline.run(now=start + offset) for offset in (1, 0, 2)]
    assert all(row.status is RoundStatus.PROVEN for row in rows)
    return store, deployment, [int(row.id) for row in rows]  # type: ignore[arg-type]


def _update(store: Store, round_id: int, **fields: object) -> None:
    with Session(store.engine) as session:
        row = session.get(Round, round_id)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def test_reconcile_lands_proven_sent_and_dropped_rounds_once(
    w3: Web3, proven_rounds: tuple[Store, Deployment, list[int]]
) -> None:
    store, deployment, (unsent, sent, dropped) = proven_rounds
    relayer = RoundRelayer(store, sender_for(w3, "relayer"))
    oracle = bind(w3, ORACLE, deployment.oracle_address)

    # Crash after broadcasting, before the receipt was recorded.
    broadcast = relayer._sender.send(relayer._submit_call(store.rounds()[1]), what="crash test")
    _update(store, sent, status=RoundStatus.SUBMITTED, tx_hash=broadcast.tx_hash, tx_nonce=broadcast.nonce)
    # A transaction the chain never kept (dropped from the mempool, or reorged away).
    _update(store, dropped, status=RoundStatus.SUBMITTED, tx_hash="0x" + "ab" * 32, tx_nonce=999)

    outcomes = RoundRelayer(store, sender_for(w3, "relayer")).reconcile(int(deployment.id))  # type: ignore[arg-type]
    assert [o.round.id for o in outcomes] == [unsent, sent, dropped]
    assert all(o.landed for o in outcomes)
    assert next(o for o in outcomes if o.round.id == sent).round.tx_hash == broadcast.tx_hash  # not re-sent

    landed = store.rounds(status=RoundStatus.LANDED)
    assert len(landed) == 3
    assert oracle.functions.latestRoundId(feed_key("demo")).call() == (1 << 64) | 3
    assert sorted(int(str(r.onchain_round_id)) for r in landed) == [(1 << 64) | n for n in (1, 2, 3)]

    # A second restart finds nothing left to do and posts nothing.
    assert RoundRelayer(store, sender_for(w3, "relayer")).reconcile(int(deployment.id)) == []  # type: ignore[arg-type]
    assert oracle.functions.latestRoundId(feed_key("demo")).call() == (1 << 64) | 3
