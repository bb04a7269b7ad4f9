"""A feed whose inputs are read from contracts on the oracle's own chain, checked again in `submit`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from web3 import Web3

from bench.gas import VALUE_DECIMALS, write_onchain_feed
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import quantize_like_contract
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import bind, contract_factory
from oracle.exceptions import SourceError
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.pipeline import RoundPipeline
from oracle.provers import LocalProver
from oracle.sources.base import SourceContext
from oracle.sources.factory import create_source
from oracle.store import RoundStatus, Store
from tests.relayer.conftest import round_relayer

VALUE_SOURCE = "ExampleValueSource"
DECIMALS = VALUE_DECIMALS


@pytest.fixture(scope="module")
def value_sources(w3: Web3) -> list[str]:
    deployer = sender_for(w3, "deployer")
    factory = contract_factory(w3, VALUE_SOURCE)
    return [
        deployer.transact(factory.constructor(value * 10**DECIMALS), what="deploy value source").receipt[
            "contractAddress"
        ]
        for value in (12, 30)
    ]


@pytest.fixture(scope="module")
def onchain_feed(tmp_path_factory: pytest.TempPathFactory, value_sources: list[str]) -> FeedSpec:
    return write_onchain_feed(tmp_path_factory.mktemp("onchain-feed"), value_sources)


def _set(w3: Web3, address: str, raw: int) -> None:
    sender_for(w3, "deployer").transact(bind(w3, VALUE_SOURCE, address).functions.setValue(raw), what="set value")


def test_onchain_inputs_land_and_are_checked_again_at_submit(
    onchain_feed: FeedSpec, value_sources: list[str], w3: Web3, anvil: AnvilNode, build_root: Path, tmp_path: Path
) -> None:
    circuit = build_circuit(
        onchain_feed.model_path, onchain_feed.model_samples(), build_root=build_root, observation_time=True
    ).artifacts
    store = Store.sqlite(tmp_path / "db.sqlite")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, onchain_feed, FeedCircuit.whole(circuit))
    node = FeedNode(
        onchain_feed, FeedCircuit.whole(circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path
    )
    report = node.tick()
    assert report.landed, report.round.failure_reason
    assert report.round.inputs[:2] == [12.0, 30.0]  # then the observation time's limbs
    assert report.reading is not None and report.reading.value == pytest.approx(0.5 * 12 + 0.25 * 30 + 1, abs=1e-3)

    # The value moves between proving and sending: the contract refuses the stale proof.
    # A proof takes half a second: observe in a later second than the landed round, or the
    # contract's ordering (ZkOracleStaleRound) refuses it before it reads the inputs.
    while int(time.time()) <= report.round.observed_at:
        time.sleep(0.05)
    _set(w3, value_sources[0], 1_234_567_890)
    pipeline = RoundPipeline(
        onchain_feed,
        FeedCircuit.whole(circuit),
        source=create_source(onchain_feed.source, SourceContext(w3=w3, input_scale=circuit.manifest.input_scales[0])),
        prover=LocalProver(),
        store=store,
        deployment_id=int(deployment.id),  # type: ignore[arg-type]
        proofs_dir=tmp_path,
    )
    proven = pipeline.run()
    assert proven.status is RoundStatus.PROVEN
    _set(w3, value_sources[0], 13 * 10**DECIMALS)
    outcome = round_relayer(store, sender_for(w3, "relayer"), deployment).relay(int(proven.id))  # type: ignore[arg-type]
    assert not outcome.landed
    assert "ZkOracleOnchainInputMismatch" in str(outcome.round.failure_reason)
    assert outcome.round.tx_hash is None  # refused at estimation, nothing broadcast


def test_values_the_circuit_cannot_read_exactly_are_refused(
    onchain_feed: FeedSpec, value_sources: list[str], w3: Web3
) -> None:
    _set(w3, value_sources[1], 5000 * 10**DECIMALS)  # 5000 * 2**13 steps exceeds f32's exact range
    source = create_source(onchain_feed.source, SourceContext(w3=w3, input_scale=13))
    with pytest.raises(SourceError, match="beyond the 16777216 EZKL reads exactly"):
        source.fetch()
    _set(w3, value_sources[1], 30 * 10**DECIMALS)


@pytest.mark.parametrize(
    ("raw", "decimals", "scale", "steps"),
    [(1, 0, 13, 8192), (-1, 0, 13, -8192), (61035, 9, 13, 0), (61036, 9, 13, 1), (-61036, 9, 13, -1)],
)
def test_quantisation_matches_the_contract_rounding(raw: int, decimals: int, scale: int, steps: int) -> None:
    # 61035e-9 * 8192 = 0.49999 rounds down; 61036e-9 * 8192 = 0.50001 rounds away from zero.
    assert quantize_like_contract(raw, decimals=decimals, scale=scale) == steps
