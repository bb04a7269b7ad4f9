"""Time rules on a private Anvil whose clock the tests set: observation window, no future, stale rounds and answers.

The session's Anvil is shared with tests that prove wall-clock observations, so its clock is
never moved; this module starts its own chain and pins the block time of every step with
``freeze_time``, which makes each boundary exact to the second.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3
from web3.contract.contract import ContractFunction
from zkoracle_testkit import (
    OWNER,
    RELAYER,
    Proven,
    artifacts_config,
    deploy,
    err,
    events,
    feed_params,
    freeze_time,
    helper_contracts,
    limb_instances,
    make_sender,
    register,
    rejected,
    stub_proof,
    submit,
    timed_circuit,
    view_error,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.deployments.contracts import deploy_consumer, deploy_oracle, deploy_proxy, deploy_verifier
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.contracts import CONSUMER, PROXY, bind, feed_key
from oracle.evm.zkoracle import RoundData, RoundId, ZkOracle
from oracle.feeds.schema import FeedSpec
from relayer.sender import TransactionSender

FEED = "clocked"
KEY = feed_key(FEED)
MAX_AGE = 100
HEARTBEAT = 60


@pytest.fixture(scope="module")
def chain() -> Iterator[Web3]:
    with AnvilNode() as node:
        yield connect(node.rpc_url)


@pytest.fixture(scope="module")
def chain_owner(chain: Web3) -> TransactionSender:
    return make_sender(chain, OWNER)


@pytest.fixture(scope="module")
def chain_relayer(chain: Web3) -> TransactionSender:
    return make_sender(chain, RELAYER)


@pytest.fixture(scope="module")
def chain_stub_verifier(chain_owner: TransactionSender) -> str:
    return deploy(chain_owner, helper_contracts()["StubVerifier"], True).address


@pytest.fixture
def clocked(
    chain: Web3, chain_owner: TransactionSender, chain_relayer: TransactionSender, chain_stub_verifier: str
) -> ZkOracle:
    """A fresh oracle with a stub feed of layout ``[limb0, limb1, limb2, answer]``, the relayer allowed."""
    oracle = ZkOracle(chain, deploy_oracle(chain_owner))
    params = feed_params(heartbeat=HEARTBEAT, max_age=MAX_AGE)
    register(
        chain_owner,
        oracle,
        KEY,
        params,
        timed_circuit(chain_stub_verifier),
        submitters=(chain_relayer.account.address,),
    )
    return oracle


@pytest.fixture
def now(chain: Web3) -> int:
    """A block time ahead of anything earlier tests left on the chain."""
    return int(chain.eth.get_block("latest")["timestamp"]) + 1000


def observed_at(oracle: ZkOracle, unix_time: int, answer: int = 0) -> ContractFunction:
    return oracle.submit(KEY, stub_proof(), [*limb_instances(unix_time), answer])


def test_observation_may_not_lead_the_chain_by_a_second(
    chain: Web3, clocked: ZkOracle, chain_relayer: TransactionSender, now: int
) -> None:
    # No skew: an observation ahead of the block could push the feed's latest into the
    # future and make every honest proof stale, and startedAt would lie ahead of block time.
    freeze_time(chain, now)
    ahead = now + 1
    assert rejected(chain_relayer, observed_at(clocked, ahead)) == err("ZkOracleObservationFromFuture", KEY, ahead, now)
    assert clocked.latest_round_id(KEY) is None
    freeze_time(chain, now)
    confirmed = chain_relayer.transact(observed_at(clocked, now), what="submit")
    (event,) = clocked.round_submitted(confirmed.receipt)
    assert event.observed_at == now
    latest = clocked.latest_round_data(KEY)
    assert (latest.started_at, latest.updated_at) == (now, now)
    stored = clocked.round(KEY, RoundId(1, 1))
    assert (stored.observed_at, stored.included_at) == (now, now)


def test_updated_at_is_the_observation_not_the_inclusion(
    chain: Web3, clocked: ZkOracle, chain_relayer: TransactionSender, now: int
) -> None:
    freeze_time(chain, now)
    chain_relayer.transact(observed_at(clocked, now - 40), what="submit an observation 40 s old")
    latest = clocked.latest_round_data(KEY)
    assert (latest.started_at, latest.updated_at) == (now - 40, now - 40)
    assert clocked.round(KEY, RoundId(1, 1)).included_at == now
    # Its age is measured from the observation: 40 s old already at inclusion.
    no_older = clocked.contract.functions.latestRoundDataNoOlderThan
    assert RoundData.from_abi(no_older(KEY, 40).call()).updated_at == now - 40
    assert view_error(no_older(KEY, 39)) == err("ZkOracleStaleAnswer", KEY, now - 40, 39)


def test_observation_may_be_as_old_as_the_feed_allows_and_no_older(
    chain: Web3, clocked: ZkOracle, chain_relayer: TransactionSender, now: int
) -> None:
    freeze_time(chain, now)
    too_old = now - MAX_AGE - 1
    assert rejected(chain_relayer, observed_at(clocked, too_old)) == err(
        "ZkOracleObservationTooOld", KEY, too_old, now - MAX_AGE
    )
    freeze_time(chain, now)
    chain_relayer.transact(observed_at(clocked, now - MAX_AGE), what="submit")
    assert clocked.latest_round_data(KEY).started_at == now - MAX_AGE


def test_round_must_observe_later_than_the_latest(
    chain: Web3, clocked: ZkOracle, chain_relayer: TransactionSender, now: int
) -> None:
    freeze_time(chain, now)
    chain_relayer.transact(observed_at(clocked, now - 10), what="first round")
    for earlier in (now - 10, now - 11):
        freeze_time(chain, now)
        assert rejected(chain_relayer, observed_at(clocked, earlier)) == err(
            "ZkOracleStaleRound", KEY, earlier, now - 10
        )
    freeze_time(chain, now)
    chain_relayer.transact(observed_at(clocked, now - 9), what="one second later")
    assert clocked.latest_round_id(KEY) == RoundId(1, 2)


def test_stale_answer_is_refused_after_max_age_by_oracle_proxy_and_consumer(
    chain: Web3, clocked: ZkOracle, chain_owner: TransactionSender, chain_relayer: TransactionSender, now: int
) -> None:
    proxy = bind(chain, PROXY, deploy_proxy(chain_owner, clocked.address, FEED))
    consumer = bind(chain, CONSUMER, deploy_consumer(chain_owner, clocked.address, FEED))
    freeze_time(chain, now)
    chain_relayer.transact(observed_at(clocked, now, answer=3 << 13), what="submit")
    latest = RoundData(RoundId(1, 1), 3 * 10**8, now, now, RoundId(1, 1))
    # A consumer guarding with the feed's own heartbeat reads it on-chain.
    heartbeat = clocked.feed_params(KEY).heartbeat
    assert heartbeat == HEARTBEAT

    freeze_time(chain, now + heartbeat)
    # latestRoundDataNoOlderThan is not the binding's; its answer is RoundData's shape.
    no_older = clocked.contract.functions.latestRoundDataNoOlderThan
    assert RoundData.from_abi(no_older(KEY, heartbeat).call()) == latest
    assert RoundData.from_abi(proxy.functions.latestRoundDataNoOlderThan(heartbeat).call()) == latest
    confirmed = chain_relayer.transact(consumer.functions.record(heartbeat), what="record")
    (event,) = events(consumer.events.AnswerRecorded(), confirmed)
    assert dict(event["args"]) == {"feedId": KEY, "roundId": int(RoundId(1, 1)), "answer": 3 * 10**8}

    freeze_time(chain, now + heartbeat + 1)
    stale = err("ZkOracleStaleAnswer", KEY, now, heartbeat)
    assert view_error(no_older(KEY, heartbeat)) == stale
    # The proxy passes the oracle's reason through unchanged.
    assert view_error(proxy.functions.latestRoundDataNoOlderThan(heartbeat)) == stale
    freeze_time(chain, now + heartbeat + 1)
    assert rejected(chain_relayer, consumer.functions.record(heartbeat)) == err(
        "ExampleConsumerStaleAnswer", KEY, now, heartbeat
    )
    # Chainlink's plain reads never judge age; the caller chooses its bound.
    freeze_time(chain, now + heartbeat + 1)
    assert RoundData.from_abi(proxy.functions.latestRoundData().call()) == latest
    assert RoundData.from_abi(proxy.functions.latestRoundDataNoOlderThan(heartbeat + 1).call()) == latest


def test_real_proof_is_accepted_only_within_the_demo_feeds_window(
    chain: Web3,
    chain_owner: TransactionSender,
    chain_relayer: TransactionSender,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    first_proof: Proven,
) -> None:
    # Registered with the feed.toml's window, as `zkoracle deploy` does.
    oracle = ZkOracle(chain, deploy_oracle(chain_owner))
    verifier = deploy_verifier(chain_owner, demo_circuit)
    max_age = demo_spec.onchain.max_observation_age_seconds
    key = feed_key(demo_spec.id)
    params = feed_params(decimals=demo_spec.decimals, max_age=max_age, description=demo_spec.description)
    config = artifacts_config(demo_circuit, verifier, output=demo_spec.output)
    register(chain_owner, oracle, key, params, config, submitters=(chain_relayer.account.address,))
    assert oracle.feed_params(key).max_observation_age == max_age
    observed = first_proof.observed_at
    call = oracle.submit(key, first_proof.proof_bytes, first_proof.instances)

    freeze_time(chain, observed - 1)
    assert rejected(chain_relayer, call) == err("ZkOracleObservationFromFuture", key, observed, observed - 1)
    freeze_time(chain, observed + max_age + 1)
    assert rejected(chain_relayer, call) == err("ZkOracleObservationTooOld", key, observed, observed + 1)

    freeze_time(chain, observed + max_age)
    submit(chain_relayer, oracle, key, first_proof)
    proxy = bind(chain, PROXY, deploy_proxy(chain_owner, oracle.address, demo_spec.id))
    latest = RoundData.from_abi(proxy.functions.latestRoundData().call())
    # Both report the observation, max_age seconds before the block that stored it.
    assert (latest.started_at, latest.updated_at) == (observed, observed)
    assert oracle.round(key, latest.round_id).included_at == observed + max_age
