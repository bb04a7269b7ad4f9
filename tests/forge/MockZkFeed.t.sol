// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {ZkFeedProxy} from "../../contracts/ZkFeedProxy.sol";
import {IZkFeed} from "../../contracts/interfaces/IZkFeed.sol";
import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {MockZkFeed} from "../../contracts/mocks/MockZkFeed.sol";
import {DemoRound, OracleTestBase} from "./utils/OracleTestBase.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice MockZkFeed serves what it is given with the proxy's semantics and reverts with the
///         errors the real oracle and proxy revert with.
contract MockZkFeedTest is TestBase {
    bytes32 private constant FEED = keccak256("eth-usd");
    uint256 private constant NOW = 1_750_000_000;

    MockZkFeed private feed;

    function setUp() public {
        vm.warp(NOW);
        feed = new MockZkFeed(FEED, 8, false);
    }

    function test_DescribesItselfAsTheProxyDoes() public {
        vm.assertEq(uint256(feed.decimals()), 8, "decimals");
        vm.assertEq(feed.version(), 2, "the proxy's version");
        vm.assertEq(feed.i_feedId(), FEED, "feed id");
        vm.assertFalse(feed.i_acceptsPartialCoverage(), "refuses partial coverage");
        vm.assertTrue(new MockZkFeed(FEED, 18, true).i_acceptsPartialCoverage(), "accepts partial coverage");
    }

    function test_ServesRoundsWithTheirObservationTime() public {
        uint80 first = feed.updateAnswer(2000e8, NOW - 30);
        vm.warp(NOW + 60);
        uint80 second = feed.updateAnswer(2010e8, NOW + 50);
        vm.assertEq(uint256(first), uint256(PhasedRoundIds.pack(1, 1)), "phased ids, as the oracle's");
        vm.assertEq(uint256(second), uint256(first) + 1, "next id");

        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            feed.latestRoundData();
        vm.assertEq(uint256(id), uint256(second), "latest id");
        vm.assertEq(answer, 2010e8, "latest answer");
        vm.assertEq(startedAt, NOW + 50, "startedAt: the observation");
        vm.assertEq(updatedAt, NOW + 50, "updatedAt: the observation, not the update");
        vm.assertEq(uint256(answeredInRound), uint256(second), "answeredInRound");
        (, answer,, updatedAt,) = feed.getRoundData(first);
        vm.assertEq(answer, 2000e8, "first answer");
        vm.assertEq(updatedAt, NOW - 30, "first observation");
    }

    function test_RevertsBeforeTheFirstRoundAndForUnknownRounds() public {
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoRounds.selector, FEED));
        feed.latestRoundData();
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoRounds.selector, FEED));
        feed.latestRoundDataNoOlderThan(1 hours);
        uint80 first = feed.updateAnswer(1, NOW);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownRound.selector, FEED, first + 1));
        feed.getRoundData(first + 1);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownRound.selector, FEED, uint80(0)));
        feed.getRoundData(0);
    }

    function test_NoOlderThanRevertsOnTheObservationsAge() public {
        feed.updateAnswer(2000e8, NOW - 100);
        (, int256 answer,,,) = feed.latestRoundDataNoOlderThan(100);
        vm.assertEq(answer, 2000e8, "exactly max age is fresh enough");
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleStaleAnswer.selector, FEED, NOW - 100, 99));
        feed.latestRoundDataNoOlderThan(99);
    }

    function test_PartlyProvenRoundsRevertUnlessAccepted() public {
        MockZkFeed accepting = new MockZkFeed(FEED, 8, true);
        feed.setCoverage(2, 3);
        accepting.setCoverage(2, 3);
        uint80 id = feed.updateAnswer(7, NOW);
        accepting.updateAnswer(7, NOW);
        bytes memory partlyProven = abi.encodeWithSelector(ZkFeedProxy.ZkFeedProxyPartialCoverage.selector, id, 2, 3);
        vm.expectRevert(partlyProven);
        feed.latestRoundData();
        vm.expectRevert(partlyProven);
        feed.getRoundData(id);
        vm.expectRevert(partlyProven);
        feed.latestRoundDataNoOlderThan(1 hours);
        (, int256 answer,,,) = accepting.latestRoundData();
        vm.assertEq(answer, 7, "served when partial coverage is accepted");
    }

    function test_CoverageIsFixedWhenARoundIsPosted() public {
        uint80 whole = feed.updateAnswer(1, NOW - 10);
        feed.setCoverage(1, 2);
        uint80 partlyProven = feed.updateAnswer(2, NOW);
        (, int256 answer,,,) = feed.getRoundData(whole);
        vm.assertEq(answer, 1, "a round posted before keeps its whole coverage");
        vm.expectRevert(abi.encodeWithSelector(ZkFeedProxy.ZkFeedProxyPartialCoverage.selector, partlyProven, 1, 2));
        feed.latestRoundData();
    }

    function test_HaltedFeedServesNothing() public {
        uint80 id = feed.updateAnswer(1, NOW);
        feed.setHalted(true);
        bytes memory halted = abi.encodeWithSelector(IZkOracle.ZkOracleFeedHalted.selector, FEED);
        vm.expectRevert(halted);
        feed.latestRoundData();
        vm.expectRevert(halted);
        feed.getRoundData(id);
        vm.expectRevert(halted);
        feed.latestRoundDataNoOlderThan(1 hours);
        feed.setHalted(false);
        (, int256 answer,,,) = feed.latestRoundData();
        vm.assertEq(answer, 1, "served again once resumed");
    }

    function test_RefusesRoundsAndCoverageTheOracleCouldNotHold() public {
        vm.expectRevert(abi.encodeWithSelector(MockZkFeed.MockZkFeedObservationFromFuture.selector, NOW + 1, NOW));
        feed.updateAnswer(1, NOW + 1);
        feed.updateAnswer(1, NOW - 5);
        vm.expectRevert(abi.encodeWithSelector(MockZkFeed.MockZkFeedObservationNotNewer.selector, NOW - 5, NOW - 5));
        feed.updateAnswer(2, NOW - 5);
        vm.expectRevert(abi.encodeWithSelector(MockZkFeed.MockZkFeedInvalidCoverage.selector, 3, 2));
        feed.setCoverage(3, 2);
        vm.expectRevert(abi.encodeWithSelector(MockZkFeed.MockZkFeedInvalidCoverage.selector, 0, 0));
        feed.setCoverage(0, 0);
    }

    function testFuzz_ServesWhatWasSet(int256 answer, uint256 age) public {
        age = bound(age, 0, NOW);
        uint80 id = feed.updateAnswer(answer, NOW - age);
        (uint80 latest, int256 served,, uint256 updatedAt,) = feed.latestRoundDataNoOlderThan(age);
        vm.assertEq(uint256(latest), uint256(id), "id");
        vm.assertEq(served, answer, "answer");
        vm.assertEq(updatedAt, NOW - age, "observation");
    }
}

/// @notice The mock against the real thing: a ZkFeedProxy over a ZkOracle holding the same round
///         (a real demo proof) answers and reverts with the very same bytes.
contract MockZkFeedParityTest is OracleTestBase {
    IZkOracle private oracle;
    ZkFeedProxy private proxy;
    MockZkFeed private mock;

    function setUp() public {
        oracle = deployOracle(0, 0);
        registerDemo(oracle, deployDemoVerifier(), 1 hours);
        proxy = new ZkFeedProxy(oracle, DEMO_FEED, false);
        mock = new MockZkFeed(DEMO_FEED, 8, false);
    }

    function test_AnswersAndRevertsAsTheProxy() public {
        assertSame(abi.encodeCall(AggregatorV3Interface.latestRoundData, ()), "no rounds");
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt + 30);
        uint80 id = submitDemo(oracle, round);
        mock.updateAnswer(round.answer, round.observedAt);

        assertSame(abi.encodeCall(AggregatorV3Interface.decimals, ()), "decimals");
        assertSame(abi.encodeCall(AggregatorV3Interface.version, ()), "version");
        assertSame(abi.encodeCall(IZkFeed.i_acceptsPartialCoverage, ()), "coverage flag");
        assertSame(abi.encodeCall(AggregatorV3Interface.latestRoundData, ()), "latest round");
        assertSame(abi.encodeCall(AggregatorV3Interface.getRoundData, (id)), "round by id");
        assertSame(abi.encodeCall(AggregatorV3Interface.getRoundData, (id + 1)), "unknown round");
        assertSame(abi.encodeCall(IZkFeed.latestRoundDataNoOlderThan, (30)), "fresh enough");
        assertSame(abi.encodeCall(IZkFeed.latestRoundDataNoOlderThan, (29)), "stale");

        vm.prank(admin);
        oracle.setHalted(DEMO_FEED, true);
        mock.setHalted(true);
        assertSame(abi.encodeCall(AggregatorV3Interface.latestRoundData, ()), "halted");
        assertSame(abi.encodeCall(AggregatorV3Interface.getRoundData, (id)), "halted round by id");
    }

    function assertSame(bytes memory call, string memory what) private view {
        (bool proxyOk, bytes memory proxyOut) = address(proxy).staticcall(call);
        (bool mockOk, bytes memory mockOut) = address(mock).staticcall(call);
        vm.assertEq(mockOk, proxyOk, what);
        vm.assertEq(keccak256(mockOut), keccak256(proxyOut), what);
    }
}
