// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {OracleTestBase} from "./utils/OracleTestBase.sol";

/// @notice A feed retaining only its latest rounds: each phase's rounds in a ring of
///         `roundsRetained` slots, readable while the ring holds them.
contract ZkOracleRetentionTest is OracleTestBase {
    uint32 private constant MAX_AGE = 1 hours;
    uint32 private constant RETAINED = 3;

    IZkOracle private oracle;
    uint256 private time = FIRST_OBSERVED_AT;

    function setUp() public {
        oracle = deployOracle(0, 0);
        IZkOracle.FeedParams memory params = feedParams(MAX_AGE);
        params.roundsRetained = RETAINED;
        vm.startPrank(admin);
        oracle.registerFeed(STUB_FEED, params, stubCircuit(deployStub(true)));
        oracle.setSubmitter(STUB_FEED, relayer, true);
        vm.stopPrank();
    }

    /// @dev A round answering `value` (a whole number, 8 decimals on-chain), a second after the last.
    function land(uint256 value) private returns (uint80) {
        time += 1;
        vm.warp(time);
        vm.prank(relayer);
        return oracle.submit(STUB_FEED, "", stubInstances(time, value << STUB_SCALE), noEvidence());
    }

    function rotate() private {
        vm.startPrank(admin);
        oracle.proposeRotation(STUB_FEED, stubCircuit(deployStub(true)));
        oracle.executeRotation(STUB_FEED);
        vm.stopPrank();
    }

    function assertAnswer(uint80 roundId, int256 value) private view {
        (uint80 id, int256 answer,,,) = oracle.getRoundData(STUB_FEED, roundId);
        vm.assertEq(uint256(id), uint256(roundId), "round id");
        vm.assertEq(answer, value * 1e8, "answer of the round, not of a later one in its slot");
        vm.assertEq(oracle.getRound(STUB_FEED, roundId).answer, value * 1e8, "getRound agrees");
    }

    function expectNotRetained(uint80 roundId) private {
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleRoundNotRetained.selector, STUB_FEED, roundId, RETAINED)
        );
        oracle.getRoundData(STUB_FEED, roundId);
    }

    function expectUnknown(uint80 roundId) private {
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownRound.selector, STUB_FEED, roundId));
        oracle.getRoundData(STUB_FEED, roundId);
    }

    function test_TheFeedParamsSayHowManyRoundsAreRetained() public view {
        vm.assertEq(uint256(oracle.getFeedParams(STUB_FEED).roundsRetained), RETAINED, "roundsRetained");
    }

    function test_OnlyTheLatestRoundsStayReadable() public {
        for (uint256 value = 1; value <= 5; ++value) {
            land(value);
        }
        for (uint64 number = 3; number <= 5; ++number) {
            assertAnswer(PhasedRoundIds.pack(1, number), int256(uint256(number)));
        }
        expectNotRetained(PhasedRoundIds.pack(1, 1));
        expectNotRetained(PhasedRoundIds.pack(1, 2));
        (uint80 latest, int256 answer,,,) = oracle.latestRoundData(STUB_FEED);
        vm.assertEq(uint256(latest), uint256(PhasedRoundIds.pack(1, 5)), "latest round");
        vm.assertEq(answer, 5e8, "latest answer");
    }

    /// @dev Ids that share a ring slot with a landed round but never landed themselves.
    function test_RoundsThatNeverLandedAreUnknown() public {
        for (uint256 value = 1; value <= 4; ++value) {
            land(value);
        }
        expectUnknown(PhasedRoundIds.pack(1, 0)); // the slot of round 3
        expectUnknown(PhasedRoundIds.pack(1, 5)); // the slot of round 2, not yet rewritten
        expectUnknown(PhasedRoundIds.pack(2, 1)); // a phase not started
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleUnknownRound.selector, STUB_FEED, PhasedRoundIds.pack(1, 7))
        );
        oracle.getRound(STUB_FEED, PhasedRoundIds.pack(1, 7));
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleRoundNotRetained.selector, STUB_FEED, PhasedRoundIds.pack(1, 1), RETAINED
            )
        );
        oracle.getCoverage(STUB_FEED, PhasedRoundIds.pack(1, 1));
    }

    /// @dev Each phase has its own ring: the rounds a rotation ends with stay readable, the
    ///      new phase's do not overwrite them.
    function test_APhaseKeepsItsLatestRoundsAfterARotation() public {
        for (uint256 value = 1; value <= 4; ++value) {
            land(value);
        }
        rotate();
        land(10);
        land(11);
        assertAnswer(PhasedRoundIds.pack(1, 2), 2);
        assertAnswer(PhasedRoundIds.pack(1, 4), 4);
        expectNotRetained(PhasedRoundIds.pack(1, 1));
        expectUnknown(PhasedRoundIds.pack(1, 5));
        assertAnswer(PhasedRoundIds.pack(2, 1), 10);
        assertAnswer(PhasedRoundIds.pack(2, 2), 11);
        expectUnknown(PhasedRoundIds.pack(2, 3));
    }

    /// @dev Two rotations with no round between them: the skipped phase has no rounds.
    function test_APhaseWithoutRoundsHasNone() public {
        land(1);
        rotate();
        rotate();
        uint80 id = land(2);
        vm.assertEq(uint256(id), uint256(PhasedRoundIds.pack(3, 1)), "first round of phase 3");
        assertAnswer(PhasedRoundIds.pack(1, 1), 1);
        expectUnknown(PhasedRoundIds.pack(2, 1));
        assertAnswer(id, 2);
    }

    function testFuzz_EveryRoundIsReadableExactlyWhileRetained(uint8 landed, uint8 asked) public {
        landed = uint8(bound(landed, 1, 40));
        for (uint256 value = 1; value <= landed; ++value) {
            land(value);
        }
        uint64 number = uint64(bound(asked, 1, landed));
        uint80 roundId = PhasedRoundIds.pack(1, number);
        if (landed - number < RETAINED) {
            assertAnswer(roundId, int256(uint256(number)));
        } else {
            expectNotRetained(roundId);
        }
    }
}
