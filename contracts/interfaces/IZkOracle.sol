// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IZkOracle
/// @notice A registry of model feeds whose rounds are accepted only with a valid
///         zero-knowledge proof of the model's inference, verified in the same transaction.
/// @dev Round ids follow Chainlink's proxies: `(phaseId << 64) | roundInPhase`. A rotation
///      of a feed's circuit starts a new phase, so ids keep increasing and old rounds
///      stay readable.
interface IZkOracle {
    /// @notice Who vouches for a feed's inputs, enforced on every submission.
    /// @dev Operator: the feed's allow-listed submitters (the consumer trusts the operator's data).
    ///      Attested: at least `threshold` of the feed's registered data attesters signed the
    ///      inputs (EIP-712 `Observation`). Onchain: every input other than the observation
    ///      time is a round of an AggregatorV3Interface feed, read and compared in `submit`.
    enum InputPolicy {
        Operator,
        Attested,
        Onchain
    }

    /// @notice How an on-chain input is read.
    /// @dev Getter: a plain view returning one int256, which a transaction can move; allowed
    ///      only under the Operator policy. Aggregator: the round of an AggregatorV3Interface
    ///      feed named in the submission (Chainlink's, or another zkoracle proxy).
    enum OnchainInputKind {
        Getter,
        Aggregator
    }

    /// @notice What a feed promises its consumers; fixed at registration except heartbeat.
    /// @param decimals Decimals of the answer.
    /// @param heartbeat Seconds within which a fresh round is expected; 0 for none.
    /// @param maxObservationAge How old a proven observation time may be when submitted (seconds).
    /// @param inputPolicy Who vouches for the inputs.
    /// @param permissionless Whether anyone may submit (Attested and Onchain feeds only, every
    ///        slice proven).
    /// @param minAnswer The lowest answer stored; a round below it is refused. At least
    ///        type(int192).min: answers are stored as int192.
    /// @param maxAnswer The highest answer stored; a round above it is refused. At most
    ///        type(int192).max; int192's own bounds leave the feed unbounded, and its
    ///        submissions cheaper (they never read the bounds).
    /// @param description Human-readable description, e.g. "ETH / USD forecast".
    /// @param roundsRetained How many of its latest rounds (per phase) the feed keeps readable
    ///        on-chain; 0 keeps every round. A feed keeping N rounds stores them in a ring of N
    ///        slots, so once it has N rounds each new round rewrites a slot (5,000 gas) rather
    ///        than filling a new one (22,100 gas); older rounds stay in the RoundSubmitted events.
    struct FeedParams {
        uint8 decimals;
        uint32 heartbeat;
        uint32 maxObservationAge;
        InputPolicy inputPolicy;
        bool permissionless;
        int256 minAnswer;
        int256 maxAnswer;
        string description;
        uint32 roundsRetained;
    }

    /// @notice An answer of a feed whose model has several outputs (or of a bundle of feeds
    ///         proven together): it has its own id, proxy and round history, and its rounds
    ///         land with its feed's proofs (`submitAnswers`).
    /// @param outputOffset Its instance's distance past the feed's output instance: the
    ///        answer is instance `outputIndex + outputOffset` of the feed's circuit.
    /// @param decimals Decimals of the answer.
    /// @param heartbeat Seconds within which a fresh round is expected; 0 for none.
    /// @param minAnswer The lowest answer stored (at least type(int192).min).
    /// @param maxAnswer The highest answer stored (at most type(int192).max).
    /// @param description Human-readable description, e.g. "BTC / USD score".
    struct AnswerParams {
        uint16 outputOffset;
        uint8 decimals;
        uint32 heartbeat;
        int256 minAnswer;
        int256 maxAnswer;
        string description;
    }

    /// @notice An input the contract reads itself in `submit` and requires among the instances.
    /// @param kind How it is read.
    /// @param target The getter's contract, or the AggregatorV3Interface feed.
    /// @param selector The getter's selector (zero for an aggregator).
    /// @param decimals Decimals of the value read.
    /// @param instanceIndex Which public instance must equal the value quantised at the input scale.
    /// @param maxAge An aggregator round older than this (seconds, by its updatedAt) is refused.
    struct OnchainInput {
        OnchainInputKind kind;
        address target;
        bytes4 selector;
        uint8 decimals;
        uint32 instanceIndex;
        uint32 maxAge;
    }

    /// @notice One slice after the first of a model proven as slices (DSperse style).
    /// @param verifier The slice circuit's verifier; address(0) for a slice that is run but not
    ///        proven (targeted verification).
    /// @param instanceCount Public instances of the slice's proof: none for a middle slice (its
    ///        input and output are committed inside its proof, not as instances) and for a slice
    ///        not proven; the model's public outputs for the last slice.
    struct SliceConfig {
        address verifier;
        uint32 instanceCount;
    }

    /// @notice How one phase's proofs are checked and the answer derived from them.
    /// @dev For a sliced model, `verifier`, `instanceCount`, `inputCount`, `inputScale`,
    ///      `observedAtIndex` and `onchainInputs` describe the first slice (its instances are
    ///      the model inputs; the commitment to its output is inside its proof), while
    ///      `outputIndex` and `outputScale` index the last slice's instances (the model's
    ///      outputs). The first and last slices are always proven; consecutive proven slices are
    ///      linked by the KZG commitments to the tensor between them that their proofs carry.
    ///      Every circuit proves its observation time.
    /// @param verifier The EZKL-generated verifier of the circuit (of the first slice when sliced).
    /// @param modelCommitment sha256 over the digests of the ONNX model, circuit settings and vk.
    /// @param instanceCount Public instances per proof (inputs first, then outputs).
    /// @param inputCount How many leading instances are model inputs.
    /// @param outputIndex Index of the answer among the instances (the last slice's when sliced).
    /// @param inputScale Fixed-point scale of the inputs: instance = round(value * 2**inputScale).
    /// @param outputScale Fixed-point scale of the answer instance (of the last slice when sliced).
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
        uint32 observedAtIndex;
        OnchainInput[] onchainInputs;
        SliceConfig[] slices;
    }

    /// @notice One data attester's EIP-712 signature of a round's `Observation`.
    /// @param signer The registered attester (an EOA, or an EIP-1271 contract).
    /// @param signature Its signature.
    struct Attestation {
        address signer;
        bytes signature;
    }

    /// @notice What the input policy needs besides the proof.
    /// @param attestations Attested feeds: at least the threshold, signers strictly increasing.
    /// @param sourceRounds One round id per on-chain input, in order (0 for a getter).
    struct InputEvidence {
        Attestation[] attestations;
        uint80[] sourceRounds;
    }

    /// @notice One accepted round, as stored (one slot) with its phase's model commitment.
    /// @dev Who submitted it and the hash of its proven inputs are in its RoundSubmitted event,
    ///      the full instances in that transaction's calldata.
    /// @param answer Derived from the verified output instance, with the feed's decimals
    ///        (stored as int192).
    /// @param observedAt The proven observation time.
    /// @param includedAt The block time the round was stored.
    /// @param modelCommitment The commitment of the circuit that proved it.
    struct Round {
        int256 answer;
        uint64 observedAt;
        uint64 includedAt;
        bytes32 modelCommitment;
    }

    error ZkOracleZeroVerifier(bytes32 feedId);
    error ZkOracleNotAContract(bytes32 feedId, address account);
    error ZkOracleFeedAlreadyRegistered(bytes32 feedId);
    error ZkOracleUnknownFeed(bytes32 feedId);
    error ZkOracleFeedPaused(bytes32 feedId);
    error ZkOracleFeedHalted(bytes32 feedId);
    /// @dev The answer must be one of the instances [lowest, instanceCount): an output, not an
    ///      input (for a sliced model, any of the last slice's instances, all outputs).
    error ZkOracleOutputIndexOutOfRange(bytes32 feedId, uint32 outputIndex, uint32 lowest, uint32 instanceCount);
    error ZkOracleObservedAtIndexOutOfRange(bytes32 feedId, uint32 observedAtIndex, uint32 inputCount);
    error ZkOracleUnsupportedScale(bytes32 feedId, uint8 scale);
    error ZkOracleUnsupportedDecimals(bytes32 feedId, uint8 decimals);
    /// @dev The bounds must be ordered and within int192: answers are stored as int192 (as Chainlink's).
    error ZkOracleInvalidAnswerBounds(bytes32 feedId, int256 minAnswer, int256 maxAnswer);
    /// @dev Anyone may relay only where the inputs do not depend on who relays.
    error ZkOraclePermissionlessNeedsAttestedOrOnchain(bytes32 feedId, InputPolicy inputPolicy);
    error ZkOraclePermissionlessNeedsFullCoverage(bytes32 feedId, uint16 provenSlices, uint16 totalSlices);
    error ZkOracleMovableInputNotAllowed(bytes32 feedId, uint32 instanceIndex, InputPolicy inputPolicy);
    error ZkOracleOnchainInputsIncomplete(bytes32 feedId, uint256 onchainInputs, uint256 requiredInputs);
    error ZkOracleOnchainInputIndexTaken(bytes32 feedId, uint32 instanceIndex);
    error ZkOracleUnauthorizedSubmitter(bytes32 feedId, address submitter);
    error ZkOracleInstanceCountMismatch(bytes32 feedId, uint256 expected, uint256 actual);
    error ZkOracleInvalidProof(bytes32 feedId);
    error ZkOracleObservationFromFuture(bytes32 feedId, uint256 observedAt, uint256 blockTime);
    error ZkOracleObservationTooOld(bytes32 feedId, uint256 observedAt, uint256 oldestAccepted);
    error ZkOracleStaleRound(bytes32 feedId, uint256 observedAt, uint256 latestObservedAt);
    error ZkOracleAnswerOutOfBounds(bytes32 feedId, int256 answer, int256 minAnswer, int256 maxAnswer);
    error ZkOracleOnchainInputIndexOutOfRange(bytes32 feedId, uint32 instanceIndex, uint32 inputCount);
    error ZkOracleOnchainInputZeroTarget(bytes32 feedId, uint32 instanceIndex);
    error ZkOracleOnchainInputUnsupportedDecimals(bytes32 feedId, uint32 instanceIndex, uint8 decimals);
    error ZkOracleOnchainInputUnavailable(bytes32 feedId, uint32 instanceIndex, address target);
    error ZkOracleOnchainInputTooOld(bytes32 feedId, uint32 instanceIndex, uint256 updatedAt, uint256 oldestAccepted);
    /// @dev Also for a value too large to scale at all: no proof could carry it exactly.
    error ZkOracleOnchainInputOutOfRange(bytes32 feedId, uint32 instanceIndex, int256 value);
    error ZkOracleOnchainInputMismatch(bytes32 feedId, uint32 instanceIndex, uint256 expected, uint256 actual);
    error ZkOracleSourceRoundCountMismatch(bytes32 feedId, uint256 expected, uint256 actual);
    error ZkOracleWrongInputPolicy(bytes32 feedId, InputPolicy inputPolicy);
    error ZkOracleInvalidAttesters(bytes32 feedId, uint256 attesterCount, uint8 threshold);
    error ZkOracleInvalidAttester(bytes32 feedId, address attester);
    /// @dev Signers must be registered and strictly increasing (so each counts once).
    error ZkOracleAttesterNotAllowed(bytes32 feedId, address signer);
    error ZkOracleInvalidAttestation(bytes32 feedId, address signer);
    error ZkOracleAttestationThresholdNotMet(bytes32 feedId, uint256 valid, uint256 threshold);
    error ZkOracleNoRounds(bytes32 feedId);
    error ZkOracleUnknownRound(bytes32 feedId, uint80 roundId);
    /// @dev The round landed, but the feed keeps only its latest `roundsRetained` rounds of a
    ///      phase readable: its slot now holds a later round.
    error ZkOracleRoundNotRetained(bytes32 feedId, uint80 roundId, uint32 roundsRetained);
    error ZkOracleUnknownPhase(bytes32 feedId, uint16 phaseId);
    error ZkOraclePhasesExhausted(bytes32 feedId);
    error ZkOracleNoPendingRotation(bytes32 feedId);
    error ZkOracleRotationNotReady(bytes32 feedId, uint256 executableAt);
    error ZkOracleStaleAnswer(bytes32 feedId, uint256 observedAt, uint256 maxAge);
    error ZkOracleTooManySlices(bytes32 feedId, uint256 count, uint256 maxCount);
    /// @dev Counts and indices of instances are stored as uint16: `instanceCount` is the first
    ///      (or whole) proof's, or as many as reach the answer's index if more.
    error ZkOracleTooManyInstances(bytes32 feedId, uint256 instanceCount, uint256 maxCount);
    error ZkOracleTooManyOnchainInputs(bytes32 feedId, uint256 count, uint256 maxCount);
    error ZkOracleSliceUnproven(bytes32 feedId, uint256 slice);
    error ZkOracleSliceInstanceCountInvalid(bytes32 feedId, uint256 slice, uint32 instanceCount);
    error ZkOracleSliceCountMismatch(bytes32 feedId, uint256 expected, uint256 actual);
    error ZkOracleSliceInstanceCountMismatch(bytes32 feedId, uint256 slice, uint256 expected, uint256 actual);
    error ZkOracleProofForUnprovenSlice(bytes32 feedId, uint256 slice);
    error ZkOracleInvalidSliceProof(bytes32 feedId, uint256 slice);
    /// @dev The commitment to slice `slice`'s input in its proof (a 64-byte G1 point) is not
    ///      the commitment to the previous slice's output in that one's; each is named by its
    ///      keccak256 (`input`, `previousOutput`), as the contract compares them.
    error ZkOracleSliceLinkBroken(bytes32 feedId, uint256 slice, bytes32 previousOutput, bytes32 input);
    /// @dev `answerId` is not one of `feedId`'s answers.
    error ZkOracleUnknownAnswer(bytes32 feedId, bytes32 answerId);
    /// @dev `answerId` is an answer of `feedId`: it has no circuit or proofs of its own.
    error ZkOracleAnswerOfFeed(bytes32 answerId, bytes32 feedId);
    /// @dev `submitAnswers` was given no answer to store.
    error ZkOracleNoAnswersListed(bytes32 feedId);

    event FeedRegistered(
        bytes32 indexed feedId, uint8 decimals, InputPolicy inputPolicy, bool permissionless, string description
    );
    event AnswerRegistered(
        bytes32 indexed feedId, bytes32 indexed answerId, uint16 outputOffset, uint8 decimals, string description
    );
    event FeedRotated(
        bytes32 indexed feedId, uint16 indexed phaseId, address indexed verifier, bytes32 modelCommitment
    );
    event RotationProposed(
        bytes32 indexed feedId,
        uint16 indexed phaseId,
        address indexed verifier,
        bytes32 modelCommitment,
        uint256 executableAt
    );
    event RotationCancelled(bytes32 indexed feedId, uint16 indexed phaseId);
    event FeedPausedSet(bytes32 indexed feedId, bool paused);
    event FeedHaltedSet(bytes32 indexed feedId, bool halted);
    event HeartbeatSet(bytes32 indexed feedId, uint32 heartbeat);
    event SubmitterUpdated(bytes32 indexed feedId, address indexed submitter, bool allowed);
    event AttestersSet(bytes32 indexed feedId, address[] attesters, uint8 threshold);
    /// @notice A round was stored. With the transaction's calldata (the proof and all its
    ///         instances, which `inputsHash` pins) it is everything needed to check the round again.
    /// @param inputsHash keccak256 of the packed input instances (the first slice's when sliced),
    ///        as attesters sign it.
    event RoundSubmitted(
        bytes32 indexed feedId,
        uint80 indexed roundId,
        address indexed submitter,
        int256 answer,
        uint256 observedAt,
        bytes32 inputsHash
    );

    /// @notice Registers a feed and its first circuit (phase 1). Operator only.
    /// @param feedId The feed's identifier (keccak256 of its string id).
    /// @param params What the feed promises its consumers.
    /// @param circuit How its proofs are checked.
    function registerFeed(bytes32 feedId, FeedParams calldata params, CircuitConfig calldata circuit) external;

    /// @notice Registers an answer of a feed: one of its model's outputs (of the last slice's
    ///         instances when sliced), published under its own id (read like any feed, through
    ///         its own proxy) with its own round history, retaining as many rounds as the feed.
    ///         Its rounds land with the feed's (`submitAnswers`, `submitSliceAnswers`); it has
    ///         no circuit, submitters or rotations of its own, and may be paused or halted on
    ///         its own. Operator only.
    /// @param feedId The feed whose proofs carry the answer (not itself an answer).
    /// @param answerId The answer's identifier, not yet used by any feed or answer.
    /// @param params Where the answer is among the feed's outputs, and what it promises.
    function registerAnswer(bytes32 feedId, bytes32 answerId, AnswerParams calldata params) external;

    /// @notice Proposes a new circuit (model, verifier) for the feed, executable after the
    ///         oracle's rotation delay; replaces a pending proposal. Operator only.
    /// @param feedId The feed.
    /// @param circuit The new circuit, validated now.
    /// @return phaseId The phase it will start.
    /// @return executableAt The earliest time `executeRotation` accepts it.
    function proposeRotation(bytes32 feedId, CircuitConfig calldata circuit)
        external
        returns (uint16 phaseId, uint256 executableAt);

    /// @notice Starts the phase of the pending rotation once its delay has passed. Operator only.
    /// @param feedId The feed.
    /// @return phaseId The new phase.
    function executeRotation(bytes32 feedId) external returns (uint16 phaseId);

    /// @notice Drops the pending rotation. Operator only.
    /// @param feedId The feed.
    function cancelRotation(bytes32 feedId) external;

    /// @notice Pauses or resumes submissions to a feed; reads keep working. Operator only.
    /// @param feedId The feed.
    /// @param paused Whether submissions are refused.
    function setPaused(bytes32 feedId, bool paused) external;

    /// @notice Halts or resumes reads of a feed: while halted, every read of its rounds
    ///         reverts with ZkOracleFeedHalted, so no consumer acts on a bad round. Operator only.
    /// @param feedId The feed.
    /// @param halted Whether reads revert.
    function setHalted(bytes32 feedId, bool halted) external;

    /// @notice Changes the feed's heartbeat. Operator only.
    /// @param feedId The feed.
    /// @param heartbeat Seconds; 0 for none.
    function setHeartbeat(bytes32 feedId, uint32 heartbeat) external;

    /// @notice Allows or disallows `submitter` on an allow-listed feed. Operator only.
    /// @param feedId The feed.
    /// @param submitter The account.
    /// @param allowed Whether it may submit.
    function setSubmitter(bytes32 feedId, address submitter, bool allowed) external;

    /// @notice Replaces an Attested feed's data attesters and threshold. Operator only.
    /// @param feedId The feed.
    /// @param attesters The attesters, distinct and non-zero (at most MAX_ATTESTERS).
    /// @param threshold How many must sign each round, 1 to the number of attesters.
    function setAttesters(bytes32 feedId, address[] calldata attesters, uint8 threshold) external;

    /// @notice Verifies `proof`, checks the observation time and the input policy, and stores
    ///         the answer derived from `instances`. Reverts with ZkOracleSliceCountMismatch on
    ///         a sliced feed, which takes `submitSlices`.
    /// @dev Instances that do not decode revert with EzklInstances' errors, naming the value:
    ///      a malformed time limb (EzklInstancesMalformedTimeLimb), an answer outside the field
    ///      (EzklInstancesNotInField) or beyond int256 at the feed's decimals
    ///      (EzklInstancesDecimalsOverflow). `submitSlices` likewise.
    /// @param feedId The feed.
    /// @param proof The proof of `outputs = model(inputs)` for the feed's current circuit.
    /// @param instances The public instances the proof was made for.
    /// @param evidence What the feed's input policy needs (attestations, source rounds).
    /// @return roundId The stored round's id.
    function submit(bytes32 feedId, bytes calldata proof, uint256[] calldata instances, InputEvidence calldata evidence)
        external
        returns (uint80 roundId);

    /// @notice Verifies `proof` and checks the observation time and the input policy as `submit`
    ///         does, then stores each listed answer of the feed from the verified instances, as
    ///         a round of its own. The feed's own id gets no round.
    /// @dev Each answer is ordered by its own observation time: one that already holds this
    ///      observation or a newer one (another transaction landed it from the same proof, or
    ///      it is listed twice) is passed over, so relaying a subset first cannot keep the
    ///      others out. Reverts ZkOracleStaleRound when no listed answer took a round, and for
    ///      an answer not the feed's, paused, or past the current circuit's instances. A
    ///      RoundSubmitted event per answer stored, under its id.
    /// @param feedId The feed.
    /// @param proof The proof of `outputs = model(inputs)` for the feed's current circuit.
    /// @param instances The public instances the proof was made for.
    /// @param evidence What the feed's input policy needs (attestations, source rounds).
    /// @param answerIds The feed's answers to store (see `registerAnswer`), at least one.
    function submitAnswers(
        bytes32 feedId,
        bytes calldata proof,
        uint256[] calldata instances,
        InputEvidence calldata evidence,
        bytes32[] calldata answerIds
    ) external;

    /// @notice Verifies one proof per proven slice of the feed's sliced model, checks that
    ///         consecutive proven slices are linked (the commitment to each one's input in its
    ///         proof is, byte for byte, the commitment to the previous one's output in that
    ///         proof), checks the observation time and the input policy on the first slice, and
    ///         stores the answer derived from the last slice's instances. On a whole-model feed,
    ///         one proof works like `submit`.
    /// @dev The RoundSubmitted event's inputsHash is the first slice's model inputs'; every
    ///      slice's instances are in the transaction's calldata. A broken link reverts with
    ///      ZkOracleSliceLinkBroken naming both points by hash.
    /// @param feedId The feed.
    /// @param proofs One proof per slice, in order; empty for a slice not proven.
    /// @param instances Each slice's public instances, in order; empty for a slice not proven.
    /// @param evidence What the feed's input policy needs (attestations, source rounds).
    /// @return roundId The stored round's id.
    function submitSlices(
        bytes32 feedId,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        InputEvidence calldata evidence
    ) external returns (uint80 roundId);

    /// @notice Verifies and checks a sliced model's proofs as `submitSlices` does, then stores
    ///         each listed answer of the feed from the last slice's instances (the model's
    ///         outputs), as `submitAnswers` does for a whole model. The feed's own id gets no round.
    /// @param feedId The feed.
    /// @param proofs One proof per slice, in order; empty for a slice not proven.
    /// @param instances Each slice's public instances, in order; empty for a slice not proven.
    /// @param evidence What the feed's input policy needs (attestations, source rounds).
    /// @param answerIds The feed's answers to store (see `registerAnswer`), at least one.
    function submitSliceAnswers(
        bytes32 feedId,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        InputEvidence calldata evidence,
        bytes32[] calldata answerIds
    ) external;

    /// @notice The EIP-712 digest a data attester signs for a round of an Attested feed.
    /// @param feedId The feed.
    /// @param phaseId The phase whose circuit proves the round.
    /// @param inputsHash keccak256 of the packed input instances.
    /// @param observedAt The proven observation time.
    /// @return The digest.
    function observationDigest(bytes32 feedId, uint16 phaseId, bytes32 inputsHash, uint64 observedAt)
        external
        view
        returns (bytes32);

    /// @notice The feed's consumer-facing parameters; reverts for an unknown feed.
    /// @param feedId The feed.
    /// @return The parameters.
    function getFeedParams(bytes32 feedId) external view returns (FeedParams memory);

    /// @notice The feed's current phase and its circuit; reverts for an unknown feed.
    /// @param feedId The feed.
    /// @return phaseId The current phase.
    /// @return circuit Its circuit.
    function getCircuit(bytes32 feedId) external view returns (uint16 phaseId, CircuitConfig memory circuit);

    /// @notice A phase's circuit: past, current, or the pending rotation's; reverts for an
    ///         unknown feed or phase.
    /// @param feedId The feed.
    /// @param phaseId The phase.
    /// @return The circuit.
    function getPhaseCircuit(bytes32 feedId, uint16 phaseId) external view returns (CircuitConfig memory);

    /// @notice The pending rotation, if any.
    /// @param feedId The feed.
    /// @return phaseId The phase it will start; 0 when none is pending.
    /// @return executableAt The earliest time it can be executed.
    function getPendingRotation(bytes32 feedId) external view returns (uint16 phaseId, uint256 executableAt);

    /// @notice An Attested feed's data attesters and threshold.
    /// @param feedId The feed.
    /// @return attesters The registered attesters.
    /// @return threshold How many must sign each round.
    function getAttesters(bytes32 feedId) external view returns (address[] memory attesters, uint8 threshold);

    /// @notice Whether submissions to the feed are paused.
    /// @param feedId The feed.
    /// @return True when paused.
    function isPaused(bytes32 feedId) external view returns (bool);

    /// @notice Whether reads of the feed's rounds are halted.
    /// @param feedId The feed.
    /// @return True when halted.
    function isHalted(bytes32 feedId) external view returns (bool);

    /// @notice Whether `submitter` may submit to the feed (always true when permissionless).
    /// @param feedId The feed.
    /// @param submitter The account.
    /// @return True when allowed.
    function isSubmitter(bytes32 feedId, address submitter) external view returns (bool);

    /// @notice The latest round, in Chainlink's AggregatorV3 shape; reverts while halted.
    /// @param feedId The feed.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The proven observation time.
    /// @return updatedAt The proven observation time (the data's age, not the inclusion's).
    /// @return answeredInRound Equal to roundId.
    function latestRoundData(bytes32 feedId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Like latestRoundData, but reverts with ZkOracleStaleAnswer when the proven
    ///         observation is older than `maxAge`.
    /// @param feedId The feed.
    /// @param maxAge The oldest acceptable observation, in seconds.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The proven observation time.
    /// @return updatedAt The proven observation time.
    /// @return answeredInRound Equal to roundId.
    function latestRoundDataNoOlderThan(bytes32 feedId, uint256 maxAge)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice A given round, in Chainlink's AggregatorV3 shape; reverts for an unknown round,
    ///         one the feed no longer retains, and while halted.
    /// @param feedId The feed.
    /// @param roundId The round id.
    /// @return roundId_ The round id.
    /// @return answer The answer.
    /// @return startedAt The proven observation time.
    /// @return updatedAt The proven observation time.
    /// @return answeredInRound Equal to roundId.
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice A round as stored, with the model commitment of its phase; reverts while halted.
    /// @param feedId The feed.
    /// @param roundId The round id.
    /// @return The round; reverts for an unknown round and one the feed no longer retains.
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
