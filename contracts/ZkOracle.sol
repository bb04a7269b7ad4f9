// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IZkOracle} from "./interfaces/IZkOracle.sol";
import {CircuitChecks} from "./libraries/CircuitChecks.sol";
import {CircuitStorage} from "./libraries/CircuitStorage.sol";
import {EzklInstances} from "./libraries/EzklInstances.sol";
import {PhasedRoundIds} from "./libraries/PhasedRoundIds.sol";

/// @title ZkOracle
/// @notice Stores a model feed's rounds only when a zero-knowledge proof of the model's
///         inference verifies in the same transaction and the feed's input policy holds.
///         The answer is derived here from the verified public instances; a submitter never
///         supplies the value, and rounds are ordered by their proven observation time.
/// @dev Roles: DEFAULT_ADMIN_ROLE (one account, transferred in two steps after a delay, as
///      AccessControlDefaultAdminRules rules) grants roles; OPERATOR_ROLE registers, rotates,
///      pauses and halts feeds and manages submitters and attesters.
contract ZkOracle is IZkOracle, AccessControlDefaultAdminRules, EIP712 {
    using CircuitStorage for CircuitStorage.Circuit;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 internal constant OBSERVATION_TYPEHASH =
        keccak256("Observation(bytes32 feedId,uint16 phaseId,bytes32 inputsHash,uint64 observedAt)");

    /// @dev The observation time is proven as three 11-bit limbs (see EzklInstances).
    uint256 public constant OBSERVED_AT_LIMBS = EzklInstances.OBSERVED_AT_LIMBS;
    /// @dev Most slices a sliced model may have, so a submission's loops stay bounded.
    uint256 public constant MAX_SLICES = CircuitChecks.MAX_SLICES;
    /// @dev EZKL reads inputs as f32 before scaling, so only values under 2**24 grid steps
    ///      reach the circuit exactly; larger on-chain inputs could never match a proof.
    int256 internal constant MAX_EXACT_INPUT_STEPS = 2 ** 24;
    /// @dev A slice commits to its boundary tensors with EZKL's polycommit visibility: unblinded
    ///      KZG commitments carried in its proof, each an uncompressed G1 point (x ‖ y, 32
    ///      bytes each, big-endian), the proof's first commitments, its input's before its
    ///      output's. Every slice but the first commits to its input (at byte 0), every slice
    ///      but the last to its output (at byte 0 in the first slice, COMMITMENT_BYTES in the
    ///      others). The build checks this layout on a proof of a slice of each layout.
    uint256 internal constant COMMITMENT_BYTES = 64;
    /// @dev Most attesters a feed may have, so a submission's loops stay bounded.
    uint256 internal constant MAX_ATTESTERS = 32;

    /// @notice Seconds between proposing a rotation and executing it, fixed at deployment.
    uint256 internal immutable i_rotationDelay;

    /// @dev One slot per round, as Chainlink stores a transmission. Times are uint32 seconds
    ///      (to 2106; `submit` refuses a later block time rather than wrap). The inputs hash,
    ///      submitter and instances are in the RoundSubmitted event and the transaction's calldata.
    ///      A feed retaining N rounds keeps each phase's in a ring of N slots (see _roundKey).
    struct StoredRound {
        int192 answer;
        uint32 observedAt;
        uint32 includedAt;
    }

    /// @dev The feed's hot state, one slot: everything a submission reads about the feed and
    ///      all it writes besides the round.
    ///      `bounded` says whether the answer bounds are narrower than int192, so an unbounded
    ///      feed's submission never reads them. Room for more answers per proof: a round slot
    ///      per answer, keyed by round id and answer index, would leave this slot as it is.
    struct FeedState {
        uint16 phaseId;
        bool paused;
        bool halted;
        InputPolicy inputPolicy;
        bool permissionless;
        bool bounded;
        uint8 decimals;
        uint8 attestationThreshold;
        uint32 maxObservationAge;
        uint32 latestObservedAt;
        uint80 latestRoundId;
        uint32 roundsRetained;
    }

    /// @dev What only administration and reads use (a bounded feed's submission reads the bounds).
    struct FeedInfo {
        int192 minAnswer;
        uint32 heartbeat;
        int192 maxAnswer;
        uint40 rotationExecutableAt;
        string description;
    }

    mapping(bytes32 feedId => FeedState) private s_feeds;
    mapping(bytes32 feedId => FeedInfo) private s_info;
    mapping(bytes32 feedId => mapping(uint16 phaseId => CircuitStorage.Circuit)) private s_circuits;
    mapping(bytes32 feedId => mapping(address submitter => bool)) private s_submitters;
    mapping(bytes32 feedId => address[]) private s_attesters;
    mapping(bytes32 feedId => mapping(address attester => bool)) private s_isAttester;
    /// @dev Keyed by round id, or by the ring slot of a feed retaining its latest rounds.
    mapping(bytes32 feedId => mapping(uint80 roundKey => StoredRound)) private s_rounds;
    /// @dev The last round of each earlier phase of a feed retaining its latest rounds, which
    ///      says which of that phase's rounds its ring still holds.
    mapping(bytes32 feedId => mapping(uint16 phaseId => uint64 roundInPhase)) private s_phaseEnds;
    /// @dev Where each of a feed's answers is among its outputs: 1 + its instance's offset
    ///      from the feed's own output instance; 0 for an id that is not its answer.
    mapping(bytes32 feedId => mapping(bytes32 answerId => uint256 position)) private s_answerPositions;
    /// @dev The feed whose proofs carry an answer's rounds (zero for a feed).
    mapping(bytes32 answerId => bytes32 feedId) private s_answerFeeds;

    /// @param admin Receives DEFAULT_ADMIN_ROLE and OPERATOR_ROLE.
    /// @param adminTransferDelay Seconds a new default admin waits before accepting the role.
    /// @param rotationDelay Seconds between proposing a feed's new circuit and executing it.
    constructor(address admin, uint48 adminTransferDelay, uint256 rotationDelay)
        AccessControlDefaultAdminRules(adminTransferDelay, admin)
        EIP712("ZkOracle", "1")
    {
        _grantRole(OPERATOR_ROLE, admin);
        i_rotationDelay = rotationDelay;
    }

    // ------------------------------------------------------------------ administration

    /// @inheritdoc IZkOracle
    function registerFeed(bytes32 feedId, FeedParams calldata params, CircuitConfig calldata circuit)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (s_feeds[feedId].phaseId != 0) revert ZkOracleFeedAlreadyRegistered(feedId);
        if (params.permissionless && params.inputPolicy == InputPolicy.Operator) {
            revert ZkOraclePermissionlessNeedsAttestedOrOnchain(feedId, params.inputPolicy);
        }
        s_circuits[feedId][1].store(feedId, params.inputPolicy, params.permissionless, circuit);
        FeedState storage feed = _storeAnswerParams(
            feedId, params.decimals, params.heartbeat, params.minAnswer, params.maxAnswer, params.description
        );
        feed.phaseId = 1;
        feed.inputPolicy = params.inputPolicy;
        feed.permissionless = params.permissionless;
        feed.maxObservationAge = params.maxObservationAge;
        feed.roundsRetained = params.roundsRetained;
        emit FeedRegistered(feedId, params.decimals, params.inputPolicy, params.permissionless, params.description);
        emit FeedRotated(feedId, 1, circuit.verifier, circuit.modelCommitment);
    }

    /// @inheritdoc IZkOracle
    function registerAnswer(bytes32 feedId, bytes32 answerId, AnswerParams calldata params)
        external
        onlyRole(OPERATOR_ROLE)
    {
        FeedState storage feed = _requireFeed(feedId);
        _requireNotAnswer(feedId);
        if (s_feeds[answerId].phaseId != 0) revert ZkOracleFeedAlreadyRegistered(answerId);
        CircuitStorage.Circuit storage circuit = s_circuits[feedId][feed.phaseId];
        CircuitStorage.Core storage core = circuit.core;
        // The outputs are the last slice's instances (the whole model's when it is one slice).
        uint256 sliceCount = core.sliceCount;
        uint32 outputs = sliceCount == 0 ? core.instanceCount : circuit.slices[sliceCount - 1].instanceCount;
        uint256 index = uint256(core.outputIndex) + params.outputOffset;
        if (index >= outputs) revert ZkOracleOutputIndexOutOfRange(answerId, uint32(index), core.outputIndex, outputs);
        FeedState storage answer = _storeAnswerParams(
            answerId, params.decimals, params.heartbeat, params.minAnswer, params.maxAnswer, params.description
        );
        // What the feed's policy is, its answers' reads report; rounds take the feed's phase.
        answer.phaseId = feed.phaseId;
        answer.inputPolicy = feed.inputPolicy;
        answer.permissionless = feed.permissionless;
        answer.maxObservationAge = feed.maxObservationAge;
        answer.roundsRetained = feed.roundsRetained;
        s_answerPositions[feedId][answerId] = uint256(params.outputOffset) + 1;
        s_answerFeeds[answerId] = feedId;
        emit AnswerRegistered(feedId, answerId, params.outputOffset, params.decimals, params.description);
    }

    /// @inheritdoc IZkOracle
    function proposeRotation(bytes32 feedId, CircuitConfig calldata circuit)
        external
        onlyRole(OPERATOR_ROLE)
        returns (uint16 phaseId, uint256 executableAt)
    {
        FeedState storage feed = _requireFeed(feedId);
        _requireNotAnswer(feedId);
        if (feed.phaseId == type(uint16).max) revert ZkOraclePhasesExhausted(feedId);
        phaseId = feed.phaseId + 1;
        s_circuits[feedId][phaseId].store(feedId, feed.inputPolicy, feed.permissionless, circuit);
        executableAt = block.timestamp + i_rotationDelay;
        s_info[feedId].rotationExecutableAt = uint40(executableAt);
        emit RotationProposed(feedId, phaseId, circuit.verifier, circuit.modelCommitment, executableAt);
    }

    /// @inheritdoc IZkOracle
    function executeRotation(bytes32 feedId) external onlyRole(OPERATOR_ROLE) returns (uint16 phaseId) {
        FeedState storage feed = _requireFeed(feedId);
        FeedInfo storage info = s_info[feedId];
        uint256 executableAt = info.rotationExecutableAt;
        if (executableAt == 0) revert ZkOracleNoPendingRotation(feedId);
        if (block.timestamp < executableAt) revert ZkOracleRotationNotReady(feedId, executableAt);
        phaseId = feed.phaseId + 1;
        feed.phaseId = phaseId;
        info.rotationExecutableAt = 0;
        CircuitStorage.Circuit storage circuit = s_circuits[feedId][phaseId];
        emit FeedRotated(feedId, phaseId, circuit.core.verifier, circuit.modelCommitment);
    }

    /// @inheritdoc IZkOracle
    function cancelRotation(bytes32 feedId) external onlyRole(OPERATOR_ROLE) {
        FeedState storage feed = _requireFeed(feedId);
        FeedInfo storage info = s_info[feedId];
        if (info.rotationExecutableAt == 0) revert ZkOracleNoPendingRotation(feedId);
        uint16 phaseId = feed.phaseId + 1;
        s_circuits[feedId][phaseId].clear();
        info.rotationExecutableAt = 0;
        emit RotationCancelled(feedId, phaseId);
    }

    /// @inheritdoc IZkOracle
    function setPaused(bytes32 feedId, bool paused) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId).paused = paused;
        emit FeedPausedSet(feedId, paused);
    }

    /// @inheritdoc IZkOracle
    function setHalted(bytes32 feedId, bool halted) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId).halted = halted;
        emit FeedHaltedSet(feedId, halted);
    }

    /// @inheritdoc IZkOracle
    function setHeartbeat(bytes32 feedId, uint32 heartbeat) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId);
        s_info[feedId].heartbeat = heartbeat;
        emit HeartbeatSet(feedId, heartbeat);
    }

    /// @inheritdoc IZkOracle
    function setSubmitter(bytes32 feedId, address submitter, bool allowed) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId);
        s_submitters[feedId][submitter] = allowed;
        emit SubmitterUpdated(feedId, submitter, allowed);
    }

    /// @inheritdoc IZkOracle
    function setAttesters(bytes32 feedId, address[] calldata attesters, uint8 threshold)
        external
        onlyRole(OPERATOR_ROLE)
    {
        FeedState storage feed = _requireFeed(feedId);
        if (feed.inputPolicy != InputPolicy.Attested) {
            revert ZkOracleWrongInputPolicy(feedId, feed.inputPolicy);
        }
        if (threshold == 0 || threshold > attesters.length || attesters.length > MAX_ATTESTERS) {
            revert ZkOracleInvalidAttesters(feedId, attesters.length, threshold);
        }
        address[] storage current = s_attesters[feedId];
        for (uint256 i = 0; i < current.length; ++i) {
            s_isAttester[feedId][current[i]] = false;
        }
        delete s_attesters[feedId];
        for (uint256 i = 0; i < attesters.length; ++i) {
            address attester = attesters[i];
            if (attester == address(0) || s_isAttester[feedId][attester]) {
                revert ZkOracleInvalidAttester(feedId, attester);
            }
            s_isAttester[feedId][attester] = true;
            current.push(attester);
        }
        feed.attestationThreshold = threshold;
        emit AttestersSet(feedId, attesters, threshold);
    }

    // ------------------------------------------------------------------ submission

    /// @inheritdoc IZkOracle
    function submit(bytes32 feedId, bytes calldata proof, uint256[] calldata instances, InputEvidence calldata evidence)
        external
        returns (uint80 roundId)
    {
        (FeedState storage feed, CircuitStorage.Core storage core, uint32 observedAt, bytes32 inputsHash) =
            _acceptWhole(feedId, proof, instances, evidence);
        int192 answer = _answer(feedId, feed, core, instances[core.outputIndex]);
        roundId = _storeRound(feedId, feed, answer, observedAt, inputsHash);
    }

    /// @inheritdoc IZkOracle
    function submitAnswers(
        bytes32 feedId,
        bytes calldata proof,
        uint256[] calldata instances,
        InputEvidence calldata evidence,
        bytes32[] calldata answerIds
    ) external {
        if (answerIds.length == 0) revert ZkOracleNoAnswersListed(feedId);
        (FeedState storage feed, CircuitStorage.Core storage core, uint32 observedAt, bytes32 inputsHash) =
            _acceptWhole(feedId, proof, instances, evidence);
        _storeAnswers(feedId, feed, core, instances, observedAt, inputsHash, answerIds);
    }

    /// @inheritdoc IZkOracle
    /// @dev No proof is ever accepted twice for a feed: its proven observation time must be
    ///      later than the feed's latest, and the first slice binds the model inputs and the
    ///      time while the links bind each later proven slice to its predecessor.
    function submitSlices(
        bytes32 feedId,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        InputEvidence calldata evidence
    ) external returns (uint80 roundId) {
        (FeedState storage feed, CircuitStorage.Core storage core, uint32 observedAt, bytes32 inputsHash) =
            _acceptSlices(feedId, proofs, instances, evidence);
        int192 answer = _answer(feedId, feed, core, instances[instances.length - 1][core.outputIndex]);
        roundId = _storeRound(feedId, feed, answer, observedAt, inputsHash);
    }

    /// @inheritdoc IZkOracle
    function submitSliceAnswers(
        bytes32 feedId,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        InputEvidence calldata evidence,
        bytes32[] calldata answerIds
    ) external {
        if (answerIds.length == 0) revert ZkOracleNoAnswersListed(feedId);
        (FeedState storage feed, CircuitStorage.Core storage core, uint32 observedAt, bytes32 inputsHash) =
            _acceptSlices(feedId, proofs, instances, evidence);
        _storeAnswers(feedId, feed, core, instances[instances.length - 1], observedAt, inputsHash, answerIds);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc IZkOracle
    function observationDigest(bytes32 feedId, uint16 phaseId, bytes32 inputsHash, uint64 observedAt)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(OBSERVATION_TYPEHASH, feedId, phaseId, inputsHash, observedAt)));
    }

    /// @inheritdoc IZkOracle
    function getFeedParams(bytes32 feedId) external view returns (FeedParams memory) {
        FeedState storage feed = _requireFeed(feedId);
        FeedInfo storage info = s_info[feedId];
        return FeedParams({
            decimals: feed.decimals,
            heartbeat: info.heartbeat,
            maxObservationAge: feed.maxObservationAge,
            inputPolicy: feed.inputPolicy,
            permissionless: feed.permissionless,
            minAnswer: info.minAnswer,
            maxAnswer: info.maxAnswer,
            description: info.description,
            roundsRetained: feed.roundsRetained
        });
    }

    /// @inheritdoc IZkOracle
    function getCircuit(bytes32 feedId) external view returns (uint16 phaseId, CircuitConfig memory circuit) {
        phaseId = _requireFeed(feedId).phaseId;
        circuit = s_circuits[feedId][phaseId].load();
    }

    /// @inheritdoc IZkOracle
    function getPhaseCircuit(bytes32 feedId, uint16 phaseId) external view returns (CircuitConfig memory) {
        FeedState storage feed = _requireFeed(feedId);
        uint256 known = s_info[feedId].rotationExecutableAt == 0 ? feed.phaseId : uint256(feed.phaseId) + 1;
        if (phaseId == 0 || phaseId > known) revert ZkOracleUnknownPhase(feedId, phaseId);
        return s_circuits[feedId][phaseId].load();
    }

    /// @inheritdoc IZkOracle
    function getPendingRotation(bytes32 feedId) external view returns (uint16 phaseId, uint256 executableAt) {
        FeedState storage feed = _requireFeed(feedId);
        executableAt = s_info[feedId].rotationExecutableAt;
        phaseId = executableAt == 0 ? 0 : feed.phaseId + 1;
    }

    /// @inheritdoc IZkOracle
    function getAttesters(bytes32 feedId) external view returns (address[] memory attesters, uint8 threshold) {
        threshold = _requireFeed(feedId).attestationThreshold;
        attesters = s_attesters[feedId];
    }

    /// @inheritdoc IZkOracle
    function isPaused(bytes32 feedId) external view returns (bool) {
        return _requireFeed(feedId).paused;
    }

    /// @inheritdoc IZkOracle
    function isHalted(bytes32 feedId) external view returns (bool) {
        return _requireFeed(feedId).halted;
    }

    /// @inheritdoc IZkOracle
    function isSubmitter(bytes32 feedId, address submitter) external view returns (bool) {
        return _requireFeed(feedId).permissionless || s_submitters[feedId][submitter];
    }

    /// @inheritdoc IZkOracle
    function latestRoundData(bytes32 feedId) public view returns (uint80, int256, uint256, uint256, uint80) {
        FeedState storage feed = _requireReadable(feedId);
        uint80 roundId = feed.latestRoundId;
        if (roundId == 0) revert ZkOracleNoRounds(feedId);
        return _roundData(s_rounds[feedId][_roundKey(roundId, feed.roundsRetained)], roundId);
    }

    /// @inheritdoc IZkOracle
    function latestRoundDataNoOlderThan(bytes32 feedId, uint256 maxAge)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (roundId, answer, startedAt, updatedAt, answeredInRound) = latestRoundData(feedId);
        if (block.timestamp - updatedAt > maxAge) revert ZkOracleStaleAnswer(feedId, updatedAt, maxAge);
    }

    /// @inheritdoc IZkOracle
    function getRoundData(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return _roundData(_requireRound(feedId, roundId), roundId);
    }

    /// @inheritdoc IZkOracle
    function getRound(bytes32 feedId, uint80 roundId) external view returns (Round memory) {
        StoredRound storage round = _requireRound(feedId, roundId);
        return Round({
            answer: round.answer,
            observedAt: round.observedAt,
            includedAt: round.includedAt,
            modelCommitment: s_circuits[_circuitOwner(feedId)][PhasedRoundIds.phaseOf(roundId)].modelCommitment
        });
    }

    /// @inheritdoc IZkOracle
    function getCoverage(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint16 provenSlices, uint16 totalSlices)
    {
        _requireRound(feedId, roundId);
        CircuitStorage.Coverage storage coverage =
            s_circuits[_circuitOwner(feedId)][PhasedRoundIds.phaseOf(roundId)].coverage;
        return (coverage.provenSlices, coverage.totalSlices);
    }

    /// @inheritdoc IZkOracle
    function latestRoundId(bytes32 feedId) external view returns (uint80) {
        return _requireFeed(feedId).latestRoundId;
    }

    // ------------------------------------------------------------------ internals

    /// @dev What every submission must pass before its proofs are looked at: a known,
    ///      unpaused feed and an allowed submitter.
    function _openSubmission(bytes32 feedId)
        internal
        view
        returns (FeedState storage feed, CircuitStorage.Circuit storage circuit)
    {
        feed = _requireFeed(feedId);
        if (feed.paused) revert ZkOracleFeedPaused(feedId);
        if (!feed.permissionless && !s_submitters[feedId][msg.sender]) {
            revert ZkOracleUnauthorizedSubmitter(feedId, msg.sender);
        }
        circuit = s_circuits[feedId][feed.phaseId];
        // Only an answer has no circuit: its rounds come with its feed's.
        if (circuit.core.verifier == address(0)) revert ZkOracleAnswerOfFeed(feedId, s_answerFeeds[feedId]);
    }

    /// @dev Everything a whole-model submission must pass before anything is stored: the stages
    ///      `submitSlices` runs, for one slice and none after it. They are called here and there
    ///      rather than from one function taking either, because via-IR would specialize that
    ///      function for the empty arrays, copying the input checks into both versions, and
    ///      ZkOracle would no longer fit under EIP-170's limit.
    function _acceptWhole(
        bytes32 feedId,
        bytes calldata proof,
        uint256[] calldata instances,
        InputEvidence calldata evidence
    ) internal returns (FeedState storage feed, CircuitStorage.Core storage core, uint32 observedAt, bytes32 inputsHash) {
        CircuitStorage.Circuit storage circuit;
        (feed, circuit) = _openSubmission(feedId);
        core = circuit.core;
        if (core.sliceCount != 0) revert ZkOracleSliceCountMismatch(feedId, uint256(core.sliceCount) + 1, 1);
        (bytes[] calldata noProofs, uint256[][] calldata noInstances) = _noSlices();
        _checkShapes(feedId, circuit, instances, noProofs, noInstances);
        (observedAt, inputsHash) = _checkInputs(feedId, feed, core, circuit, instances, evidence);
        _checkProofs(feedId, circuit, proof, instances, noProofs, noInstances);
    }

    /// @dev Everything a sliced submission must pass before anything is stored: one proof and
    ///      one instance list per slice, their shapes, the inputs on the first slice, every
    ///      proven slice's proof and the links between them.
    function _acceptSlices(
        bytes32 feedId,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        InputEvidence calldata evidence
    ) internal returns (FeedState storage feed, CircuitStorage.Core storage core, uint32 observedAt, bytes32 inputsHash) {
        CircuitStorage.Circuit storage circuit;
        (feed, circuit) = _openSubmission(feedId);
        core = circuit.core;
        uint256 count = uint256(core.sliceCount) + 1;
        if (proofs.length != count) revert ZkOracleSliceCountMismatch(feedId, count, proofs.length);
        if (instances.length != count) revert ZkOracleSliceCountMismatch(feedId, count, instances.length);
        _checkShapes(feedId, circuit, instances[0], proofs, instances);
        (observedAt, inputsHash) = _checkInputs(feedId, feed, core, circuit, instances[0], evidence);
        _checkProofs(feedId, circuit, proofs[0], instances[0], proofs, instances);
    }

    /// @dev A whole model's slices after the first, as empty calldata arrays: Solidity cannot
    ///      write one, and `submit`'s calldata holds no array of these types to take it from.
    function _noSlices() internal pure returns (bytes[] calldata proofs, uint256[][] calldata instances) {
        assembly ("memory-safe") {
            proofs.offset := 0
            proofs.length := 0
            instances.offset := 0
            instances.length := 0
        }
    }

    /// @dev The checks on the instances of the proof that carries the model inputs (the whole
    ///      model's, or the first slice's), its instance count already checked: a fresh proven
    ///      observation time, on-chain inputs equal to the chain's, and the attestations.
    ///      Returns the proven observation time and the inputs hash.
    function _checkInputs(
        bytes32 feedId,
        FeedState storage feed,
        CircuitStorage.Core storage core,
        CircuitStorage.Circuit storage circuit,
        uint256[] calldata instances,
        InputEvidence calldata evidence
    ) internal view returns (uint32 observedAt, bytes32 inputsHash) {
        observedAt = _checkObservationTime(feedId, feed, core, instances);
        inputsHash = keccak256(abi.encodePacked(instances[:core.inputCount]));
        _checkOnchainInputs(feedId, core, circuit, instances, evidence.sourceRounds);
        if (feed.inputPolicy == InputPolicy.Attested) {
            _checkAttestations(feedId, feed, inputsHash, observedAt, evidence.attestations);
        }
    }

    /// @dev Counts the attestations of registered attesters, each once (signers strictly
    ///      increasing), with a valid ECDSA or EIP-1271 signature of the round's Observation.
    function _checkAttestations(
        bytes32 feedId,
        FeedState storage feed,
        bytes32 inputsHash,
        uint32 observedAt,
        Attestation[] calldata attestations
    ) internal view {
        bytes32 digest = observationDigest(feedId, feed.phaseId, inputsHash, observedAt);
        address previous = address(0);
        for (uint256 i = 0; i < attestations.length; ++i) {
            address signer = attestations[i].signer;
            if (signer <= previous || !s_isAttester[feedId][signer]) revert ZkOracleAttesterNotAllowed(feedId, signer);
            if (!SignatureChecker.isValidSignatureNow(signer, digest, attestations[i].signature)) {
                revert ZkOracleInvalidAttestation(feedId, signer);
            }
            previous = signer;
        }
        uint256 threshold = feed.attestationThreshold;
        // A feed whose attesters were never set has threshold 0 and takes no round.
        if (attestations.length < threshold || threshold == 0) {
            revert ZkOracleAttestationThresholdNotMet(feedId, attestations.length, threshold);
        }
    }

    /// @dev A submission's shape, checked before its inputs and proofs: each slice's instance
    ///      count against the circuit, nothing given for a slice not proven. `instances` are the
    ///      first slice's (the whole model's); `sliceProofs` and `sliceInstances` every slice's,
    ///      as `submitSlices` takes them, or empty for a whole model, whose refusals name no slice.
    function _checkShapes(
        bytes32 feedId,
        CircuitStorage.Circuit storage circuit,
        uint256[] calldata instances,
        bytes[] calldata sliceProofs,
        uint256[][] calldata sliceInstances
    ) internal view {
        CircuitStorage.Core storage core = circuit.core;
        if (instances.length != core.instanceCount) {
            if (sliceProofs.length != 0) {
                revert ZkOracleSliceInstanceCountMismatch(feedId, 0, core.instanceCount, instances.length);
            }
            revert ZkOracleInstanceCountMismatch(feedId, core.instanceCount, instances.length);
        }
        SliceConfig[] storage slices = circuit.slices;
        for (uint256 i = 1; i < sliceProofs.length; ++i) {
            SliceConfig storage piece = slices[i - 1];
            uint256 expected = piece.instanceCount;
            if (sliceInstances[i].length != expected) {
                revert ZkOracleSliceInstanceCountMismatch(feedId, i, expected, sliceInstances[i].length);
            }
            if (piece.verifier == address(0) && sliceProofs[i].length != 0) {
                revert ZkOracleProofForUnprovenSlice(feedId, i);
            }
        }
    }

    /// @dev Verifies the first slice's proof (`proof`) and each later proven slice's, and only
    ///      then compares the links between them; the slices as for _checkShapes.
    function _checkProofs(
        bytes32 feedId,
        CircuitStorage.Circuit storage circuit,
        bytes calldata proof,
        uint256[] calldata instances,
        bytes[] calldata sliceProofs,
        uint256[][] calldata sliceInstances
    ) internal {
        if (!_verifies(circuit.core.verifier, proof, instances)) {
            if (sliceProofs.length != 0) revert ZkOracleInvalidSliceProof(feedId, 0);
            revert ZkOracleInvalidProof(feedId);
        }
        SliceConfig[] storage slices = circuit.slices;
        for (uint256 i = 1; i < sliceProofs.length; ++i) {
            address verifier = slices[i - 1].verifier;
            if (verifier != address(0) && !_verifies(verifier, sliceProofs[i], sliceInstances[i])) {
                revert ZkOracleInvalidSliceProof(feedId, i);
            }
        }
        _checkSliceLinks(feedId, slices, sliceProofs);
    }

    /// @dev Stores each listed answer of the feed from the verified outputs (the last slice's
    ///      instances), as `submitAnswers` describes.
    function _storeAnswers(
        bytes32 feedId,
        FeedState storage feed,
        CircuitStorage.Core storage core,
        uint256[] calldata outputs,
        uint32 observedAt,
        bytes32 inputsHash,
        bytes32[] calldata answerIds
    ) internal {
        uint16 phaseId = feed.phaseId;
        (uint256 stored, uint256 newest) = (0, 0);
        for (uint256 i = 0; i < answerIds.length; ++i) {
            bytes32 answerId = answerIds[i];
            uint256 position = s_answerPositions[feedId][answerId];
            if (position == 0) revert ZkOracleUnknownAnswer(feedId, answerId);
            FeedState storage answer = s_feeds[answerId];
            if (answer.paused) revert ZkOracleFeedPaused(answerId);
            // Each answer is ordered by its own observation time, and one already holding this
            // observation (another transaction landed it from the same proof, or it is listed
            // twice) is passed over: whoever relays a subset first cannot keep the rest out.
            if (observedAt <= answer.latestObservedAt) {
                newest = answer.latestObservedAt;
                continue;
            }
            // A rotation may have left the feed fewer outputs than the answer's place.
            uint256 index = uint256(core.outputIndex) + position - 1;
            if (index >= outputs.length) {
                revert ZkOracleOutputIndexOutOfRange(answerId, uint32(index), 0, uint32(outputs.length));
            }
            answer.phaseId = phaseId;
            _storeRound(answerId, answer, _answer(answerId, answer, core, outputs[index]), observedAt, inputsHash);
            ++stored;
        }
        if (stored == 0) revert ZkOracleStaleRound(feedId, observedAt, newest);
    }

    /// @dev Consecutive proven slices must agree on the tensor between them: the commitment to
    ///      the previous slice's output, read from its proof, is byte for byte the commitment to
    ///      the next one's input, read from its proof (offsets: see COMMITMENT_BYTES). The
    ///      verifiers then check that each proof's commitment is to the tensor its slice took or
    ///      computed. Across a slice not proven nothing links, as coverage reports; the first
    ///      slice is always proven.
    function _checkSliceLinks(bytes32 feedId, SliceConfig[] storage slices, bytes[] calldata sliceProofs)
        internal
        view
    {
        bool previousProven = true;
        for (uint256 i = 1; i < sliceProofs.length; ++i) {
            bool proven = slices[i - 1].verifier != address(0);
            if (previousProven && proven) {
                uint256 outputAt = i == 1 ? 0 : COMMITMENT_BYTES;
                // Both proofs verified, so each holds its commitments where the layout says.
                bytes32 previousOutput = keccak256(sliceProofs[i - 1][outputAt:outputAt + COMMITMENT_BYTES]);
                bytes32 input = keccak256(sliceProofs[i][:COMMITMENT_BYTES]);
                if (previousOutput != input) revert ZkOracleSliceLinkBroken(feedId, i, previousOutput, input);
            }
            previousProven = proven;
        }
    }

    /// @dev Whether `verifier` accepts the proof; the generated verifier reverts on a bad
    ///      proof rather than answering false, so both count as a rejection.
    function _verifies(address verifier, bytes calldata proof, uint256[] calldata instances) internal returns (bool) {
        try IHalo2Verifier(verifier).verifyProof(proof, instances) returns (bool valid) {
            return valid;
        } catch {
            return false;
        }
    }

    /// @dev Derives the answer from its verified instance and checks the feed's bounds: those
    ///      registered, or int192's for an unbounded feed (whose bounds are not read).
    function _answer(bytes32 feedId, FeedState storage feed, CircuitStorage.Core storage core, uint256 instance)
        internal
        view
        returns (int192)
    {
        int256 answer = EzklInstances.instanceToDecimals(instance, core.outputScale, feed.decimals);
        (int256 minAnswer, int256 maxAnswer) = (type(int192).min, type(int192).max);
        if (feed.bounded) {
            FeedInfo storage info = s_info[feedId];
            (minAnswer, maxAnswer) = (info.minAnswer, info.maxAnswer);
        }
        if (answer < minAnswer || answer > maxAnswer) {
            revert ZkOracleAnswerOutOfBounds(feedId, answer, minAnswer, maxAnswer);
        }
        return int192(answer); // within bounds that registration kept within int192
    }

    /// @dev Decodes the proven observation time (a malformed limb reverts with
    ///      EzklInstancesMalformedTimeLimb) and requires it to be recent, not after the
    ///      block's time and later than the feed's latest round's: so a proof lands at most
    ///      once and an older observation never follows a newer one.
    function _checkObservationTime(
        bytes32 feedId,
        FeedState storage feed,
        CircuitStorage.Core storage core,
        uint256[] calldata instances
    ) internal view returns (uint32) {
        // Times are stored as uint32: past 2106 nothing is accepted rather than a time wrapped.
        // A proven time is never after the block's, so it fits too.
        uint256 blockTime = SafeCast.toUint32(block.timestamp);
        uint256 first = core.observedAtIndex;
        uint256 time = EzklInstances.decodeObservedAt(instances[first:first + OBSERVED_AT_LIMBS], core.inputScale);
        if (time > blockTime) revert ZkOracleObservationFromFuture(feedId, time, blockTime);
        uint256 maxAge = feed.maxObservationAge;
        if (blockTime > time + maxAge) revert ZkOracleObservationTooOld(feedId, time, blockTime - maxAge);
        if (time <= feed.latestObservedAt) revert ZkOracleStaleRound(feedId, time, feed.latestObservedAt);
        return uint32(time);
    }

    /// @dev Reads each declared on-chain input and requires the proof to be about it: a
    ///      getter now, an aggregator at the round the submission names (not too old).
    function _checkOnchainInputs(
        bytes32 feedId,
        CircuitStorage.Core storage core,
        CircuitStorage.Circuit storage circuit,
        uint256[] calldata instances,
        uint80[] calldata sourceRounds
    ) internal view {
        uint256 count = core.onchainInputCount;
        if (sourceRounds.length != count) revert ZkOracleSourceRoundCountMismatch(feedId, count, sourceRounds.length);
        for (uint256 i = 0; i < count; ++i) {
            OnchainInput storage input = circuit.onchainInputs[i];
            int256 value = input.kind == OnchainInputKind.Aggregator
                ? _readAggregator(feedId, input, sourceRounds[i])
                : _readGetter(feedId, input);
            // A value too large to scale is far beyond the exact range too.
            (bool scaled, int256 steps) = EzklInstances.tryQuantize(value, input.decimals, core.inputScale);
            if (!scaled || steps >= MAX_EXACT_INPUT_STEPS || steps <= -MAX_EXACT_INPUT_STEPS) {
                revert ZkOracleOnchainInputOutOfRange(feedId, input.instanceIndex, value);
            }
            uint256 expected = EzklInstances.toInstance(steps);
            uint256 actual = instances[input.instanceIndex];
            if (expected != actual) revert ZkOracleOnchainInputMismatch(feedId, input.instanceIndex, expected, actual);
        }
    }

    function _readGetter(bytes32 feedId, OnchainInput storage input) internal view returns (int256) {
        (bool ok, bytes memory returned) = input.target.staticcall(abi.encodeWithSelector(input.selector));
        if (!ok || returned.length != 32) revert ZkOracleOnchainInputUnavailable(feedId, input.instanceIndex, input.target);
        return abi.decode(returned, (int256));
    }

    function _readAggregator(bytes32 feedId, OnchainInput storage input, uint80 sourceRound)
        internal
        view
        returns (int256 answer)
    {
        uint256 updatedAt;
        uint80 answeredRound;
        try AggregatorV3Interface(input.target).getRoundData(sourceRound) returns (
            uint80 roundId, int256 roundAnswer, uint256, uint256 roundUpdatedAt, uint80
        ) {
            (answeredRound, answer, updatedAt) = (roundId, roundAnswer, roundUpdatedAt);
        } catch {
            revert ZkOracleOnchainInputUnavailable(feedId, input.instanceIndex, input.target);
        }
        // A source answering for another round than the one named is not answering at all.
        if (updatedAt == 0 || answeredRound != sourceRound) {
            revert ZkOracleOnchainInputUnavailable(feedId, input.instanceIndex, input.target);
        }
        if (updatedAt > block.timestamp || block.timestamp - updatedAt > input.maxAge) {
            uint256 oldest = block.timestamp > input.maxAge ? block.timestamp - input.maxAge : 0;
            revert ZkOracleOnchainInputTooOld(feedId, input.instanceIndex, updatedAt, oldest);
        }
    }

    /// @dev Stores the round as the feed's next (a new slot, or the oldest of its ring once
    ///      full), moves the feed's hot state (one slot written) and emits the round with its
    ///      inputs hash.
    function _storeRound(
        bytes32 feedId,
        FeedState storage feed,
        int192 answer,
        uint32 observedAt,
        bytes32 inputsHash
    ) internal returns (uint80 roundId) {
        uint80 latest = feed.latestRoundId;
        uint256 retained = feed.roundsRetained;
        roundId = PhasedRoundIds.next(latest, feed.phaseId);
        uint16 latestPhase = PhasedRoundIds.phaseOf(latest);
        if (retained != 0 && latestPhase != PhasedRoundIds.phaseOf(roundId) && latest != 0) {
            // The phase's ring stops turning here: record where, so its rounds stay readable.
            s_phaseEnds[feedId][latestPhase] = PhasedRoundIds.roundInPhaseOf(latest);
        }
        // _checkObservationTime made sure the block time fits uint32.
        StoredRound storage round = s_rounds[feedId][_roundKey(roundId, retained)];
        (round.answer, round.observedAt, round.includedAt) = (answer, observedAt, uint32(block.timestamp));
        (feed.latestRoundId, feed.latestObservedAt) = (roundId, observedAt);
        emit RoundSubmitted(feedId, roundId, msg.sender, answer, observedAt, inputsHash);
    }

    /// @dev What a feed and an answer alike promise consumers: decimals, bounds (kept within
    ///      int192, as answers are stored), heartbeat and description.
    function _storeAnswerParams(
        bytes32 id,
        uint8 decimals,
        uint32 heartbeat,
        int256 minAnswer,
        int256 maxAnswer,
        string calldata description
    ) internal returns (FeedState storage state) {
        if (decimals > CircuitChecks.MAX_DECIMALS) revert ZkOracleUnsupportedDecimals(id, decimals);
        if (minAnswer > maxAnswer || minAnswer < type(int192).min || maxAnswer > type(int192).max) {
            revert ZkOracleInvalidAnswerBounds(id, minAnswer, maxAnswer);
        }
        state = s_feeds[id];
        state.bounded = minAnswer != type(int192).min || maxAnswer != type(int192).max;
        state.decimals = decimals;
        FeedInfo storage info = s_info[id];
        info.minAnswer = int192(minAnswer);
        info.maxAnswer = int192(maxAnswer);
        info.heartbeat = heartbeat;
        info.description = description;
    }

    /// @dev The feed whose circuits prove `id`'s rounds: its own, or an answer's feed's.
    function _circuitOwner(bytes32 id) internal view returns (bytes32) {
        bytes32 feedId = s_answerFeeds[id];
        return feedId == bytes32(0) ? id : feedId;
    }

    function _requireNotAnswer(bytes32 id) internal view {
        bytes32 feedId = s_answerFeeds[id];
        if (feedId != bytes32(0)) revert ZkOracleAnswerOfFeed(id, feedId);
    }

    function _requireFeed(bytes32 feedId) internal view returns (FeedState storage feed) {
        feed = s_feeds[feedId];
        if (feed.phaseId == 0) revert ZkOracleUnknownFeed(feedId);
    }

    function _requireReadable(bytes32 feedId) internal view returns (FeedState storage feed) {
        feed = _requireFeed(feedId);
        if (feed.halted) revert ZkOracleFeedHalted(feedId);
    }

    /// @dev A landed round the feed still retains (see _roundKey).
    function _requireRound(bytes32 feedId, uint80 roundId) internal view returns (StoredRound storage round) {
        FeedState storage feed = _requireReadable(feedId);
        uint32 retained = feed.roundsRetained;
        if (retained != 0) {
            uint16 phaseId = PhasedRoundIds.phaseOf(roundId);
            uint80 latest = feed.latestRoundId;
            uint64 last = phaseId == PhasedRoundIds.phaseOf(latest)
                ? PhasedRoundIds.roundInPhaseOf(latest)
                : s_phaseEnds[feedId][phaseId];
            uint64 number = PhasedRoundIds.roundInPhaseOf(roundId);
            // Number 0 or one past the phase's last would read a slot another round holds.
            if (number == 0 || number > last) revert ZkOracleUnknownRound(feedId, roundId);
            if (last - number >= retained) revert ZkOracleRoundNotRetained(feedId, roundId, retained);
        }
        round = s_rounds[feedId][_roundKey(roundId, retained)];
        if (round.includedAt == 0) revert ZkOracleUnknownRound(feedId, roundId);
    }

    /// @dev Where round `roundId` is stored: under its id when every round is retained,
    ///      otherwise in slot `roundInPhase % retained` of its phase's ring, so a feed's rounds
    ///      take at most `retained` slots per phase and, once a ring is full, each new round
    ///      rewrites the slot of the oldest (a non-zero slot: 5,000 gas, not 22,100).
    function _roundKey(uint80 roundId, uint256 retained) internal pure returns (uint80) {
        if (retained == 0) return roundId;
        uint64 number = PhasedRoundIds.roundInPhaseOf(roundId);
        return PhasedRoundIds.pack(PhasedRoundIds.phaseOf(roundId), uint64(number % retained));
    }

    /// @dev startedAt and updatedAt are both the proven observation time: the age a consumer
    ///      computes is the data's, never merely the inclusion's.
    function _roundData(StoredRound storage round, uint80 roundId)
        internal
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return (roundId, round.answer, round.observedAt, round.observedAt, roundId);
    }
}
