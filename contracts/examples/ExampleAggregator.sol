// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title ExampleAggregator
/// @notice An owner-set price feed behind Chainlink's AggregatorV3Interface, with its round
///         history: a stand-in for a Chainlink aggregator in examples and tests, and an
///         `Aggregator` on-chain input of a ZkOracle feed (read at the round a proof names).
contract ExampleAggregator is AggregatorV3Interface {
    error ExampleAggregatorNotOwner(address caller);
    error ExampleAggregatorUnknownRound(uint80 roundId);
    error ExampleAggregatorNoRounds();

    /// @notice Emitted for every new round.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    struct Round {
        int256 answer;
        uint256 updatedAt;
    }

    address private immutable i_owner;
    uint8 private immutable i_decimals;
    string private s_description;
    uint80 private s_latestRoundId;
    mapping(uint80 roundId => Round) private s_rounds;

    /// @param feedDecimals Decimals of the answers.
    /// @param feedDescription What the feed reports, e.g. "ETH / USD".
    /// @param initial The first round's answer, stored now as round 1.
    constructor(uint8 feedDecimals, string memory feedDescription, int256 initial) {
        i_owner = msg.sender;
        i_decimals = feedDecimals;
        s_description = feedDescription;
        _newRound(initial, block.timestamp);
    }

    /// @notice Starts a new round with `answer`, updated now. Only the deployer may call it.
    /// @param answer The new answer, with the feed's decimals.
    /// @return roundId The new round's id.
    function setAnswer(int256 answer) external returns (uint80 roundId) {
        return setAnswerAt(answer, block.timestamp);
    }

    /// @notice Starts a new round with `answer`, reported as updated at `updatedAt` (an
    ///         older time stands for a stale source). Only the deployer may call it.
    /// @param answer The new answer, with the feed's decimals.
    /// @param updatedAt The time the round reports.
    /// @return roundId The new round's id.
    function setAnswerAt(int256 answer, uint256 updatedAt) public returns (uint80 roundId) {
        if (msg.sender != i_owner) revert ExampleAggregatorNotOwner(msg.sender);
        return _newRound(answer, updatedAt);
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return i_decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return s_description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Reverts with ExampleAggregatorUnknownRound for a round never stored.
    function getRoundData(uint80 _roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        if (_roundId == 0 || _roundId > s_latestRoundId) revert ExampleAggregatorUnknownRound(_roundId);
        return _roundData(_roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        if (s_latestRoundId == 0) revert ExampleAggregatorNoRounds();
        return _roundData(s_latestRoundId);
    }

    /// @notice The latest round's id.
    /// @return The id (rounds count from 1).
    function latestRound() external view returns (uint80) {
        return s_latestRoundId;
    }

    function _newRound(int256 answer, uint256 updatedAt) internal returns (uint80 roundId) {
        roundId = s_latestRoundId + 1;
        s_latestRoundId = roundId;
        s_rounds[roundId] = Round({answer: answer, updatedAt: updatedAt});
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    function _roundData(uint80 roundId) internal view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage round = s_rounds[roundId];
        return (roundId, round.answer, round.updatedAt, round.updatedAt, roundId);
    }
}
