// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {PhasedRoundIds} from "../../../contracts/libraries/PhasedRoundIds.sol";

/// @notice PhasedRoundIds' functions as external calls, for its tests.
contract PhasedRoundIdsHarness {
    function pack(uint16 phaseId, uint64 roundInPhase) external pure returns (uint80) {
        return PhasedRoundIds.pack(phaseId, roundInPhase);
    }

    function phaseOf(uint80 roundId) external pure returns (uint16) {
        return PhasedRoundIds.phaseOf(roundId);
    }

    function roundInPhaseOf(uint80 roundId) external pure returns (uint64) {
        return PhasedRoundIds.roundInPhaseOf(roundId);
    }

    function next(uint80 latest, uint16 phaseId) external pure returns (uint80) {
        return PhasedRoundIds.next(latest, phaseId);
    }
}
