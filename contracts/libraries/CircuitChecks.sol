// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IZkOracle} from "../interfaces/IZkOracle.sol";
import {EzklInstances} from "./EzklInstances.sol";

/// @title CircuitChecks
/// @notice What ZkOracle requires of a circuit before it stores it: bounded counts, indices
///         within the instances, on-chain inputs the feed's policy allows, a sliced model's
///         layout. Reverts with IZkOracle's errors.
/// @dev Runs inside CircuitStorage's `store`, which ZkOracle reaches by DELEGATECALL, so these
///      checks take no room in ZkOracle's code.
library CircuitChecks {
    uint8 internal constant MAX_DECIMALS = 36;
    uint8 internal constant MAX_SCALE = 64;
    /// @dev Most slices a sliced model may have, so a submission's loops stay bounded.
    uint256 internal constant MAX_SLICES = 16;
    /// @dev Most on-chain inputs a circuit may read, so a submission's loops stay bounded.
    uint256 internal constant MAX_ONCHAIN_INPUTS = 32;
    /// @dev Most public instances a proof may have: counts and indices are stored as uint16.
    uint256 internal constant MAX_INSTANCES = type(uint16).max;

    /// @notice Reverts unless `circuit` may serve a feed with input policy `policy`.
    /// @param feedId The feed, named in the errors.
    /// @param policy The feed's input policy.
    /// @param circuit The circuit to check.
    function validate(bytes32 feedId, IZkOracle.InputPolicy policy, IZkOracle.CircuitConfig calldata circuit)
        internal
        view
    {
        bool sliced = circuit.slices.length != 0;
        if (circuit.verifier == address(0)) {
            if (sliced) revert IZkOracle.ZkOracleSliceUnproven(feedId, 0);
            revert IZkOracle.ZkOracleZeroVerifier(feedId);
        }
        _requireContract(feedId, circuit.verifier);
        if (sliced) {
            _validateSlices(feedId, circuit);
        } else if (circuit.outputIndex >= circuit.instanceCount || circuit.inputCount > circuit.outputIndex) {
            // The answer is an output: an input would be the submitter's choice.
            revert IZkOracle.ZkOracleOutputIndexOutOfRange(
                feedId, circuit.outputIndex, circuit.inputCount, circuit.instanceCount
            );
        }
        // Each index stored is under the first proof's instance count but the answer's, which
        // is under the last slice's: bounding both bounds them all.
        uint256 instanceCount = circuit.instanceCount;
        if (circuit.outputIndex >= instanceCount) instanceCount = uint256(circuit.outputIndex) + 1;
        if (instanceCount > MAX_INSTANCES) revert IZkOracle.ZkOracleTooManyInstances(feedId, instanceCount, MAX_INSTANCES);
        if (circuit.outputScale > MAX_SCALE) revert IZkOracle.ZkOracleUnsupportedScale(feedId, circuit.outputScale);
        if (circuit.inputScale > MAX_SCALE) revert IZkOracle.ZkOracleUnsupportedScale(feedId, circuit.inputScale);
        // Every circuit proves its observation time: rounds are ordered by it.
        if (circuit.observedAtIndex + EzklInstances.OBSERVED_AT_LIMBS > circuit.inputCount) {
            revert IZkOracle.ZkOracleObservedAtIndexOutOfRange(feedId, circuit.observedAtIndex, circuit.inputCount);
        }
        _validateOnchainInputs(feedId, policy, circuit);
    }

    /// @dev Each on-chain input names a distinct model input other than the time limbs; a
    ///      getter (movable within a transaction) only under the Operator policy; under the
    ///      Onchain policy every model input but the time limbs is read on-chain.
    function _validateOnchainInputs(bytes32 feedId, IZkOracle.InputPolicy policy, IZkOracle.CircuitConfig calldata circuit)
        private
        view
    {
        uint256 count = circuit.onchainInputs.length;
        if (count > MAX_ONCHAIN_INPUTS) revert IZkOracle.ZkOracleTooManyOnchainInputs(feedId, count, MAX_ONCHAIN_INPUTS);
        uint256 timeFirst = circuit.observedAtIndex;
        for (uint256 i = 0; i < count; ++i) {
            IZkOracle.OnchainInput calldata input = circuit.onchainInputs[i];
            uint32 index = input.instanceIndex;
            if (index >= circuit.inputCount) {
                revert IZkOracle.ZkOracleOnchainInputIndexOutOfRange(feedId, index, circuit.inputCount);
            }
            if (index >= timeFirst && index < timeFirst + EzklInstances.OBSERVED_AT_LIMBS) {
                revert IZkOracle.ZkOracleOnchainInputIndexTaken(feedId, index);
            }
            for (uint256 j = 0; j < i; ++j) {
                if (circuit.onchainInputs[j].instanceIndex == index) revert IZkOracle.ZkOracleOnchainInputIndexTaken(feedId, index);
            }
            if (input.target == address(0)) revert IZkOracle.ZkOracleOnchainInputZeroTarget(feedId, index);
            _requireContract(feedId, input.target);
            if (input.decimals > MAX_DECIMALS) {
                revert IZkOracle.ZkOracleOnchainInputUnsupportedDecimals(feedId, index, input.decimals);
            }
            if (input.kind == IZkOracle.OnchainInputKind.Getter && policy != IZkOracle.InputPolicy.Operator) {
                revert IZkOracle.ZkOracleMovableInputNotAllowed(feedId, index, policy);
            }
        }
        if (policy == IZkOracle.InputPolicy.Onchain && count != circuit.inputCount - EzklInstances.OBSERVED_AT_LIMBS) {
            revert IZkOracle.ZkOracleOnchainInputsIncomplete(feedId, count, circuit.inputCount - EzklInstances.OBSERVED_AT_LIMBS);
        }
    }

    /// @dev The layout of a sliced model: at most MAX_SLICES slices, the first and last proven.
    ///      The boundary tensors are committed inside the proofs, not as instances: the first
    ///      slice's instances are the model inputs, a middle slice has none, the last slice's
    ///      are the model's public outputs, among which the answer.
    function _validateSlices(bytes32 feedId, IZkOracle.CircuitConfig calldata circuit) private view {
        uint256 count = circuit.slices.length + 1;
        if (count > MAX_SLICES) revert IZkOracle.ZkOracleTooManySlices(feedId, count, MAX_SLICES);
        if (circuit.instanceCount != circuit.inputCount) {
            revert IZkOracle.ZkOracleSliceInstanceCountInvalid(feedId, 0, circuit.instanceCount);
        }
        for (uint256 i = 1; i < count; ++i) {
            IZkOracle.SliceConfig calldata piece = circuit.slices[i - 1];
            bool isLast = i == count - 1;
            if (piece.verifier == address(0)) {
                // The last slice yields the answer, so it cannot go unproven.
                if (isLast) revert IZkOracle.ZkOracleSliceUnproven(feedId, i);
                if (piece.instanceCount != 0) revert IZkOracle.ZkOracleSliceInstanceCountInvalid(feedId, i, piece.instanceCount);
            } else {
                _requireContract(feedId, piece.verifier);
                if (isLast ? piece.instanceCount == 0 : piece.instanceCount != 0) {
                    revert IZkOracle.ZkOracleSliceInstanceCountInvalid(feedId, i, piece.instanceCount);
                }
            }
        }
        uint32 lastCount = circuit.slices[count - 2].instanceCount;
        if (circuit.outputIndex >= lastCount) {
            revert IZkOracle.ZkOracleOutputIndexOutOfRange(feedId, circuit.outputIndex, 0, lastCount);
        }
    }

    function _requireContract(bytes32 feedId, address account) private view {
        // A call to an address without code succeeds with no data: it must never stand in
        // for a verifier or a source.
        if (account.code.length == 0) revert IZkOracle.ZkOracleNotAContract(feedId, account);
    }
}
