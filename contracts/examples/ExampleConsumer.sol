// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IZkOracle} from "../interfaces/IZkOracle.sol";

/// @title ExampleConsumer
/// @notice A minimal contract that reads a proven feed, as a DeFi protocol would.
contract ExampleConsumer {
    error ExampleConsumerStaleAnswer(bytes32 feedId, uint256 updatedAt, uint256 maxAge);
    error ExampleConsumerPartialCoverage(bytes32 feedId, uint80 roundId, uint16 provenSlices, uint16 totalSlices);

    IZkOracle public immutable i_oracle;
    bytes32 public immutable i_feedId;

    event AnswerRecorded(bytes32 indexed feedId, uint80 indexed roundId, int256 answer);

    int256 public s_lastAnswer;
    uint80 public s_lastRoundId;

    /// @param oracle The ZkOracle holding the feed.
    /// @param feedId The feed to read.
    constructor(IZkOracle oracle, bytes32 feedId) {
        i_oracle = oracle;
        i_feedId = feedId;
    }

    /// @notice The feed's latest answer and when it was observed.
    /// @return answer The answer, with the feed's decimals.
    /// @return decimals The feed's decimals.
    /// @return roundId The round it came from.
    /// @return updatedAt The proven observation time of its inputs (not when it was stored).
    function readLatest() external view returns (int256 answer, uint8 decimals, uint80 roundId, uint256 updatedAt) {
        (roundId, answer,, updatedAt,) = i_oracle.latestRoundData(i_feedId);
        decimals = i_oracle.getFeedParams(i_feedId).decimals;
    }

    /// @notice The feed's latest answer, only if its proofs covered the whole model: a feed
    ///         proven as slices may leave some unproven (targeted verification), and a
    ///         consumer that needs the whole inference proven refuses such rounds.
    /// @return answer The answer, with the feed's decimals.
    /// @return roundId The round it came from.
    function readFullyProven() external view returns (int256 answer, uint80 roundId) {
        (roundId, answer,,,) = i_oracle.latestRoundData(i_feedId);
        (uint16 proven, uint16 total) = i_oracle.getCoverage(i_feedId, roundId);
        if (proven != total) revert ExampleConsumerPartialCoverage(i_feedId, roundId, proven, total);
    }

    /// @notice Reads the latest answer, refusing one observed more than `maxAge` ago, and keeps it.
    /// @param maxAge The oldest acceptable observation, in seconds.
    /// @return answer The recorded answer.
    function record(uint256 maxAge) external returns (int256 answer) {
        (uint80 roundId, int256 latest,, uint256 updatedAt,) = i_oracle.latestRoundData(i_feedId);
        if (block.timestamp - updatedAt > maxAge) revert ExampleConsumerStaleAnswer(i_feedId, updatedAt, maxAge);
        s_lastAnswer = latest;
        s_lastRoundId = roundId;
        emit AnswerRecorded(i_feedId, roundId, latest);
        return latest;
    }
}
