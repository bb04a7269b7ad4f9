// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {EzklInstances} from "../../contracts/libraries/EzklInstances.sol";
import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {DemoRound, OracleTestBase} from "./utils/OracleTestBase.sol";
import {RevertingVerifier} from "./utils/Stubs.sol";

/// @notice Unit tests of ZkOracle: real EZKL proofs of the demo circuit against its generated
///         verifier wherever the proof matters, stub verifiers where it does not.
contract ZkOracleTest is OracleTestBase {
    uint32 private constant MAX_AGE = 1 hours;

    IZkOracle private oracle;
    address private verifier;

    /// @dev IZkOracle's, declared again: solc 0.8.20 cannot emit an interface's event by its name.
    event RoundSubmitted(
        bytes32 indexed feedId,
        uint80 indexed roundId,
        address indexed submitter,
        int256 answer,
        uint256 observedAt,
        bytes32 inputsHash
    );

    function setUp() public {
        oracle = deployOracle(0, 0);
        verifier = deployDemoVerifier();
        registerDemo(oracle, verifier, MAX_AGE);
    }

    // ------------------------------------------------------------ real proofs

    function test_SubmitStoresTheAnswerDerivedFromTheProof() public {
        DemoRound memory round = demoRound(0);
        IZkOracle.CircuitConfig memory circuit = demoCircuit(verifier);
        vm.warp(round.observedAt + 5);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit RoundSubmitted(
            DEMO_FEED,
            PhasedRoundIds.pack(1, 1),
            relayer,
            round.answer,
            round.observedAt,
            inputsHash(round.instances, circuit.inputCount)
        );
        uint80 roundId = submitDemo(oracle, round);

        vm.assertEq(uint256(roundId), uint256(PhasedRoundIds.pack(1, 1)), "first round of phase 1");
        vm.assertEq(uint256(oracle.latestRoundId(DEMO_FEED)), uint256(roundId), "latest round");
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            oracle.latestRoundData(DEMO_FEED);
        vm.assertEq(uint256(id), uint256(roundId), "round id");
        vm.assertEq(answer, round.answer, "answer as the node derives it");
        vm.assertEq(startedAt, round.observedAt, "startedAt is the proven observation time");
        vm.assertEq(updatedAt, round.observedAt, "updatedAt is the proven observation time");
        vm.assertEq(uint256(answeredInRound), uint256(roundId), "answeredInRound");

        IZkOracle.Round memory stored = oracle.getRound(DEMO_FEED, roundId);
        vm.assertEq(stored.answer, round.answer, "stored answer");
        vm.assertEq(uint256(stored.observedAt), round.observedAt, "stored observation time");
        vm.assertEq(stored.modelCommitment, circuit.modelCommitment, "model commitment");
        vm.assertEq(uint256(stored.includedAt), round.observedAt + 5, "inclusion time");
        (uint16 proven, uint16 total) = oracle.getCoverage(DEMO_FEED, roundId);
        vm.assertEq(uint256(proven), 1, "whole model proven");
        vm.assertEq(uint256(total), 1, "one slice");
    }

    function test_EveryFixtureRoundLandsInOrder() public {
        for (uint256 i = 0; i < DEMO_ROUNDS; ++i) {
            DemoRound memory round = demoRound(i);
            vm.warp(round.observedAt);
            vm.assertEq(uint256(submitDemo(oracle, round)), uint256(PhasedRoundIds.pack(1, uint64(i + 1))), "id");
            (, int256 answer,,,) = oracle.latestRoundData(DEMO_FEED);
            vm.assertEq(answer, round.answer, "answer");
        }
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_ChangedInstanceIsRefused(uint256 which, uint256 delta) public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        which = bound(which, 0, round.instances.length - 1);
        // Past the time limbs the change reaches the verifier; a limb change may fail the time checks first.
        vm.assume(which < 4 || which > 6);
        delta = bound(delta, 1, 1 << 20);
        round.instances[which] = addmod(round.instances[which], delta, EzklInstances.FIELD_MODULUS);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleInvalidProof.selector, DEMO_FEED));
        submitDemo(oracle, round);
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_ChangedProofByteIsRefused(uint256 position, uint8 mask) public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        position = bound(position, 0, round.proof.length - 1);
        mask = uint8(bound(mask, 1, 255));
        round.proof[position] = round.proof[position] ^ bytes1(mask);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleInvalidProof.selector, DEMO_FEED));
        submitDemo(oracle, round);
    }

    function test_AProofLandsOnce() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        submitDemo(oracle, round);
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleStaleRound.selector, DEMO_FEED, round.observedAt, round.observedAt)
        );
        submitDemo(oracle, round);
    }

    function test_AnOlderObservationNeverFollowsANewerOne() public {
        DemoRound memory older = demoRound(0);
        DemoRound memory newer = demoRound(1);
        vm.warp(newer.observedAt);
        submitDemo(oracle, newer);
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleStaleRound.selector, DEMO_FEED, older.observedAt, newer.observedAt)
        );
        submitDemo(oracle, older);
    }

    function test_ObservationFromTheFutureIsRefused() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleObservationFromFuture.selector, DEMO_FEED, round.observedAt, round.observedAt - 1
            )
        );
        submitDemo(oracle, round);
    }

    function test_ObservationTooOldIsRefused() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt + MAX_AGE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleObservationTooOld.selector, DEMO_FEED, round.observedAt, round.observedAt + 1
            )
        );
        submitDemo(oracle, round);
    }

    function test_OnlyAllowedSubmitters() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnauthorizedSubmitter.selector, DEMO_FEED, outsider));
        oracle.submit(DEMO_FEED, round.proof, round.instances, noEvidence());
    }

    function test_PausedFeedStoresNothingAndResumes() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        vm.prank(admin);
        oracle.setPaused(DEMO_FEED, true);
        vm.assertTrue(oracle.isPaused(DEMO_FEED), "paused");
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedPaused.selector, DEMO_FEED));
        submitDemo(oracle, round);
        vm.assertEq(uint256(oracle.latestRoundId(DEMO_FEED)), 0, "nothing stored");
        vm.prank(admin);
        oracle.setPaused(DEMO_FEED, false);
        submitDemo(oracle, round);
        vm.assertEq(uint256(oracle.latestRoundId(DEMO_FEED)), uint256(PhasedRoundIds.pack(1, 1)), "stored after resume");
    }

    function test_HaltedFeedServesNothing() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        uint80 roundId = submitDemo(oracle, round);
        vm.prank(admin);
        oracle.setHalted(DEMO_FEED, true);
        bytes memory halted = abi.encodeWithSelector(IZkOracle.ZkOracleFeedHalted.selector, DEMO_FEED);
        vm.expectRevert(halted);
        oracle.latestRoundData(DEMO_FEED);
        vm.expectRevert(halted);
        oracle.getRoundData(DEMO_FEED, roundId);
        vm.expectRevert(halted);
        oracle.getRound(DEMO_FEED, roundId);
        vm.expectRevert(halted);
        oracle.latestRoundDataNoOlderThan(DEMO_FEED, 1 days);
        vm.prank(admin);
        oracle.setHalted(DEMO_FEED, false);
        (, int256 answer,,,) = oracle.latestRoundData(DEMO_FEED);
        vm.assertEq(answer, round.answer, "served again");
    }

    function test_AnswerOutOfBoundsIsRefused() public {
        IZkOracle fresh = deployOracle(0, 0);
        IZkOracle.FeedParams memory params = feedParams(MAX_AGE);
        DemoRound memory round = demoRound(0);
        params.maxAnswer = round.answer - 1;
        vm.startPrank(admin);
        fresh.registerFeed(DEMO_FEED, params, demoCircuit(verifier));
        fresh.setSubmitter(DEMO_FEED, relayer, true);
        vm.stopPrank();
        vm.warp(round.observedAt);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleAnswerOutOfBounds.selector,
                DEMO_FEED,
                round.answer,
                type(int192).min,
                round.answer - 1
            )
        );
        submitDemo(fresh, round);
    }

    function test_AnswerBoundsMustFitInt192() public {
        IZkOracle.FeedParams memory params = feedParams(MAX_AGE);
        params.minAnswer = int256(type(int192).min) - 1;
        vm.startPrank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleInvalidAnswerBounds.selector, STUB_FEED, params.minAnswer, params.maxAnswer
            )
        );
        oracle.registerFeed(STUB_FEED, params, stubCircuit(verifier));
        params = feedParams(MAX_AGE);
        params.maxAnswer = int256(type(int192).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleInvalidAnswerBounds.selector, STUB_FEED, params.minAnswer, params.maxAnswer
            )
        );
        oracle.registerFeed(STUB_FEED, params, stubCircuit(verifier));
        vm.stopPrank();
    }

    function test_AnUnboundedFeedStillRefusesAnAnswerBeyondInt192() public {
        registerStub(oracle, deployStub(true), MAX_AGE);
        uint256 instance = uint256(int256(type(int192).max)); // in steps of 2**-13: far more at 8 decimals
        int256 answer = EzklInstances.instanceToDecimals(instance, STUB_SCALE, 8);
        vm.warp(FIRST_OBSERVED_AT);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleAnswerOutOfBounds.selector, STUB_FEED, answer, type(int192).min, type(int192).max
            )
        );
        oracle.submit(STUB_FEED, "", stubInstances(FIRST_OBSERVED_AT, instance), noEvidence());
    }

    function test_CircuitCountsMustFitTheirPackedSlot() public {
        uint256 tooMany = uint256(type(uint16).max) + 1;
        IZkOracle.CircuitConfig memory wide = stubCircuit(verifier);
        wide.instanceCount = uint32(tooMany);
        vm.startPrank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleTooManyInstances.selector, STUB_FEED, tooMany, tooMany - 1)
        );
        oracle.registerFeed(STUB_FEED, feedParams(MAX_AGE), wide);

        IZkOracle.CircuitConfig memory wideSlice = stubCircuit(verifier);
        wideSlice.instanceCount = wideSlice.inputCount; // the first slice hands its output on as a commitment
        wideSlice.slices = new IZkOracle.SliceConfig[](1);
        wideSlice.slices[0] = IZkOracle.SliceConfig({verifier: verifier, instanceCount: uint32(tooMany + 1)});
        wideSlice.outputIndex = uint32(tooMany); // the answer among the last slice's instances, past uint16
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleTooManyInstances.selector, STUB_FEED, tooMany + 1, tooMany - 1)
        );
        oracle.registerFeed(STUB_FEED, feedParams(MAX_AGE), wideSlice);

        IZkOracle.CircuitConfig memory manyReads = stubCircuit(verifier);
        manyReads.onchainInputs = new IZkOracle.OnchainInput[](33);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleTooManyOnchainInputs.selector, STUB_FEED, 33, 32));
        oracle.registerFeed(STUB_FEED, feedParams(MAX_AGE), manyReads);
        vm.stopPrank();
    }

    function test_BlockTimesPastUint32AreRefusedNotWrapped() public {
        registerStub(oracle, deployStub(true), MAX_AGE);
        uint256 time = uint256(type(uint32).max) + 1;
        vm.warp(time);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 32, time));
        oracle.submit(STUB_FEED, "", stubInstances(time - 1, 1 << STUB_SCALE), noEvidence());
    }

    function test_LatestRoundDataNoOlderThan() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        submitDemo(oracle, round);
        vm.warp(round.observedAt + 60);
        (, int256 answer,,,) = oracle.latestRoundDataNoOlderThan(DEMO_FEED, 60);
        vm.assertEq(answer, round.answer, "fresh enough");
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleStaleAnswer.selector, DEMO_FEED, round.observedAt, 59));
        oracle.latestRoundDataNoOlderThan(DEMO_FEED, 59);
    }

    // ------------------------------------------------------------ administration

    function test_OnlyOperatorsAdminister() public {
        bytes memory denied =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, OPERATOR_ROLE);
        vm.startPrank(outsider);
        vm.expectRevert(denied);
        oracle.setPaused(DEMO_FEED, true);
        vm.expectRevert(denied);
        oracle.setHalted(DEMO_FEED, true);
        vm.expectRevert(denied);
        oracle.setSubmitter(DEMO_FEED, outsider, true);
        vm.expectRevert(denied);
        oracle.registerFeed(STUB_FEED, feedParams(MAX_AGE), stubCircuit(verifier));
        vm.expectRevert(denied);
        oracle.proposeRotation(DEMO_FEED, demoCircuit(verifier));
        vm.stopPrank();
    }

    function test_RegistrationIsChecked() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedAlreadyRegistered.selector, DEMO_FEED));
        oracle.registerFeed(DEMO_FEED, feedParams(MAX_AGE), demoCircuit(verifier));

        IZkOracle.FeedParams memory open = feedParams(MAX_AGE);
        open.permissionless = true;
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOraclePermissionlessNeedsAttestedOrOnchain.selector,
                STUB_FEED,
                IZkOracle.InputPolicy.Operator
            )
        );
        oracle.registerFeed(STUB_FEED, open, stubCircuit(verifier));

        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNotAContract.selector, STUB_FEED, outsider));
        oracle.registerFeed(STUB_FEED, feedParams(MAX_AGE), stubCircuit(outsider));
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownFeed.selector, STUB_FEED));
        oracle.getFeedParams(STUB_FEED);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoRounds.selector, DEMO_FEED));
        oracle.latestRoundData(DEMO_FEED);
    }

    function test_RotationWaitsForTheDelayAndStartsANewPhase() public {
        IZkOracle delayed = deployOracle(0, 1 days);
        registerDemo(delayed, verifier, MAX_AGE);
        DemoRound memory first = demoRound(0);
        vm.warp(first.observedAt);
        uint80 firstId = submitDemo(delayed, first);

        vm.prank(admin);
        (uint16 phaseId, uint256 executableAt) = delayed.proposeRotation(DEMO_FEED, demoCircuit(verifier));
        vm.assertEq(uint256(phaseId), 2, "next phase");
        vm.assertEq(executableAt, first.observedAt + 1 days, "after the delay");
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleRotationNotReady.selector, DEMO_FEED, executableAt));
        delayed.executeRotation(DEMO_FEED);

        vm.warp(executableAt);
        vm.prank(admin);
        vm.assertEq(uint256(delayed.executeRotation(DEMO_FEED)), 2, "executed");
        // A day later the fixture's proofs are too old: this phase is checked with a stub round.
        (uint16 current,) = delayed.getCircuit(DEMO_FEED);
        vm.assertEq(uint256(current), 2, "phase 2 current");
        (, int256 answer,,,) = delayed.getRoundData(DEMO_FEED, firstId);
        vm.assertEq(answer, first.answer, "phase 1 round still readable");
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoPendingRotation.selector, DEMO_FEED));
        delayed.executeRotation(DEMO_FEED);
    }

    function test_CancelledRotationLeavesThePhase() public {
        vm.startPrank(admin);
        oracle.proposeRotation(DEMO_FEED, demoCircuit(verifier));
        oracle.cancelRotation(DEMO_FEED);
        (uint16 pending,) = oracle.getPendingRotation(DEMO_FEED);
        vm.assertEq(uint256(pending), 0, "nothing pending");
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoPendingRotation.selector, DEMO_FEED));
        oracle.executeRotation(DEMO_FEED);
        vm.stopPrank();
        (uint16 current,) = oracle.getCircuit(DEMO_FEED);
        vm.assertEq(uint256(current), 1, "still phase 1");
    }

    function test_RoundIdsCrossPhases() public {
        registerStub(oracle, deployStub(true), MAX_AGE);
        uint256 time = FIRST_OBSERVED_AT;
        vm.warp(time);
        vm.prank(relayer);
        oracle.submit(STUB_FEED, "", stubInstances(time, 1 << STUB_SCALE), noEvidence());
        vm.startPrank(admin);
        oracle.proposeRotation(STUB_FEED, stubCircuit(deployStub(true)));
        oracle.executeRotation(STUB_FEED);
        vm.stopPrank();
        vm.warp(time + 1);
        vm.prank(relayer);
        uint80 id = oracle.submit(STUB_FEED, "", stubInstances(time + 1, 2 << STUB_SCALE), noEvidence());
        vm.assertEq(uint256(id), uint256(PhasedRoundIds.pack(2, 1)), "first round of phase 2");
        (, int256 answer,,,) = oracle.latestRoundData(STUB_FEED);
        vm.assertEq(answer, 2e8, "2.0 at 8 decimals");
    }

    function test_AVerifierThatRevertsOrSaysNoRejects() public {
        registerStub(oracle, address(new RevertingVerifier()), MAX_AGE);
        vm.warp(FIRST_OBSERVED_AT);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleInvalidProof.selector, STUB_FEED));
        oracle.submit(STUB_FEED, "", stubInstances(FIRST_OBSERVED_AT, 1), noEvidence());

        bytes32 saysNo = keccak256("says no");
        vm.startPrank(admin);
        oracle.registerFeed(saysNo, feedParams(MAX_AGE), stubCircuit(deployStub(false)));
        oracle.setSubmitter(saysNo, relayer, true);
        vm.stopPrank();
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleInvalidProof.selector, saysNo));
        oracle.submit(saysNo, "", stubInstances(FIRST_OBSERVED_AT, 1), noEvidence());
    }

    function test_InstanceCountIsChecked() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        uint256[] memory short = new uint256[](round.instances.length - 1);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleInstanceCountMismatch.selector, DEMO_FEED, round.instances.length, short.length
            )
        );
        oracle.submit(DEMO_FEED, round.proof, short, noEvidence());
    }
}
