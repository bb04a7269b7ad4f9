// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IZkOracle} from "./interfaces/IZkOracle.sol";
import {EzklInstances} from "./libraries/EzklInstances.sol";
import {PhasedRoundIds} from "./libraries/PhasedRoundIds.sol";

/// @title ZkOracle
/// @notice Stores a model feed's rounds only when a zero-knowledge proof of the model's
///         inference verifies in the same transaction. The answer is derived here from
///         the verified public instances; a submitter never supplies the value.
/// @dev Roles: DEFAULT_ADMIN_ROLE grants roles; OPERATOR_ROLE registers, rotates and pauses
///      feeds and manages submitters.
contract ZkOracle is IZkOracle, AccessControl {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @dev The observation time is proven as three 11-bit limbs (see EzklInstances).
    uint256 public constant OBSERVED_AT_LIMBS = EzklInstances.OBSERVED_AT_LIMBS;
    uint256 public constant OBSERVED_AT_LIMB_BITS = EzklInstances.OBSERVED_AT_LIMB_BITS;
    /// @dev Tolerated clock difference between the observing node and the chain.
    uint256 public constant MAX_FUTURE_SKEW = 15;
    uint8 internal constant MAX_DECIMALS = 36;
    uint8 internal constant MAX_SCALE = 64;
    /// @dev EZKL reads inputs as f32 before scaling, so only values under 2**24 grid steps
    ///      reach the circuit exactly; larger on-chain inputs could never match a proof.
    int256 internal constant MAX_EXACT_INPUT_STEPS = 2 ** 24;
    /// @dev Most slices a sliced model may have, so a submission's loops stay bounded.
    uint256 public constant MAX_SLICES = 16;

    /// @dev Three slots per round: the model commitment is derived from the round's phase.
    struct StoredRound {
        int256 answer;
        uint48 observedAt;
        uint48 updatedAt;
        address submitter;
        bytes32 inputsHash;
    }

    /// @dev Per phase, what its rounds prove: one slot, so consumers read it cheaply.
    struct Coverage {
        uint16 provenSlices;
        uint16 totalSlices;
    }

    struct FeedState {
        FeedParams params;
        uint16 phaseId;
        bool paused;
        uint80 latestRoundId;
        uint48 latestObservedAt;
    }

    mapping(bytes32 feedId => FeedState) private s_feeds;
    mapping(bytes32 feedId => mapping(uint16 phaseId => CircuitConfig)) private s_circuits;
    mapping(bytes32 feedId => mapping(uint16 phaseId => Coverage)) private s_coverage;
    mapping(bytes32 feedId => mapping(address submitter => bool)) private s_submitters;
    mapping(bytes32 feedId => mapping(uint80 roundId => StoredRound)) private s_rounds;
    mapping(bytes32 proofHash => bool) private s_usedProofs;

    /// @param admin Receives DEFAULT_ADMIN_ROLE and OPERATOR_ROLE.
    constructor(address admin) {
        if (admin == address(0)) revert ZkOracleZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    // ------------------------------------------------------------------ administration

    /// @inheritdoc IZkOracle
    function registerFeed(bytes32 feedId, FeedParams calldata params, CircuitConfig calldata circuit)
        external
        onlyRole(OPERATOR_ROLE)
    {
        FeedState storage feed = s_feeds[feedId];
        if (feed.phaseId != 0) revert ZkOracleFeedAlreadyRegistered(feedId);
        if (params.decimals > MAX_DECIMALS) revert ZkOracleUnsupportedDecimals(feedId, params.decimals);
        feed.params = params;
        _startPhase(feedId, feed, circuit);
        emit FeedRegistered(feedId, params.decimals, params.permissionless, params.description);
    }

    /// @inheritdoc IZkOracle
    function rotateFeed(bytes32 feedId, CircuitConfig calldata circuit)
        external
        onlyRole(OPERATOR_ROLE)
        returns (uint16 phaseId)
    {
        return _startPhase(feedId, _requireFeed(feedId), circuit);
    }

    /// @inheritdoc IZkOracle
    function setPaused(bytes32 feedId, bool paused) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId).paused = paused;
        emit FeedPausedSet(feedId, paused);
    }

    /// @inheritdoc IZkOracle
    function setHeartbeat(bytes32 feedId, uint32 heartbeat) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId).params.heartbeat = heartbeat;
        emit HeartbeatSet(feedId, heartbeat);
    }

    /// @inheritdoc IZkOracle
    function setSubmitter(bytes32 feedId, address submitter, bool allowed) external onlyRole(OPERATOR_ROLE) {
        _requireFeed(feedId);
        s_submitters[feedId][submitter] = allowed;
        emit SubmitterUpdated(feedId, submitter, allowed);
    }

    // ------------------------------------------------------------------ submission

    /// @inheritdoc IZkOracle
    function submit(bytes32 feedId, bytes calldata proof, uint256[] calldata instances)
        external
        returns (uint80 roundId)
    {
        (FeedState storage feed, CircuitConfig storage circuit) = _openSubmission(feedId);
        uint256 sliceCount = circuit.slices.length + 1;
        if (sliceCount != 1) revert ZkOracleSliceCountMismatch(feedId, sliceCount, 1);
        if (instances.length != circuit.instanceCount) {
            revert ZkOracleInstanceCountMismatch(feedId, circuit.instanceCount, instances.length);
        }
        (bytes32 proofHash, uint48 observedAt) = _checkInputProof(feedId, feed, circuit, proof, instances);
        if (!_verifies(circuit.verifier, proof, instances)) revert ZkOracleInvalidProof(feedId);
        roundId = _recordRound(feedId, feed, circuit, instances[circuit.outputIndex], observedAt, proofHash, instances);
    }

    /// @inheritdoc IZkOracle
    /// @dev Replay protection spends the hash of the first slice's proof only, and that
    ///      suffices: the first slice binds the model inputs (and the observation time), and
    ///      the links bind each later proven slice to its predecessor, so re-posting a round
    ///      needs a new first-slice proof, which is refused like a new `submit` proof of the
    ///      same inputs would be (by the freshness rules where the feed proves its time).
    ///      Hashing every proof instead would let a spent first-slice proof come back with
    ///      re-randomised proofs of the later slices.
    function submitSlices(bytes32 feedId, bytes[] calldata proofs, uint256[][] calldata instances)
        external
        returns (uint80 roundId)
    {
        (FeedState storage feed, CircuitConfig storage circuit) = _openSubmission(feedId);
        (bytes32 proofHash, uint48 observedAt) = _checkSlices(feedId, feed, circuit, proofs, instances);
        uint256 answerInstance = instances[instances.length - 1][circuit.outputIndex];
        roundId = _recordRound(feedId, feed, circuit, answerInstance, observedAt, proofHash, instances[0]);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc IZkOracle
    function getFeedParams(bytes32 feedId) external view returns (FeedParams memory) {
        return _requireFeed(feedId).params;
    }

    /// @inheritdoc IZkOracle
    function getCircuit(bytes32 feedId) external view returns (uint16 phaseId, CircuitConfig memory circuit) {
        phaseId = _requireFeed(feedId).phaseId;
        circuit = s_circuits[feedId][phaseId];
    }

    /// @inheritdoc IZkOracle
    function getPhaseCircuit(bytes32 feedId, uint16 phaseId) external view returns (CircuitConfig memory) {
        if (phaseId == 0 || phaseId > _requireFeed(feedId).phaseId) revert ZkOracleUnknownPhase(feedId, phaseId);
        return s_circuits[feedId][phaseId];
    }

    /// @inheritdoc IZkOracle
    function isPaused(bytes32 feedId) external view returns (bool) {
        return _requireFeed(feedId).paused;
    }

    /// @inheritdoc IZkOracle
    function isSubmitter(bytes32 feedId, address submitter) external view returns (bool) {
        return _requireFeed(feedId).params.permissionless || s_submitters[feedId][submitter];
    }

    /// @inheritdoc IZkOracle
    function latestRoundData(bytes32 feedId) public view returns (uint80, int256, uint256, uint256, uint80) {
        uint80 roundId = _requireFeed(feedId).latestRoundId;
        if (roundId == 0) revert ZkOracleNoRounds(feedId);
        return _roundData(feedId, roundId);
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
        _requireRound(feedId, roundId);
        return _roundData(feedId, roundId);
    }

    /// @inheritdoc IZkOracle
    function getRound(bytes32 feedId, uint80 roundId) external view returns (Round memory) {
        StoredRound storage round = _requireRound(feedId, roundId);
        bytes32 modelCommitment = s_circuits[feedId][PhasedRoundIds.phaseOf(roundId)].modelCommitment;
        return Round({
            answer: round.answer,
            observedAt: round.observedAt,
            updatedAt: round.updatedAt,
            modelCommitment: modelCommitment,
            inputsHash: round.inputsHash,
            submitter: round.submitter
        });
    }

    /// @inheritdoc IZkOracle
    function getCoverage(bytes32 feedId, uint80 roundId)
        external
        view
        returns (uint16 provenSlices, uint16 totalSlices)
    {
        _requireRound(feedId, roundId);
        Coverage storage coverage = s_coverage[feedId][PhasedRoundIds.phaseOf(roundId)];
        return (coverage.provenSlices, coverage.totalSlices);
    }

    /// @inheritdoc IZkOracle
    function latestRoundId(bytes32 feedId) external view returns (uint80) {
        return _requireFeed(feedId).latestRoundId;
    }

    // ------------------------------------------------------------------ internals

    function _startPhase(bytes32 feedId, FeedState storage feed, CircuitConfig calldata circuit)
        internal
        returns (uint16 phaseId)
    {
        _validateCircuit(feedId, feed.params, circuit);
        if (feed.phaseId == type(uint16).max) revert ZkOraclePhasesExhausted(feedId);
        phaseId = feed.phaseId + 1;
        CircuitConfig storage stored = s_circuits[feedId][phaseId];
        stored.verifier = circuit.verifier;
        stored.modelCommitment = circuit.modelCommitment;
        stored.instanceCount = circuit.instanceCount;
        stored.inputCount = circuit.inputCount;
        stored.outputIndex = circuit.outputIndex;
        stored.inputScale = circuit.inputScale;
        stored.outputScale = circuit.outputScale;
        stored.bindsObservedAt = circuit.bindsObservedAt;
        stored.observedAtIndex = circuit.observedAtIndex;
        for (uint256 i = 0; i < circuit.onchainInputs.length; ++i) {
            stored.onchainInputs.push(circuit.onchainInputs[i]);
        }
        uint16 proven = 1;
        for (uint256 i = 0; i < circuit.slices.length; ++i) {
            stored.slices.push(circuit.slices[i]);
            if (circuit.slices[i].verifier != address(0)) ++proven;
        }
        // Bounded by MAX_SLICES in _validateCircuit.
        s_coverage[feedId][phaseId] = Coverage({provenSlices: proven, totalSlices: uint16(circuit.slices.length + 1)});
        feed.phaseId = phaseId;
        emit FeedRotated(feedId, phaseId, circuit.verifier, circuit.modelCommitment);
    }

    function _validateCircuit(bytes32 feedId, FeedParams storage params, CircuitConfig calldata circuit)
        internal
        view
    {
        bool sliced = circuit.slices.length != 0;
        if (circuit.verifier == address(0)) {
            if (sliced) revert ZkOracleSliceUnproven(feedId, 0);
            revert ZkOracleZeroVerifier(feedId);
        }
        if (sliced) {
            _validateSlices(feedId, circuit);
        } else if (circuit.outputIndex >= circuit.instanceCount || circuit.inputCount > circuit.outputIndex) {
            // The answer is an output: an input would be the submitter's choice.
            revert ZkOracleOutputIndexOutOfRange(
                feedId, circuit.outputIndex, circuit.inputCount, circuit.instanceCount
            );
        }
        if (circuit.outputScale > MAX_SCALE) revert ZkOracleUnsupportedScale(feedId, circuit.outputScale);
        if (circuit.inputScale > MAX_SCALE) revert ZkOracleUnsupportedScale(feedId, circuit.inputScale);
        if (circuit.bindsObservedAt && circuit.observedAtIndex + OBSERVED_AT_LIMBS > circuit.inputCount) {
            revert ZkOracleObservedAtIndexOutOfRange(feedId, circuit.observedAtIndex, circuit.inputCount);
        }
        // Without a proven observation time, anyone could replay old inputs with a fresh proof.
        if (params.permissionless && !circuit.bindsObservedAt) revert ZkOracleFreshnessRequired(feedId);
        for (uint256 i = 0; i < circuit.onchainInputs.length; ++i) {
            OnchainInput calldata input = circuit.onchainInputs[i];
            if (input.instanceIndex >= circuit.inputCount) {
                revert ZkOracleOnchainInputIndexOutOfRange(feedId, input.instanceIndex, circuit.inputCount);
            }
            if (input.target == address(0)) revert ZkOracleOnchainInputZeroTarget(feedId, input.instanceIndex);
            if (input.decimals > MAX_DECIMALS) {
                revert ZkOracleOnchainInputUnsupportedDecimals(feedId, input.instanceIndex, input.decimals);
            }
        }
    }

    /// @dev The layout of a sliced model: at most MAX_SLICES slices, the first and last proven,
    ///      each proven slice with room for its commitments, the answer among the last
    ///      slice's outputs.
    function _validateSlices(bytes32 feedId, CircuitConfig calldata circuit) internal pure {
        uint256 count = circuit.slices.length + 1;
        if (count > MAX_SLICES) revert ZkOracleTooManySlices(feedId, count, MAX_SLICES);
        // The first slice's last instance commits to its output.
        if (circuit.instanceCount <= circuit.inputCount) {
            revert ZkOracleSliceInstanceCountInvalid(feedId, 0, circuit.instanceCount);
        }
        for (uint256 i = 1; i < count; ++i) {
            SliceConfig calldata piece = circuit.slices[i - 1];
            if (piece.verifier == address(0)) {
                // The last slice yields the answer, so it cannot go unproven.
                if (i == count - 1) revert ZkOracleSliceUnproven(feedId, i);
                if (piece.instanceCount != 0) revert ZkOracleSliceInstanceCountInvalid(feedId, i, piece.instanceCount);
            } else if (piece.instanceCount < 2) {
                // An input commitment, then an output commitment or at least one output.
                revert ZkOracleSliceInstanceCountInvalid(feedId, i, piece.instanceCount);
            }
        }
        // Instance 0 of the last slice is its input commitment, never the answer.
        uint32 lastCount = circuit.slices[count - 2].instanceCount;
        if (circuit.outputIndex == 0 || circuit.outputIndex >= lastCount) {
            revert ZkOracleOutputIndexOutOfRange(feedId, circuit.outputIndex, 1, lastCount);
        }
    }

    /// @dev What every submission must pass before its proofs are looked at: a known,
    ///      unpaused feed and an allowed submitter. Returns the feed and its current circuit.
    function _openSubmission(bytes32 feedId)
        internal
        view
        returns (FeedState storage feed, CircuitConfig storage circuit)
    {
        feed = _requireFeed(feedId);
        if (feed.paused) revert ZkOracleFeedPaused(feedId);
        if (!feed.params.permissionless && !s_submitters[feedId][msg.sender]) {
            revert ZkOracleUnauthorizedSubmitter(feedId, msg.sender);
        }
        circuit = s_circuits[feedId][feed.phaseId];
    }

    /// @dev The checks on the proof that carries the model inputs (the whole model's, or the
    ///      first slice's), its instance count already checked: not spent, a fresh proven
    ///      observation time if the feed proves one, and on-chain inputs equal to the chain's.
    function _checkInputProof(
        bytes32 feedId,
        FeedState storage feed,
        CircuitConfig storage circuit,
        bytes calldata proof,
        uint256[] calldata instances
    ) internal view returns (bytes32 proofHash, uint48 observedAt) {
        proofHash = keccak256(proof);
        if (s_usedProofs[proofHash]) revert ZkOracleProofReplayed(feedId, proofHash);
        observedAt = circuit.bindsObservedAt
            ? _checkObservationTime(feedId, feed, circuit, instances)
            : uint48(block.timestamp);
        _checkOnchainInputs(feedId, circuit, instances);
    }

    /// @dev Every check of a sliced submission, cheapest first: the slice count, each slice's
    ///      instance count, the first slice's inputs, the links, then each proven slice's proof.
    function _checkSlices(
        bytes32 feedId,
        FeedState storage feed,
        CircuitConfig storage circuit,
        bytes[] calldata proofs,
        uint256[][] calldata instances
    ) internal returns (bytes32 proofHash, uint48 observedAt) {
        uint256 count = circuit.slices.length + 1;
        if (proofs.length != count) revert ZkOracleSliceCountMismatch(feedId, count, proofs.length);
        if (instances.length != count) revert ZkOracleSliceCountMismatch(feedId, count, instances.length);
        address[] memory verifiers = _checkSliceShapes(feedId, circuit, proofs, instances);
        (proofHash, observedAt) = _checkInputProof(feedId, feed, circuit, proofs[0], instances[0]);
        _checkSliceLinks(feedId, verifiers, instances);
        for (uint256 i = 0; i < count; ++i) {
            if (verifiers[i] != address(0) && !_verifies(verifiers[i], proofs[i], instances[i])) {
                revert ZkOracleInvalidSliceProof(feedId, i);
            }
        }
    }

    /// @dev Each slice's instance count against the circuit, nothing given for a slice not
    ///      proven. Returns each slice's verifier, address(0) for one not proven.
    function _checkSliceShapes(
        bytes32 feedId,
        CircuitConfig storage circuit,
        bytes[] calldata proofs,
        uint256[][] calldata instances
    ) internal view returns (address[] memory verifiers) {
        verifiers = new address[](proofs.length);
        for (uint256 i = 0; i < proofs.length; ++i) {
            uint256 expected;
            if (i == 0) {
                (verifiers[i], expected) = (circuit.verifier, circuit.instanceCount);
            } else {
                SliceConfig storage piece = circuit.slices[i - 1];
                (verifiers[i], expected) = (piece.verifier, piece.instanceCount);
            }
            if (instances[i].length != expected) {
                revert ZkOracleSliceInstanceCountMismatch(feedId, i, expected, instances[i].length);
            }
            if (verifiers[i] == address(0) && proofs[i].length != 0) revert ZkOracleProofForUnprovenSlice(feedId, i);
        }
    }

    /// @dev Consecutive proven slices must agree on the tensor between them: the previous
    ///      slice's last instance (its output commitment) is the next one's first (its input
    ///      commitment). Across a slice not proven nothing links, as coverage reports.
    function _checkSliceLinks(bytes32 feedId, address[] memory verifiers, uint256[][] calldata instances)
        internal
        pure
    {
        for (uint256 i = 1; i < verifiers.length; ++i) {
            if (verifiers[i - 1] == address(0) || verifiers[i] == address(0)) continue;
            uint256 previousOutput = instances[i - 1][instances[i - 1].length - 1];
            uint256 input = instances[i][0];
            if (previousOutput != input) revert ZkOracleSliceLinkBroken(feedId, i, previousOutput, input);
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

    /// @dev Derives the answer, spends the input proof and stores the round; `inputInstances`
    ///      are the instances of the proof carrying the model inputs, hashed and emitted.
    function _recordRound(
        bytes32 feedId,
        FeedState storage feed,
        CircuitConfig storage circuit,
        uint256 answerInstance,
        uint48 observedAt,
        bytes32 proofHash,
        uint256[] calldata inputInstances
    ) internal returns (uint80 roundId) {
        int256 answer = EzklInstances.instanceToDecimals(answerInstance, circuit.outputScale, feed.params.decimals);
        s_usedProofs[proofHash] = true;
        roundId = PhasedRoundIds.next(feed.latestRoundId, feed.phaseId);
        StoredRound memory round = StoredRound({
            answer: answer,
            observedAt: observedAt,
            updatedAt: uint48(block.timestamp),
            submitter: msg.sender,
            inputsHash: keccak256(abi.encodePacked(inputInstances[:circuit.inputCount]))
        });
        _storeRound(feedId, feed, roundId, round, inputInstances);
    }

    /// @dev Decodes the proven observation time (a malformed limb reverts with
    ///      EzklInstancesMalformedTimeLimb) and requires it to be recent, not from the future
    ///      and newer than the feed's latest round.
    function _checkObservationTime(
        bytes32 feedId,
        FeedState storage feed,
        CircuitConfig storage circuit,
        uint256[] calldata instances
    ) internal view returns (uint48 observedAt) {
        uint256 first = circuit.observedAtIndex;
        uint256[] calldata limbs = instances[first:first + OBSERVED_AT_LIMBS];
        uint256 time = EzklInstances.decodeObservedAt(limbs, circuit.inputScale);
        if (time > block.timestamp + MAX_FUTURE_SKEW) revert ZkOracleObservationFromFuture(feedId, time, block.timestamp);
        uint256 maxAge = feed.params.maxObservationAge;
        if (block.timestamp > time + maxAge) revert ZkOracleObservationTooOld(feedId, time, block.timestamp - maxAge);
        if (time <= feed.latestObservedAt) revert ZkOracleStaleRound(feedId, time, feed.latestObservedAt);
        return uint48(time);
    }

    /// @dev Reads each declared on-chain input now and requires the proof to be about it.
    function _checkOnchainInputs(bytes32 feedId, CircuitConfig storage circuit, uint256[] calldata instances)
        internal
        view
    {
        uint256 count = circuit.onchainInputs.length;
        for (uint256 i = 0; i < count; ++i) {
            OnchainInput storage input = circuit.onchainInputs[i];
            (bool ok, bytes memory returned) = input.target.staticcall(abi.encodeWithSelector(input.selector));
            if (!ok || returned.length != 32) {
                revert ZkOracleOnchainInputUnavailable(feedId, input.target, input.selector);
            }
            int256 value = abi.decode(returned, (int256));
            // A value too large to scale is far beyond the exact range too.
            (bool scaled, int256 steps) = EzklInstances.tryQuantize(value, input.decimals, circuit.inputScale);
            if (!scaled || steps >= MAX_EXACT_INPUT_STEPS || steps <= -MAX_EXACT_INPUT_STEPS) {
                revert ZkOracleOnchainInputOutOfRange(feedId, input.instanceIndex, value);
            }
            uint256 expected = EzklInstances.toInstance(steps);
            uint256 actual = instances[input.instanceIndex];
            if (expected != actual) revert ZkOracleOnchainInputMismatch(feedId, input.instanceIndex, expected, actual);
        }
    }

    function _storeRound(
        bytes32 feedId,
        FeedState storage feed,
        uint80 roundId,
        StoredRound memory round,
        uint256[] calldata instances
    ) internal {
        s_rounds[feedId][roundId] = round;
        feed.latestRoundId = roundId;
        feed.latestObservedAt = round.observedAt;
        emit RoundSubmitted(feedId, roundId, round.submitter, round.answer, round.observedAt, instances);
    }

    function _requireFeed(bytes32 feedId) internal view returns (FeedState storage feed) {
        feed = s_feeds[feedId];
        if (feed.phaseId == 0) revert ZkOracleUnknownFeed(feedId);
    }

    function _requireRound(bytes32 feedId, uint80 roundId) internal view returns (StoredRound storage round) {
        _requireFeed(feedId);
        round = s_rounds[feedId][roundId];
        if (round.updatedAt == 0) revert ZkOracleUnknownRound(feedId, roundId);
    }

    function _roundData(bytes32 feedId, uint80 roundId)
        internal
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        StoredRound storage round = s_rounds[feedId][roundId];
        return (roundId, round.answer, round.observedAt, round.updatedAt, roundId);
    }
}
