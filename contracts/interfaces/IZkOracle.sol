// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IZkOracle
/// @notice A registry of model feeds whose rounds are accepted only with a valid
///         zero-knowledge proof of the model's inference, verified in the same transaction.
/// @dev Round ids follow Chainlink's proxies: `(phaseId << 64) | roundInPhase`. A rotation
///      of a feed's circuit starts a new phase, so ids keep increasing and old rounds
///      stay readable.
interface IZkOracle {
    /// @notice What a feed promises its consumers; fixed at registration except heartbeat.
    /// @param decimals Decimals of the answer.
    /// @param heartbeat Seconds within which a fresh round is expected; 0 for none.
    /// @param maxObservationAge How old a proven observation time may be when submitted (seconds).
    /// @param permissionless Whether anyone may submit (requires a proven observation time).
    /// @param description Human-readable description, e.g. "ETH / USD forecast".
    struct FeedParams {
        uint8 decimals;
        uint32 heartbeat;
        uint32 maxObservationAge;
        bool permissionless;
        string description;
    }

    /// @notice An input the contract reads itself in `submit` and requires among the instances.
    /// @param target Contract with a view function returning one int256.
    /// @param selector The view function's selector.
    /// @param decimals Decimals of the returned value.
    /// @param instanceIndex Which public instance must equal the value quantised at the input scale.
    struct OnchainInput {
        address target;
        bytes4 selector;
        uint8 decimals;
        uint32 instanceIndex;
    }

    /// @notice One slice after the first of a model proven as slices (DSperse style).
    /// @param verifier The slice circuit's verifier; address(0) for a slice that is run but not
    ///        proven (targeted verification).
    /// @param instanceCount Public instances of the slice's proof: its input commitment first,
    ///        then its output commitment (a middle slice) or the model's public outputs (the last
    ///        slice); 0 for a slice not proven.
    struct SliceConfig {
        address verifier;
        uint32 instanceCount;
    }

    /// @notice How one phase's proofs are checked and the answer derived from them.
    /// @dev For a sliced model, `verifier`, `instanceCount`, `inputCount`, `inputScale`,
    ///      `observedAtIndex` and `onchainInputs` describe the first slice (its instances are
    ///      the model inputs, then the commitment of its output), while `outputIndex` and
    ///      `outputScale` index the last slice's instances. The first and last slices are
    ///      always proven; consecutive proven slices are linked by their commitments.
    /// @param verifier The EZKL-generated verifier of the circuit (of the first slice when sliced).
    /// @param modelCommitment sha256 over the digests of the ONNX model, circuit settings and vk.
    /// @param instanceCount Public instances per proof (inputs first, then outputs).
    /// @param inputCount How many leading instances are model inputs.
    /// @param outputIndex Index of the answer among the instances (the last slice's when sliced).
    /// @param inputScale Fixed-point scale of the inputs: instance = round(value * 2**inputScale).
    /// @param outputScale Fixed-point scale of the answer instance (of the last slice when sliced).
    /// @param bindsObservedAt Whether the inputs carry the observation time.
    /// @param observedAtIndex First of the OBSERVED_AT_LIMBS instances holding the observation time.
    /// @param onchainInputs Inputs read on-chain during `submit`.
    /// @param slices The slices after the first of a sliced model, in order; empty for a
    ///        whole-model circuit.
    struct CircuitConfig {
        address verifier;
        bytes32 modelCommitment;
        uint32 instanceCount;
        uint32 inputCount;
        uint32 outputIndex;
        uint8 inputScale;
        uint8 outputScale;
        bool bindsObservedAt;
        uint32 observedAtIndex;
        OnchainInput[] onchainInputs;
        SliceConfig[] slices;
    }

    /// @notice One accepted round and what was proven for it.
    /// @param answer Derived from the verified output instance, with the feed's decimals.
    /// @param observedAt The proven observation time, or the block time when the feed proves none.
    /// @param updatedAt The block time the round was stored.
    /// @param modelCommitment The commitment of the circuit that proved it.
    /// @param inputsHash keccak256 of the packed input instances (all instances are in the event).
    /// @param submitter The account that posted it.
    struct Round {
        int256 answer;
        uint64 observedAt;
        uint64 updatedAt;
        bytes32 modelCommitment;
        bytes32 inputsHash;
        address submitter;
    }

    error ZkOracleZeroAdmin();
    error ZkOracleZeroVerifier(bytes32 feedId);
    error ZkOracleFeedAlreadyRegistered(bytes32 feedId);
    error ZkOracleUnknownFeed(bytes32 feedId);
    error ZkOracleFeedPaused(bytes32 feedId);
    /// @dev The answer must be one of the instances [lowest, instanceCount): an output, not an
    ///      input (nor, for a sliced model, the last slice's input commitment).
    error ZkOracleOutputIndexOutOfRange(bytes32 feedId, uint32 outputIndex, uint32 lowest, uint32 instanceCount);
    error ZkOracleObservedAtIndexOutOfRange(bytes32 feedId, uint32 observedAtIndex, uint32 inputCount);
    error ZkOracleUnsupportedScale(bytes32 feedId, uint8 scale);
    error ZkOracleUnsupportedDecimals(bytes32 feedId, uint8 decimals);
    error ZkOracleFreshnessRequired(bytes32 feedId);
    error ZkOracleUnauthorizedSubmitter(bytes32 feedId, address submitter);
    error ZkOracleInstanceCountMismatch(bytes32 feedId, uint256 expected, uint256 actual);
    error ZkOracleInvalidProof(bytes32 feedId);
    error ZkOracleProofReplayed(bytes32 feedId, bytes32 proofHash);
    error ZkOracleObservationFromFuture(bytes32 feedId, uint256 observedAt, uint256 blockTime);
    error ZkOracleObservationTooOld(bytes32 feedId, uint256 observedAt, uint256 oldestAccepted);
    error ZkOracleStaleRound(bytes32 feedId, uint256 observedAt, uint256 latestObservedAt);
    error ZkOracleOnchainInputIndexOutOfRange(bytes32 feedId, uint32 instanceIndex, uint32 inputCount);
    error ZkOracleOnchainInputZeroTarget(bytes32 feedId, uint32 instanceIndex);
    error ZkOracleOnchainInputUnsupportedDecimals(bytes32 feedId, uint32 instanceIndex, uint8 decimals);
    error ZkOracleOnchainInputUnavailable(bytes32 feedId, address target, bytes4 selector);
    /// @dev Also for a value too large to scale at all: no proof could carry it exactly.
    error ZkOracleOnchainInputOutOfRange(bytes32 feedId, uint32 instanceIndex, int256 value);
    error ZkOracleOnchainInputMismatch(bytes32 feedId, uint32 instanceIndex, uint256 expected, uint256 actual);
    error ZkOracleNoRounds(bytes32 feedId);
    error ZkOracleUnknownRound(bytes32 feedId, uint80 roundId);
    error ZkOracleUnknownPhase(bytes32 feedId, uint16 phaseId);
    error ZkOraclePhasesExhausted(bytes32 feedId);
    error ZkOracleStaleAnswer(bytes32 feedId, uint256 updatedAt, uint256 maxAge);
    error ZkOracleTooManySlices(bytes32 feedId, uint256 count, uint256 maxCount);
    error ZkOracleSliceUnproven(bytes32 feedId, uint256 slice);
    error ZkOracleSliceInstanceCountInvalid(bytes32 feedId, uint256 slice, uint32 instanceCount);
    error ZkOracleSliceCountMismatch(bytes32 feedId, uint256 expected, uint256 actual);
    error ZkOracleSliceInstanceCountMismatch(bytes32 feedId, uint256 slice, uint256 expected, uint256 actual);
    error ZkOracleProofForUnprovenSlice(bytes32 feedId, uint256 slice);
    error ZkOracleInvalidSliceProof(bytes32 feedId, uint256 slice);
    error ZkOracleSliceLinkBroken(bytes32 feedId, uint256 slice, uint256 previousOutput, uint256 input);

    event FeedRegistered(bytes32 indexed feedId, uint8 decimals, bool permissionless, string description);
    event FeedRotated(
        bytes32 indexed feedId, uint16 indexed phaseId, address indexed verifier, bytes32 modelCommitment
    );
    event FeedPausedSet(bytes32 indexed feedId, bool paused);
    event HeartbeatSet(bytes32 indexed feedId, uint32 heartbeat);
    event SubmitterUpdated(bytes32 indexed feedId, address indexed submitter, bool allowed);
    event RoundSubmitted(
        bytes32 indexed feedId,
        uint80 indexed roundId,
        address indexed submitter,
        int256 answer,
        uint256 observedAt,
        uint256[] instances
    );

    /// @notice Registers a feed and its first circuit (phase 1). Operator only.
    /// @param feedId The feed's identifier (keccak256 of its string id).
    /// @param params What the feed promises its consumers.
    /// @param circuit How its proofs are checked.
    function registerFeed(bytes32 feedId, FeedParams calldata params, CircuitConfig calldata circuit) external;

    /// @notice Replaces the feed's circuit (model, verifier); starts a new phase. Operator only.
    /// @param feedId The feed.
    /// @param circuit The new circuit.
    /// @return phaseId The new phase.
    function rotateFeed(bytes32 feedId, CircuitConfig calldata circuit) external returns (uint16 phaseId);

    /// @notice Pauses or resumes submissions to a feed; reads keep working. Operator only.
    /// @param feedId The feed.
    /// @param paused Whether submissions are refused.
    function setPaused(bytes32 feedId, bool paused) external;

    /// @notice Changes the feed's heartbeat. Operator only.
    /// @param feedId The feed.
    /// @param heartbeat Seconds; 0 for none.
    function setHeartbeat(bytes32 feedId, uint32 heartbeat) external;

    /// @notice Allows or disallows `submitter` on an allow-listed feed. Operator only.
    /// @param feedId The feed.
    /// @param submitter The account.
    /// @param allowed Whether it may submit.
    function setSubmitter(bytes32 feedId, address submitter, bool allowed) external;

    /// @notice Verifies `proof`, checks freshness and on-chain inputs, and stores the answer
    ///         derived from `instances`. Reverts with ZkOracleSliceCountMismatch on a sliced
    ///         feed, which takes `submitSlices`.
    /// @dev Instances that do not decode revert with EzklInstances' errors, naming the value:
    ///      a malformed time limb (EzklInstancesMalformedTimeLimb), an answer outside the field
    ///      (EzklInstancesNotInField) or beyond int256 at the feed's decimals
    ///      (EzklInstancesDecimalsOverflow). `submitSlices` likewise.
    /// @param feedId The feed.
    /// @param proof The proof of `outputs = model(inputs)` for the feed's current circuit.
    /// @param instances The public instances the proof was made for.
    /// @return roundId The stored round's id.
    function submit(bytes32 feedId, bytes calldata proof, uint256[] calldata instances)
        external
        returns (uint80 roundId);

    /// @notice Verifies one proof per proven slice of the feed's sliced model, checks that
    ///         consecutive proven slices are linked (each one's input commitment equals the
    ///         previous one's output commitment), checks freshness and on-chain inputs on the
    ///         first slice, and stores the answer derived from the last slice's instances.
    ///         On a whole-model feed, one proof works like `submit` (its errors name slice 0).
    /// @dev The stored inputsHash and the RoundSubmitted event's instances are the first
    ///      slice's (the model inputs, then its output commitment); the other slices'
    ///      instances are in the transaction's calldata.
    /// @param feedId The feed.
    /// @param proofs One proof per slice, in order; empty for a slice not proven.
    /// @param instances Each slice's public instances, in order; empty for a slice not proven.
    /// @return roundId The stored round's id.
    function submitSlices(bytes32 feedId, bytes[] calldata proofs, uint256[][] calldata instances)
        external
        returns (uint80 roundId);

    /// @notice The feed's consumer-facing parameters; reverts for an unknown feed.
    /// @param feedId The feed.
    /// @return The parameters.
    function getFeedParams(bytes32 feedId) external view returns (FeedParams memory);

    /// @notice The feed's current phase and its circuit; reverts for an unknown feed.
    /// @param feedId The feed.
    /// @return phaseId The current phase.
    /// @return circuit Its circuit.
    function getCircuit(bytes32 feedId) external view returns (uint16 phaseId, CircuitConfig memory circuit);

    /// @notice A phase's circuit, current or past; reverts for an unknown feed or phase.
    /// @param feedId The feed.
    /// @param phaseId The phase.
    /// @return The circuit.
    function getPhaseCircuit(bytes32 feedId, uint16 phaseId) external view returns (CircuitConfig memory);

    /// @notice Whether submissions to the feed are paused.
    /// @param feedId The feed.
    /// @return True when paused.
    function isPaused(bytes32 feedId) external view returns (bool);

    /// @notice Whether `submitter` may submit to the feed (always true when permissionless).
    /// @param feedId The feed.
    /// @param submitter The account.
    /// @return True when allowed.
    function isSubmitter(bytes32 feedId, address submitter) external view returns (bool);

    /// @notice The latest round, in Chainlink's AggregatorV3 shape; startedAt is the observation time.
    /// @param feedId The feed.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt When it was stored.
    /// @return answeredInRound Equal to roundId.
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Like latestRoundData, but reverts with ZkOracleStaleAnswer when older than `maxAge`.
    /// @param feedId The feed.
    /// @param maxAge The oldest acceptable answer, in seconds since it was stored.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt When it was stored.
    /// @return answeredInRound Equal to roundId.
    function latestRoundDataNoOlderThan(bytes32 feedId, uint256 maxAge)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice A given round, in Chainlink's AggregatorV3 shape; reverts for an unknown round.
    /// @param feedId The feed.
    /// @param roundId The round id.
    /// @return roundId_ The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt When it was stored.
    /// @return answeredInRound Equal to roundId.
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice The full record of a round, including what was proven.
    /// @param feedId The feed.
    /// @param roundId The round id.
    /// @return The round; reverts for an unknown round.
    function getRound(bytes32 feedId, uint80 roundId) external view returns (Round memory);

    /// @notice How much of the model the proofs of a round covered: the proven slices and all
    ///         slices of the circuit of the round's phase; (1, 1) for a whole-model circuit.
    ///         A consumer that requires the whole inference proven requires them equal.
    /// @param feedId The feed.
    /// @param roundId The round id; reverts for an unknown round.
    /// @return provenSlices Slices whose proofs were verified.
    /// @return totalSlices Slices of the model.
    function getCoverage(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint16 provenSlices, uint16 totalSlices);

    /// @notice The latest round id, 0 before the first round.
    /// @param feedId The feed.
    /// @return The id.
    function latestRoundId(bytes32 feedId) external view returns (uint80);
}
