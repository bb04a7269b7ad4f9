// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IZkFeed} from "./interfaces/IZkFeed.sol";
import {IZkOracle} from "./interfaces/IZkOracle.sol";

/// @title ZkFeedProxy
/// @notice One feed of a ZkOracle behind Chainlink's AggregatorV3Interface, so an existing
///         Chainlink consumer switches to a proven feed by changing only the address it reads.
contract ZkFeedProxy is IZkFeed {
    /// @dev Bumped when the read semantics change: 2 reports the observation time as updatedAt
    ///      and refuses partly proven rounds unless deployed to accept them.
    uint256 public constant VERSION = 2;

    IZkOracle public immutable i_oracle;
    bytes32 public immutable i_feedId;
    /// @notice Whether this proxy serves rounds whose model was only partly proven (a sliced
    ///         model with slices run but not proven); when false, such a round reverts.
    bool public immutable i_acceptsPartialCoverage;

    error ZkFeedProxyOracleNotAContract(address oracle);
    error ZkFeedProxyPartialCoverage(uint80 roundId, uint16 provenSlices, uint16 totalSlices);

    /// @param oracle The ZkOracle holding the feed.
    /// @param feedId The feed.
    /// @param acceptsPartialCoverage Whether to serve partly proven rounds; a Chainlink-style
    ///        consumer cannot tell them apart, so it should be false unless the consumer checks.
    constructor(IZkOracle oracle, bytes32 feedId, bool acceptsPartialCoverage) {
        // A call to an address without code would revert with no reason at all.
        if (address(oracle).code.length == 0) revert ZkFeedProxyOracleNotAContract(address(oracle));
        oracle.getFeedParams(feedId); // reverts for an unknown feed
        i_oracle = oracle;
        i_feedId = feedId;
        i_acceptsPartialCoverage = acceptsPartialCoverage;
    }

    /// @notice Decimals of the answer.
    /// @return The feed's decimals.
    function decimals() external view returns (uint8) {
        return i_oracle.getFeedParams(i_feedId).decimals;
    }

    /// @notice What the feed reports.
    /// @return The feed's description.
    function description() external view returns (string memory) {
        return i_oracle.getFeedParams(i_feedId).description;
    }

    /// @notice The proxy's version.
    /// @return VERSION.
    function version() external pure returns (uint256) {
        return VERSION;
    }

    /// @notice A round by id; reverts for an unknown round.
    /// @param _roundId The round id (phase in the high bits).
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt The observation time.
    /// @return answeredInRound Equal to roundId.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = i_oracle.getRoundData(i_feedId, _roundId);
        _requireCoverage(roundId);
    }

    /// @notice The latest round; reverts before the first.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt The observation time.
    /// @return answeredInRound Equal to roundId.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = i_oracle.latestRoundData(i_feedId);
        _requireCoverage(roundId);
    }

    /// @inheritdoc IZkFeed
    function latestRoundDataNoOlderThan(uint256 maxAge)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = i_oracle.latestRoundDataNoOlderThan(i_feedId, maxAge);
        _requireCoverage(roundId);
    }

    function _requireCoverage(uint80 roundId) internal view {
        if (i_acceptsPartialCoverage) return;
        (uint16 provenSlices, uint16 totalSlices) = i_oracle.getCoverage(i_feedId, roundId);
        if (provenSlices != totalSlices) revert ZkFeedProxyPartialCoverage(roundId, provenSlices, totalSlices);
    }
}
