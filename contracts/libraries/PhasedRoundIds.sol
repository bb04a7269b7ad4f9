// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title PhasedRoundIds
/// @notice Round ids as Chainlink's proxies build them: `(phaseId << 64) | roundInPhase`, so
///         that ids keep increasing across phases while each phase counts its own rounds.
library PhasedRoundIds {
    /// @dev Bits of the in-phase round counter, below the phase.
    uint256 internal constant PHASE_OFFSET = 64;

    error PhasedRoundIdsPhaseBehind(uint16 phaseId, uint16 latestPhaseId);
    error PhasedRoundIdsPhaseExhausted(uint16 phaseId);

    /// @notice The id of round `roundInPhase` of phase `phaseId`.
    /// @param phaseId The phase.
    /// @param roundInPhase The round's number within its phase.
    /// @return The round id.
    function pack(uint16 phaseId, uint64 roundInPhase) internal pure returns (uint80) {
        return (uint80(phaseId) << PHASE_OFFSET) | roundInPhase;
    }

    /// @notice The phase a round id belongs to.
    /// @param roundId The round id.
    /// @return Its phase.
    function phaseOf(uint80 roundId) internal pure returns (uint16) {
        return uint16(roundId >> PHASE_OFFSET);
    }

    /// @notice A round id's number within its phase.
    /// @param roundId The round id.
    /// @return Its in-phase number.
    function roundInPhaseOf(uint80 roundId) internal pure returns (uint64) {
        return uint64(roundId);
    }

    /// @notice The id following `latest` in phase `phaseId`: the next one in the same phase,
    ///         or the first round (1) of a later phase.
    /// @param latest The latest round id, 0 before any.
    /// @param phaseId The phase of the new round; reverts when older than `latest`'s.
    /// @return The new round id; reverts when `phaseId` has used all its in-phase numbers.
    function next(uint80 latest, uint16 phaseId) internal pure returns (uint80) {
        uint16 latestPhaseId = phaseOf(latest);
        if (phaseId == latestPhaseId) {
            if (roundInPhaseOf(latest) == type(uint64).max) revert PhasedRoundIdsPhaseExhausted(phaseId);
            unchecked {
                return latest + 1; // the in-phase number was just bounded
            }
        }
        if (phaseId < latestPhaseId) revert PhasedRoundIdsPhaseBehind(phaseId, latestPhaseId);
        return pack(phaseId, 1);
    }
}
