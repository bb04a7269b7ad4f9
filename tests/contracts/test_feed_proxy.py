"""ZkFeedProxy as a Chainlink AggregatorV3Interface, and the consumers that read proven feeds.

The acceptance test: PriceConsumerV3, written only against AggregatorV3Interface, reads a
feed proven by a real EZKL proof through the proxy, as it would read a Chainlink aggregator.
"""

from __future__ import annotations

import pytest
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from zkoracle_testkit import (
    DEMO_DESCRIPTION,
    Proven,
    block_time,
    circuit,
    deploy,
    err,
    events,
    feed_params,
    register,
    rejected,
    stub_proof,
    submit,
    timed,
    view_error,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.quantize import answer_from_felt
from oracle.deployments.contracts import deploy_consumer, deploy_proxy
from oracle.evm.compiler import compile_sources
from oracle.evm.contracts import CONSUMER, PROXY, bind, contract_factory, feed_key, project_contracts
from oracle.evm.zkoracle import RoundData, RoundId, ZkOracle
from relayer.sender import TransactionSender

# Chainlink's AggregatorV3Interface selectors, as deployed aggregators answer them.
CHAINLINK_SELECTORS = {
    "decimals()": "313ce567",
    "description()": "7284e416",
    "version()": "54fd4d50",
    "getRoundData(uint80)": "9a6fc8f5",
    "latestRoundData()": "feaf968c",
}
ROUND_OUTPUTS = ["uint80", "int256", "uint256", "uint256", "uint80"]
# The proxy and consumers speak raw uint80 round ids.
FIRST_ROUND = int(RoundId(1, 1))

# A consumer in the shape of Chainlink's documentation, importing the interface from Chainlink's
# npm package as their examples do, so nothing of zkoracle is compiled into it.
CHAINLINK_STYLE_CONSUMER = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

contract GuardedPriceReader {
  AggregatorV3Interface internal immutable dataFeed;

  constructor(address feed) { dataFeed = AggregatorV3Interface(feed); }

  /// The usual guards of a careful Chainlink consumer, then the price scaled to 18 decimals.
  function price(uint256 maxAge) external view returns (uint256) {
    (uint80 roundId, int256 answer, , uint256 updatedAt, uint80 answeredInRound) = dataFeed.latestRoundData();
    require(answer > 0, "negative");
    require(answeredInRound >= roundId, "stale round");
    require(block.timestamp - updatedAt <= maxAge, "stale");
    return uint256(answer) * 10 ** (18 - dataFeed.decimals());
  }
}
"""
DECIMALS = 8


@pytest.fixture
def proxy(w3: Web3, oracle: ZkOracle, owner: TransactionSender, demo_key: bytes) -> Contract:
    return bind(w3, PROXY, deploy_proxy(owner, oracle.address, "demo"))


def expected_answer(proven: Proven, circuit: CircuitArtifacts) -> int:
    return answer_from_felt(proven.felts[-1], scale=circuit.manifest.output_scale, decimals=DECIMALS)


def test_proxy_answers_chainlinks_selectors_with_chainlinks_types() -> None:
    functions = {
        abi_to_signature(entry): entry for entry in project_contracts()[PROXY].abi if entry["type"] == "function"
    }
    for signature, selector in CHAINLINK_SELECTORS.items():
        assert function_signature_to_4byte_selector(signature).hex() == selector
        assert signature in functions
        assert functions[signature]["stateMutability"] in ("view", "pure")
    for name in ("getRoundData(uint80)", "latestRoundData()"):
        assert [output["type"] for output in functions[name]["outputs"]] == ROUND_OUTPUTS


def test_proxy_cannot_be_deployed_for_an_unknown_feed(w3: Web3, oracle: ZkOracle, owner: TransactionSender) -> None:
    key = feed_key("nowhere")
    constructor = contract_factory(w3, PROXY).constructor(oracle.address, key, False)
    assert rejected(owner, constructor) == err("ZkOracleUnknownFeed", key)


@pytest.mark.parametrize("address", ["0x" + "00" * 20, Web3.to_checksum_address("0x" + "ab" * 20)])
def test_proxy_cannot_be_deployed_for_an_address_without_code(w3: Web3, owner: TransactionSender, address: str) -> None:
    # Calling it would revert with no reason at all, so the proxy names the address instead.
    constructor = contract_factory(w3, PROXY).constructor(address, feed_key("demo"), False)
    assert rejected(owner, constructor) == err("ZkFeedProxyOracleNotAContract", address)


def test_proxy_describes_the_feed_before_any_round(proxy: Contract, oracle: ZkOracle, demo_key: bytes) -> None:
    assert proxy.functions.decimals().call() == DECIMALS
    assert proxy.functions.description().call() == DEMO_DESCRIPTION
    # Version 2: updatedAt is the observation time, partly proven rounds are refused.
    assert proxy.functions.version().call() == proxy.functions.VERSION().call() == 2
    assert proxy.functions.i_acceptsPartialCoverage().call() is False
    assert proxy.functions.i_oracle().call() == oracle.address
    assert proxy.functions.i_feedId().call() == demo_key
    assert view_error(proxy.functions.latestRoundData()) == err("ZkOracleNoRounds", demo_key)
    assert view_error(proxy.functions.latestRoundDataNoOlderThan(2**256 - 1)) == err("ZkOracleNoRounds", demo_key)
    assert view_error(proxy.functions.getRoundData(FIRST_ROUND)) == err("ZkOracleUnknownRound", demo_key, FIRST_ROUND)


def test_chainlink_consumer_reads_a_proven_answer_through_the_proxy(
    w3: Web3,
    oracle: ZkOracle,
    demo_key: bytes,
    proxy: Contract,
    owner: TransactionSender,
    relayer: TransactionSender,
    first_proof: Proven,
    demo_circuit: CircuitArtifacts,
) -> None:
    consumer = deploy(owner, project_contracts()["PriceConsumerV3"], proxy.address)
    guarded = deploy(
        owner,
        compile_sources({"GuardedPriceReader.sol": CHAINLINK_STYLE_CONSUMER})["GuardedPriceReader"],
        proxy.address,
    )
    assert consumer.functions.describe().call() == [DECIMALS, DEMO_DESCRIPTION]

    confirmed = submit(relayer, oracle, demo_key, first_proof)
    answer = expected_answer(first_proof, demo_circuit)
    assert answer > 0
    assert consumer.functions.getChainlinkDataFeedLatestAnswer().call() == answer
    assert guarded.functions.price(3600).call() == answer * 10 ** (18 - DECIMALS)

    # The proxy answers exactly what the oracle stores for the feed.
    # startedAt and updatedAt: the proven observation, never the inclusion.
    assert block_time(w3, confirmed) >= first_proof.observed_at
    latest = RoundData(RoundId(1, 1), answer, first_proof.observed_at, first_proof.observed_at, RoundId(1, 1))
    assert RoundData.from_abi(proxy.functions.latestRoundData().call()) == oracle.latest_round_data(demo_key) == latest
    assert RoundData.from_abi(proxy.functions.getRoundData(FIRST_ROUND).call()) == latest
    assert RoundData.from_abi(proxy.functions.latestRoundDataNoOlderThan(3600).call()) == latest
    for missing in (RoundId(0, 0), RoundId(1, 2), RoundId(2, 1)):
        assert view_error(proxy.functions.getRoundData(int(missing))) == err(
            "ZkOracleUnknownRound", demo_key, int(missing)
        )


def test_example_consumer_reads_and_records_the_latest_answer(
    w3: Web3,
    oracle: ZkOracle,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
    first_proof: Proven,
    demo_circuit: CircuitArtifacts,
) -> None:
    consumer = bind(w3, CONSUMER, deploy_consumer(owner, oracle.address, "demo"))
    # Before any round the oracle's own error reaches the consumer's caller unchanged.
    assert view_error(consumer.functions.readLatest()) == err("ZkOracleNoRounds", demo_key)

    submit(relayer, oracle, demo_key, first_proof)
    answer = expected_answer(first_proof, demo_circuit)
    assert consumer.functions.readLatest().call() == [answer, DECIMALS, FIRST_ROUND, first_proof.observed_at]

    # Anyone may make the consumer record; it needs no role on the oracle.
    confirmed = outsider.transact(consumer.functions.record(3600), what="record")
    (event,) = events(consumer.events.AnswerRecorded(), confirmed)
    assert dict(event["args"]) == {"feedId": demo_key, "roundId": FIRST_ROUND, "answer": answer}
    assert consumer.functions.s_lastAnswer().call() == answer
    assert consumer.functions.s_lastRoundId().call() == FIRST_ROUND


def test_a_feed_retaining_two_rounds_serves_them_and_names_an_overwritten_one(
    w3: Web3, oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    key = feed_key("retains-two")
    params = feed_params(rounds_retained=2)
    register(owner, oracle, key, params, circuit(stub_verifiers[True]), submitters=(relayer.account.address,))
    for value in (1, 2, 3):
        relayer.transact(oracle.submit(key, stub_proof(), timed(w3, value << 13)), what=f"land round {value}")
    assert oracle.feed_params(key).rounds_retained == 2
    proxy = bind(w3, PROXY, deploy_proxy(owner, oracle.address, "retains-two"))
    latest = RoundData.from_abi(proxy.functions.latestRoundData().call())
    assert (latest.round_id, latest.answer) == (RoundId(1, 3), 3 * 10**8)
    second = RoundData.from_abi(proxy.functions.getRoundData(int(RoundId(1, 2))).call())
    assert (second.round_id, second.answer) == (RoundId(1, 2), 2 * 10**8)
    # Round 3 took round 1's slot: the consumer is told so, never served round 3's answer as round 1's.
    first = int(RoundId(1, 1))
    assert view_error(proxy.functions.getRoundData(first)) == err("ZkOracleRoundNotRetained", key, first, 2)
    assert view_error(oracle.contract.functions.getRound(key, first)) == err("ZkOracleRoundNotRetained", key, first, 2)
