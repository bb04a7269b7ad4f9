// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @dev An external entry point, so a library revert happens one call below the test.
contract PhasedRoundIdsHarness {
    function next(uint80 latest, uint16 phaseId) external pure returns (uint80) {
        return PhasedRoundIds.next(latest, phaseId);
    }
}

/// @notice Round ids as Chainlink's proxies build them: `(phaseId << 64) | roundInPhase`.
contract PhasedRoundIdsTest is TestBase {
    PhasedRoundIdsHarness private lib;

    function setUp() public {
        lib = new PhasedRoundIdsHarness();
    }

    function testFuzz_PackRoundTrips(uint16 phaseId, uint64 roundInPhase) public pure {
        uint80 id = PhasedRoundIds.pack(phaseId, roundInPhase);
        vm.assertEq(uint256(id), (uint256(phaseId) << 64) | roundInPhase, "Chainlink's layout");
        vm.assertEq(uint256(PhasedRoundIds.phaseOf(id)), phaseId, "phase");
        vm.assertEq(uint256(PhasedRoundIds.roundInPhaseOf(id)), roundInPhase, "round in phase");
    }

    function test_FirstRoundOfTheFirstPhase() public view {
        vm.assertEq(uint256(lib.next(0, 1)), uint256(PhasedRoundIds.pack(1, 1)), "from nothing");
    }

    function testFuzz_NextInTheSamePhaseCountsOn(uint16 phaseId, uint64 roundInPhase) public view {
        roundInPhase = uint64(bound(roundInPhase, 0, type(uint64).max - 1));
        uint80 latest = PhasedRoundIds.pack(phaseId, roundInPhase);
        vm.assertEq(uint256(lib.next(latest, phaseId)), uint256(latest) + 1, "next in phase");
    }

    function testFuzz_ALaterPhaseStartsAtOneAndIdsIncrease(uint16 phaseId, uint64 roundInPhase, uint16 laterPhase)
        public
        view
    {
        phaseId = uint16(bound(phaseId, 0, type(uint16).max - 1));
        laterPhase = uint16(bound(laterPhase, uint256(phaseId) + 1, type(uint16).max));
        uint80 latest = PhasedRoundIds.pack(phaseId, roundInPhase);
        uint80 id = lib.next(latest, laterPhase);
        vm.assertEq(uint256(id), uint256(PhasedRoundIds.pack(laterPhase, 1)), "first of the later phase");
        vm.assertGt(id, latest, "ids keep increasing");
    }

    function testFuzz_AnEarlierPhaseIsRefused(uint16 phaseId, uint64 roundInPhase, uint16 earlierPhase) public {
        phaseId = uint16(bound(phaseId, 1, type(uint16).max));
        earlierPhase = uint16(bound(earlierPhase, 0, uint256(phaseId) - 1));
        vm.expectRevert(
            abi.encodeWithSelector(PhasedRoundIds.PhasedRoundIdsPhaseBehind.selector, earlierPhase, phaseId)
        );
        lib.next(PhasedRoundIds.pack(phaseId, roundInPhase), earlierPhase);
    }

    function test_AnExhaustedPhaseIsRefused() public {
        vm.expectRevert(abi.encodeWithSelector(PhasedRoundIds.PhasedRoundIdsPhaseExhausted.selector, uint16(3)));
        lib.next(PhasedRoundIds.pack(3, type(uint64).max), 3);
    }
}
