// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IZkOracle} from "./interfaces/IZkOracle.sol";

/// @title ZkOracle
/// @notice Stores a model feed's rounds only when a zero-knowledge proof of the model's
///         inference verifies in the same transaction. The answer is derived here from
///         the verified public instances; a submitter never supplies the value.
contract ZkOracle is IZkOracle {
    /// @dev The BN254 scalar field modulus: EZKL's instances are elements of this field,
    ///      and negative fixed-point values are encoded as FIELD_MODULUS - |x|.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint8 internal constant MAX_DECIMALS = 36;
    uint8 internal constant MAX_SCALE = 64;

    address private s_owner;
    mapping(bytes32 feedId => FeedConfig) private s_feeds;
    mapping(bytes32 feedId => mapping(address submitter => bool)) private s_submitters;
    mapping(bytes32 feedId => uint80) private s_latestRoundId;
    mapping(bytes32 feedId => mapping(uint80 roundId => Round)) private s_rounds;
    mapping(bytes32 proofHash => bool) private s_usedProofs;

    modifier onlyOwner() {
        if (msg.sender != s_owner) revert ZkOracleNotOwner(msg.sender);
        _;
    }

    constructor() {
        _transferOwnership(msg.sender);
    }

    /// @notice The account allowed to register feeds and manage submitters.
    /// @return The owner.
    function owner() external view returns (address) {
        return s_owner;
    }

    /// @notice Hands ownership to `newOwner`. Only the owner may call it.
    /// @param newOwner The new owner; must not be the zero address.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZkOracleZeroAddress();
        _transferOwnership(newOwner);
    }

    /// @inheritdoc IZkOracle
    function registerFeed(bytes32 feedId, FeedConfig calldata config) external onlyOwner {
        if (s_feeds[feedId].verifier != address(0)) revert ZkOracleFeedAlreadyRegistered(feedId);
        if (config.verifier == address(0)) revert ZkOracleZeroAddress();
        if (config.outputIndex >= config.instanceCount) {
            revert ZkOracleOutputIndexOutOfRange(feedId, config.outputIndex, config.instanceCount);
        }
        if (config.scale > MAX_SCALE || config.decimals > MAX_DECIMALS) {
            revert ZkOracleUnsupportedScale(feedId, config.scale, config.decimals);
        }
        s_feeds[feedId] = config;
        emit FeedRegistered(feedId, config.verifier, config.modelCommitment, config.decimals, config.description);
    }

    /// @inheritdoc IZkOracle
    function setSubmitter(bytes32 feedId, address submitter, bool allowed) external onlyOwner {
        _requireFeed(feedId);
        s_submitters[feedId][submitter] = allowed;
        emit SubmitterUpdated(feedId, submitter, allowed);
    }

    /// @inheritdoc IZkOracle
    function submit(bytes32 feedId, bytes calldata proof, uint256[] calldata instances)
        external
        returns (uint80 roundId)
    {
        FeedConfig storage feed = _requireFeed(feedId);
        if (!s_submitters[feedId][msg.sender]) revert ZkOracleUnauthorizedSubmitter(feedId, msg.sender);
        if (instances.length != feed.instanceCount) {
            revert ZkOracleInstanceCountMismatch(feedId, feed.instanceCount, instances.length);
        }
        bytes32 proofHash = keccak256(proof);
        if (s_usedProofs[proofHash]) revert ZkOracleProofReplayed(feedId, proofHash);

        // The generated verifier reverts on a bad proof; fold both failure modes into one error.
        try IHalo2Verifier(feed.verifier).verifyProof(proof, instances) returns (bool valid) {
            if (!valid) revert ZkOracleInvalidProof(feedId);
        } catch {
            revert ZkOracleInvalidProof(feedId);
        }

        int256 answer = _deriveAnswer(feedId, instances[feed.outputIndex], feed.scale, feed.decimals);
        s_usedProofs[proofHash] = true;
        roundId = s_latestRoundId[feedId] + 1;
        s_latestRoundId[feedId] = roundId;
        s_rounds[feedId][roundId] = Round({
            answer: answer,
            startedAt: uint64(block.timestamp), // no observation time is proven yet
            updatedAt: uint64(block.timestamp),
            instancesHash: keccak256(abi.encode(instances)),
            submitter: msg.sender
        });
        emit RoundSubmitted(feedId, roundId, answer, msg.sender, instances);
    }

    /// @inheritdoc IZkOracle
    function getFeed(bytes32 feedId) external view returns (FeedConfig memory) {
        return _requireFeed(feedId);
    }

    /// @inheritdoc IZkOracle
    function isSubmitter(bytes32 feedId, address submitter) external view returns (bool) {
        return s_submitters[feedId][submitter];
    }

    /// @inheritdoc IZkOracle
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _requireFeed(feedId);
        roundId = s_latestRoundId[feedId];
        if (roundId == 0) revert ZkOracleNoRounds(feedId);
        return _roundData(feedId, roundId);
    }

    /// @inheritdoc IZkOracle
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _requireRound(feedId, roundId);
        return _roundData(feedId, roundId);
    }

    /// @inheritdoc IZkOracle
    function getRound(bytes32 feedId, uint80 roundId) external view returns (Round memory) {
        _requireRound(feedId, roundId);
        return s_rounds[feedId][roundId];
    }

    /// @inheritdoc IZkOracle
    function latestRoundId(bytes32 feedId) external view returns (uint80) {
        _requireFeed(feedId);
        return s_latestRoundId[feedId];
    }

    function _transferOwnership(address newOwner) internal {
        address previous = s_owner;
        s_owner = newOwner;
        emit OwnershipTransferred(previous, newOwner);
    }

    function _requireFeed(bytes32 feedId) internal view returns (FeedConfig storage feed) {
        feed = s_feeds[feedId];
        if (feed.verifier == address(0)) revert ZkOracleUnknownFeed(feedId);
    }

    function _requireRound(bytes32 feedId, uint80 roundId) internal view {
        _requireFeed(feedId);
        if (roundId == 0 || roundId > s_latestRoundId[feedId]) revert ZkOracleUnknownRound(feedId, roundId);
    }

    function _roundData(bytes32 feedId, uint80 roundId)
        internal
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round storage round = s_rounds[feedId][roundId];
        return (roundId, round.answer, round.startedAt, round.updatedAt, roundId);
    }

    /// @dev Field element -> signed fixed-point integer -> decimal fixed point, rounded
    ///      half away from zero.
    function _deriveAnswer(bytes32 feedId, uint256 instance, uint8 scale, uint8 decimals)
        internal
        pure
        returns (int256)
    {
        if (instance >= FIELD_MODULUS) revert ZkOracleInstanceNotInField(feedId, instance);
        int256 fieldValue = instance > FIELD_MODULUS / 2 ? -int256(FIELD_MODULUS - instance) : int256(instance);
        int256 multiplier = int256(10 ** uint256(decimals));
        if (fieldValue > type(int256).max / multiplier || fieldValue < type(int256).min / multiplier) {
            revert ZkOracleAnswerOverflow(feedId, fieldValue);
        }
        int256 numerator = fieldValue * multiplier;
        int256 denominator = int256(1 << scale);
        // Round from the remainder rather than by adding half first, which could overflow.
        int256 quotient = numerator / denominator;
        int256 remainder = numerator % denominator;
        if (remainder >= 0 ? 2 * remainder >= denominator : -2 * remainder >= denominator) {
            quotient += numerator >= 0 ? int256(1) : int256(-1);
        }
        return quotient;
    }
}
