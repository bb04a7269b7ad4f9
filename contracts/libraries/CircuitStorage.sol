// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IZkOracle} from "../interfaces/IZkOracle.sol";
import {CircuitChecks} from "./CircuitChecks.sol";

/// @title CircuitStorage
/// @notice How ZkOracle keeps a phase's circuit: checked by CircuitChecks, packed so that a
///         submission reads one slot for all it needs, and read back in the shape it was
///         registered in.
/// @dev An external library (linked, deployed once): storing and reading back a circuit runs
///      only at registration, rotation and in views, so keeping it out of ZkOracle's code
///      leaves room under EIP-170's size limit at the cost of one DELEGATECALL each.
library CircuitStorage {
    /// @dev What a submission reads about the phase's circuit, one slot: the counts and indices
    ///      bounded by MAX_INSTANCES, MAX_ONCHAIN_INPUTS and MAX_SLICES in CircuitChecks.
    struct Core {
        address verifier;
        uint16 instanceCount;
        uint16 inputCount;
        uint16 outputIndex;
        uint16 observedAtIndex;
        uint8 inputScale;
        uint8 outputScale;
        uint8 onchainInputCount;
        uint8 sliceCount;
    }

    /// @dev What the phase's rounds prove: one slot, so consumers read it cheaply.
    struct Coverage {
        uint16 provenSlices;
        uint16 totalSlices;
    }

    struct Circuit {
        Core core;
        bytes32 modelCommitment;
        Coverage coverage;
        IZkOracle.OnchainInput[] onchainInputs;
        IZkOracle.SliceConfig[] slices;
    }

    /// @notice Checks `circuit` against the feed's policy and stores it in `stored`, replacing
    ///         whatever was there.
    /// @param stored Where the phase's circuit lives.
    /// @param feedId The feed, named in the errors.
    /// @param policy The feed's input policy.
    /// @param permissionless Whether anyone may submit the feed's rounds: then every slice must be proven.
    /// @param circuit The circuit as registered.
    function store(
        Circuit storage stored,
        bytes32 feedId,
        IZkOracle.InputPolicy policy,
        bool permissionless,
        IZkOracle.CircuitConfig calldata circuit
    ) external {
        CircuitChecks.validate(feedId, policy, circuit);
        clear(stored);
        // CircuitChecks.validate bounded every count and index by MAX_INSTANCES, the on-chain inputs
        // by MAX_ONCHAIN_INPUTS and the slices by MAX_SLICES: none of the casts truncates.
        stored.core = Core({
            verifier: circuit.verifier,
            instanceCount: uint16(circuit.instanceCount),
            inputCount: uint16(circuit.inputCount),
            outputIndex: uint16(circuit.outputIndex),
            observedAtIndex: uint16(circuit.observedAtIndex),
            inputScale: circuit.inputScale,
            outputScale: circuit.outputScale,
            onchainInputCount: uint8(circuit.onchainInputs.length),
            sliceCount: uint8(circuit.slices.length)
        });
        stored.modelCommitment = circuit.modelCommitment;
        for (uint256 i = 0; i < circuit.onchainInputs.length; ++i) {
            stored.onchainInputs.push(circuit.onchainInputs[i]);
        }
        uint16 proven = 1;
        for (uint256 i = 0; i < circuit.slices.length; ++i) {
            stored.slices.push(circuit.slices[i]);
            if (circuit.slices[i].verifier != address(0)) ++proven;
        }
        uint16 total = uint16(circuit.slices.length + 1);
        if (permissionless && proven != total) {
            // An unproven slice leaves the answer unbound by the inputs: only an allow-listed
            // submitter could be trusted with it.
            revert IZkOracle.ZkOraclePermissionlessNeedsFullCoverage(feedId, proven, total);
        }
        stored.coverage = Coverage({provenSlices: proven, totalSlices: total});
    }

    /// @notice Forgets a stored circuit (a cancelled rotation's).
    /// @param stored Where the phase's circuit lives.
    function clear(Circuit storage stored) public {
        delete stored.core;
        delete stored.modelCommitment;
        delete stored.coverage;
        delete stored.onchainInputs;
        delete stored.slices;
    }

    /// @notice A stored circuit in the shape it was registered in.
    /// @param stored Where the phase's circuit lives.
    /// @return The circuit as registered.
    function load(Circuit storage stored) external view returns (IZkOracle.CircuitConfig memory) {
        Core storage core = stored.core;
        return IZkOracle.CircuitConfig({
            verifier: core.verifier,
            modelCommitment: stored.modelCommitment,
            instanceCount: core.instanceCount,
            inputCount: core.inputCount,
            outputIndex: core.outputIndex,
            inputScale: core.inputScale,
            outputScale: core.outputScale,
            observedAtIndex: core.observedAtIndex,
            onchainInputs: stored.onchainInputs,
            slices: stored.slices
        });
    }
}
