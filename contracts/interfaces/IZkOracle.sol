// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IZkOracle
/// @notice A registry of model feeds whose rounds are accepted only with a valid
///         zero-knowledge proof of the model's inference.
interface IZkOracle {
    /// @notice How a feed's proofs are checked and its answer derived.
    /// @param verifier The EZKL-generated verifier of the feed's circuit.
    /// @param modelCommitment Digest of the verifying key, ONNX model and circuit settings.
    /// @param instanceCount Number of public instances a proof of this circuit carries.
    /// @param outputIndex Index of the answer among the public instances.
    /// @param scale Fixed-point scale of the answer instance: value = instance / 2**scale.
    /// @param decimals Decimals of the stored answer.
    /// @param description Human-readable description, e.g. "ETH / USD forecast".
    struct FeedConfig {
        address verifier;
        bytes32 modelCommitment;
        uint32 instanceCount;
        uint32 outputIndex;
        uint8 scale;
        uint8 decimals;
        string description;
    }

    /// @notice One accepted round.
    /// @param answer The value derived from the verified instances, with the feed's decimals.
    /// @param startedAt When the round started; equal to updatedAt until observation times are proven.
    /// @param updatedAt When the round was stored (block timestamp).
    /// @param instancesHash keccak256 of the ABI-encoded public instances.
    /// @param submitter The account that posted the round.
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
        bytes32 instancesHash;
        address submitter;
    }

    error ZkOracleNotOwner(address caller);
    error ZkOracleZeroAddress();
    error ZkOracleFeedAlreadyRegistered(bytes32 feedId);
    error ZkOracleUnknownFeed(bytes32 feedId);
    error ZkOracleOutputIndexOutOfRange(bytes32 feedId, uint32 outputIndex, uint32 instanceCount);
    error ZkOracleUnsupportedScale(bytes32 feedId, uint8 scale, uint8 decimals);
    error ZkOracleUnauthorizedSubmitter(bytes32 feedId, address submitter);
    error ZkOracleInstanceCountMismatch(bytes32 feedId, uint256 expected, uint256 actual);
    error ZkOracleInvalidProof(bytes32 feedId);
    error ZkOracleProofReplayed(bytes32 feedId, bytes32 proofHash);
    error ZkOracleInstanceNotInField(bytes32 feedId, uint256 instance);
    error ZkOracleAnswerOverflow(bytes32 feedId, int256 fieldValue);
    error ZkOracleNoRounds(bytes32 feedId);
    error ZkOracleUnknownRound(bytes32 feedId, uint80 roundId);

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event FeedRegistered(
        bytes32 indexed feedId, address indexed verifier, bytes32 modelCommitment, uint8 decimals, string description
    );
    event SubmitterUpdated(bytes32 indexed feedId, address indexed submitter, bool allowed);
    event RoundSubmitted(
        bytes32 indexed feedId, uint80 indexed roundId, int256 answer, address indexed submitter, uint256[] instances
    );

    /// @notice Registers a new feed. Only the owner may call it.
    /// @param feedId The feed's identifier (keccak256 of its string id).
    /// @param config How the feed's proofs are checked and answers derived.
    function registerFeed(bytes32 feedId, FeedConfig calldata config) external;

    /// @notice Allows or disallows `submitter` to post rounds to `feedId`. Only the owner may call it.
    /// @param feedId The feed.
    /// @param submitter The account.
    /// @param allowed Whether the account may submit.
    function setSubmitter(bytes32 feedId, address submitter, bool allowed) external;

    /// @notice Verifies `proof` with the feed's verifier and stores the answer derived from `instances`.
    /// @param feedId The feed.
    /// @param proof The proof of `outputs = model(inputs)`.
    /// @param instances The public instances the proof was made for.
    /// @return roundId The id of the stored round.
    function submit(bytes32 feedId, bytes calldata proof, uint256[] calldata instances)
        external
        returns (uint80 roundId);

    /// @notice The feed's configuration.
    /// @param feedId The feed.
    /// @return The stored configuration; reverts for an unknown feed.
    function getFeed(bytes32 feedId) external view returns (FeedConfig memory);

    /// @notice Whether `submitter` may post rounds to `feedId`.
    /// @param feedId The feed.
    /// @param submitter The account.
    /// @return True when allowed.
    function isSubmitter(bytes32 feedId, address submitter) external view returns (bool);

    /// @notice The latest round, in Chainlink's AggregatorV3 shape.
    /// @param feedId The feed.
    /// @return roundId The round id.
    /// @return answer The answer, with the feed's decimals.
    /// @return startedAt When the round started (equal to updatedAt for now).
    /// @return updatedAt When the round was stored.
    /// @return answeredInRound Equal to roundId.
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice A given round, in Chainlink's AggregatorV3 shape; reverts for an unknown round.
    /// @param feedId The feed.
    /// @param roundId The round id.
    /// @return roundId_ The round id.
    /// @return answer The answer, with the feed's decimals.
    /// @return startedAt When the round started (equal to updatedAt for now).
    /// @return updatedAt When the round was stored.
    /// @return answeredInRound Equal to roundId.
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice The full record of a round, including what was proven.
    /// @param feedId The feed.
    /// @param roundId The round id.
    /// @return The stored round; reverts for an unknown round.
    function getRound(bytes32 feedId, uint80 roundId) external view returns (Round memory);

    /// @notice The id of the latest round, 0 when none.
    /// @param feedId The feed.
    /// @return The latest round id.
    function latestRoundId(bytes32 feedId) external view returns (uint80);
}
