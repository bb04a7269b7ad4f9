// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ZkFeedProxy} from "../../contracts/ZkFeedProxy.sol";
import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {MockZkFeed} from "../../contracts/mocks/MockZkFeed.sol";
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
