// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ZkFeedProxy} from "../ZkFeedProxy.sol";
import {IZkFeed} from "../interfaces/IZkFeed.sol";
import {IZkOracle} from "../interfaces/IZkOracle.sol";
import {PhasedRoundIds} from "../libraries/PhasedRoundIds.sol";

/// @title MockZkFeed
/// @notice A settable stand-in for a ZkFeedProxy in consumers' unit tests, as Chainlink's
///         MockV3Aggregator is for its feeds: no proofs, but the proxy's read semantics.
///         `startedAt` and `updatedAt` are the observation time set with the answer; reads
///         revert with the errors the real oracle and proxy revert with (halted feed, no or
///         unknown round, stale answer, partly proven round), so consumers test their handling
///         of exactly what they will meet. Anyone may set anything: it is for tests only.
contract MockZkFeed is IZkFeed {
    struct MockRound {
        int256 answer;
        uint64 observedAt;
        uint16 provenSlices;
        uint16 totalSlices;
    }

    /// @notice The proxy's read semantics this mock follows (ZkFeedProxy.VERSION).
    uint256 public constant VERSION = 2;
    /// @dev Rounds all belong to the first phase, as on a feed that was never rotated.
    uint16 private constant PHASE = 1;

    /// @notice The feed id that read errors carry, as a proxy's `i_feedId`.
    bytes32 public immutable i_feedId;
    /// @inheritdoc IZkFeed
    bool public immutable i_acceptsPartialCoverage;
    uint8 private immutable i_decimals;

    mapping(uint80 roundId => MockRound) private s_rounds;
    uint80 private s_latestRoundId;
    uint16 private s_provenSlices = 1;
    uint16 private s_totalSlices = 1;
    /// @notice Whether every read reverts with ZkOracleFeedHalted, as on a halted feed.
    bool public s_halted;

    error MockZkFeedObservationFromFuture(uint256 observedAt, uint256 blockTime);
    error MockZkFeedObservationNotNewer(uint256 observedAt, uint256 latestObservedAt);
    error MockZkFeedInvalidCoverage(uint16 provenSlices, uint16 totalSlices);

    /// @param feedId The feed id the read errors carry (a real feed's is keccak256 of its name).
    /// @param feedDecimals The answer's decimals.
    /// @param acceptsPartialCoverage Whether partly proven rounds are served, as the proxy's flag.
    constructor(bytes32 feedId, uint8 feedDecimals, bool acceptsPartialCoverage) {
        i_feedId = feedId;
        i_decimals = feedDecimals;
        i_acceptsPartialCoverage = acceptsPartialCoverage;
    }

    /// @notice Posts a round, as a proven submission would: its observation must be no later
    ///         than now and later than the latest round's, which the real oracle enforces too.
    /// @param answer The answer.
    /// @param observedAt The observation time the round reports as `startedAt` and `updatedAt`.
    /// @return roundId The new round's id (phase 1, so the first is `1 << 64 | 1`).
    function updateAnswer(int256 answer, uint256 observedAt) external returns (uint80 roundId) {
        if (observedAt > block.timestamp) revert MockZkFeedObservationFromFuture(observedAt, block.timestamp);
        uint256 latestObservedAt = s_rounds[s_latestRoundId].observedAt;
        if (s_latestRoundId != 0 && observedAt <= latestObservedAt) {
            revert MockZkFeedObservationNotNewer(observedAt, latestObservedAt);
        }
        roundId = PhasedRoundIds.next(s_latestRoundId, PHASE);
        s_rounds[roundId] = MockRound(answer, uint64(observedAt), s_provenSlices, s_totalSlices);
        s_latestRoundId = roundId;
    }

    /// @notice Sets the coverage of the rounds posted from now on (a real feed's coverage is
    ///         its model's: whole, 1 of 1, unless sliced with some slices not proven).
    /// @param provenSlices The slices proven; at most `totalSlices`.
    /// @param totalSlices The model's slices; at least 1.
    function setCoverage(uint16 provenSlices, uint16 totalSlices) external {
        if (totalSlices == 0 || provenSlices > totalSlices) {
            revert MockZkFeedInvalidCoverage(provenSlices, totalSlices);
        }
        (s_provenSlices, s_totalSlices) = (provenSlices, totalSlices);
    }

    /// @notice Halts or resumes the feed: while halted, every read of rounds reverts.
    /// @param halted Whether the feed is halted.
    function setHalted(bool halted) external {
        s_halted = halted;
    }

    /// @notice Decimals of the answer.
    /// @return The decimals given at deployment.
    function decimals() external view returns (uint8) {
        return i_decimals;
    }

    /// @notice What the feed reports.
    /// @return A fixed description.
    function description() external pure returns (string memory) {
        return "MockZkFeed";
    }

    /// @notice The proxy version whose semantics this mock follows.
    /// @return VERSION.
    function version() external pure returns (uint256) {
        return VERSION;
    }

    /// @notice A round by id, as ZkFeedProxy.getRoundData.
    /// @param _roundId The round id.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt The observation time.
    /// @return answeredInRound Equal to roundId.
    function getRoundData(uint80 _roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        _requireReadable();
        // A posted round has at least one slice.
        if (s_rounds[_roundId].totalSlices == 0) revert IZkOracle.ZkOracleUnknownRound(i_feedId, _roundId);
        return _roundData(_roundId);
    }

    /// @notice The latest round, as ZkFeedProxy.latestRoundData.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt The observation time.
    /// @return answeredInRound Equal to roundId.
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return _roundData(_latestRoundId());
    }

    /// @inheritdoc IZkFeed
    function latestRoundDataNoOlderThan(uint256 maxAge)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        roundId = _latestRoundId();
        uint256 observedAt = s_rounds[roundId].observedAt;
        // The oracle checks the age before the proxy checks the coverage.
        if (block.timestamp - observedAt > maxAge) revert IZkOracle.ZkOracleStaleAnswer(i_feedId, observedAt, maxAge);
        (roundId, answer, startedAt, updatedAt, answeredInRound) = _roundData(roundId);
    }

    function _requireReadable() internal view {
        if (s_halted) revert IZkOracle.ZkOracleFeedHalted(i_feedId);
    }

    function _latestRoundId() internal view returns (uint80 roundId) {
        _requireReadable();
        roundId = s_latestRoundId;
        if (roundId == 0) revert IZkOracle.ZkOracleNoRounds(i_feedId);
    }

    function _roundData(uint80 roundId) internal view returns (uint80, int256, uint256, uint256, uint80) {
        MockRound storage round = s_rounds[roundId];
        if (!i_acceptsPartialCoverage && round.provenSlices != round.totalSlices) {
            revert ZkFeedProxy.ZkFeedProxyPartialCoverage(roundId, round.provenSlices, round.totalSlices);
        }
        return (roundId, round.answer, round.observedAt, round.observedAt, roundId);
    }
}
