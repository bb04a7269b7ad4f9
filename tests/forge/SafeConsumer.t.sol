// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {SafeConsumer} from "../../contracts/examples/SafeConsumer.sol";
import {ZkFeedProxy} from "../../contracts/ZkFeedProxy.sol";
import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {MockZkFeed} from "../../contracts/mocks/MockZkFeed.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice The README's example: a consumer's unit tests against MockZkFeed.
contract SafeConsumerTest is TestBase {
    bytes32 private constant FEED = keccak256("eth-usd");
    uint256 private constant MAX_AGE = 1 hours;
    int256 private constant MIN_ANSWER = 100e8; // 100 USD, 8 decimals
    int256 private constant MAX_ANSWER = 100_000e8;

    MockZkFeed private feed;
    SafeConsumer private consumer;

    function setUp() public {
        vm.warp(1_750_000_000);
        feed = new MockZkFeed(FEED, 8, false);
        consumer = new SafeConsumer(feed, MAX_AGE, MIN_ANSWER, MAX_ANSWER);
    }

    function test_ReadsAFreshProvenAnswer() public {
        feed.updateAnswer(2000e8, block.timestamp - 10 minutes);
        (int256 answer, uint256 observedAt) = consumer.price();
        vm.assertEq(answer, 2000e8, "answer");
        vm.assertEq(observedAt, block.timestamp - 10 minutes, "observation time");
    }

    function test_RefusesAnAnswerObservedTooLongAgo() public {
        // Posted now, but computed from inputs observed 2 hours ago: stale all the same.
        uint256 observedAt = block.timestamp - 2 hours;
        feed.updateAnswer(2000e8, observedAt);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleStaleAnswer.selector, FEED, observedAt, MAX_AGE));
        consumer.price();
    }

    function test_RefusesAPartlyProvenRound() public {
        feed.setCoverage(2, 3); // a sliced model with one slice run but not proven
        uint80 roundId = feed.updateAnswer(2000e8, block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(ZkFeedProxy.ZkFeedProxyPartialCoverage.selector, roundId, 2, 3));
        consumer.price();
    }

    function test_RefusesAFeedThatServesPartlyProvenRounds() public {
        MockZkFeed lenient = new MockZkFeed(FEED, 8, true);
        vm.expectRevert(
            abi.encodeWithSelector(SafeConsumer.SafeConsumerAcceptsPartialCoverage.selector, address(lenient))
        );
        new SafeConsumer(lenient, MAX_AGE, MIN_ANSWER, MAX_ANSWER);
    }

    function test_RefusesAnAnswerOutOfBounds() public {
        feed.updateAnswer(1e8, block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(SafeConsumer.SafeConsumerAnswerOutOfBounds.selector, 1e8, MIN_ANSWER, MAX_ANSWER)
        );
        consumer.price();
    }

    function test_RevertsWhileTheFeedIsHalted() public {
        feed.updateAnswer(2000e8, block.timestamp);
        feed.setHalted(true);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedHalted.selector, FEED));
        consumer.price();
    }
}
