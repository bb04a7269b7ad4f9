// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ZkFeedProxy} from "../../contracts/ZkFeedProxy.sol";
import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {OracleTestBase} from "./utils/OracleTestBase.sol";

/// @notice A feed whose model has several outputs publishes each as an answer with its own id,
///         proxy and round history, all landing with one proof (`submitAnswers`). The layout:
///         `[limb0, limb1, limb2, out0, out1, out2]`; the feed's output instance is out0.
contract ZkOracleAnswersTest is OracleTestBase {
    uint32 private constant MAX_AGE = 1 hours;
    bytes32 private constant SCORES = keccak256("scores");
    bytes32 private constant ETH = keccak256("scores/eth");
    bytes32 private constant BTC = keccak256("scores/btc");
    bytes32 private constant SOL = keccak256("scores/sol");

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
    event AnswerRegistered(
        bytes32 indexed feedId, bytes32 indexed answerId, uint16 outputOffset, uint8 decimals, string description
    );

    function setUp() public {
        oracle = deployOracle(0, 0);
        verifier = deployStub(true);
        vm.startPrank(admin);
        oracle.registerFeed(SCORES, feedParams(MAX_AGE), threeOutputs(verifier));
        oracle.setSubmitter(SCORES, relayer, true);
        oracle.registerAnswer(SCORES, ETH, answerParams(0, 8, "ETH score"));
        oracle.registerAnswer(SCORES, BTC, answerParams(1, 6, "BTC score"));
        oracle.registerAnswer(SCORES, SOL, answerParams(2, 8, "SOL score"));
        vm.stopPrank();
        vm.warp(FIRST_OBSERVED_AT);
    }

    function threeOutputs(address verifier_) private pure returns (IZkOracle.CircuitConfig memory circuit) {
        circuit = stubCircuit(verifier_);
        circuit.instanceCount = 6;
    }

    function answerParams(uint16 offset, uint8 decimals, string memory description)
        private
        pure
        returns (IZkOracle.AnswerParams memory params)
    {
        params.outputOffset = offset;
        params.decimals = decimals;
        params.heartbeat = 60;
        params.minAnswer = type(int192).min;
        params.maxAnswer = type(int192).max;
        params.description = description;
    }

    /// @dev The time's limbs, then the outputs (1.0, 2.0 and 3.0 in steps of 2**-STUB_SCALE).
    function instancesAt(uint256 observedAt) private pure returns (uint256[] memory instances) {
        instances = new uint256[](6);
        for (uint256 i = 0; i < 3; ++i) {
            instances[i] = ((observedAt >> (11 * i)) & 0x7ff) << STUB_SCALE;
            instances[3 + i] = (i + 1) << STUB_SCALE;
        }
    }

    function ids(bytes32 a) private pure returns (bytes32[] memory list) {
        list = new bytes32[](1);
        list[0] = a;
    }

    function ids(bytes32 a, bytes32 b) private pure returns (bytes32[] memory list) {
        list = new bytes32[](2);
        (list[0], list[1]) = (a, b);
    }

    function ids(bytes32 a, bytes32 b, bytes32 c) private pure returns (bytes32[] memory list) {
        list = new bytes32[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function submitAnswers(uint256 observedAt, bytes32[] memory answerIds) private {
        vm.prank(relayer);
        oracle.submitAnswers(SCORES, "", instancesAt(observedAt), noEvidence(), answerIds);
    }

    // ------------------------------------------------------------ registration

    function test_RegisterAnswerEmitsAndReadsLikeAFeed() public {
        bytes32 eth = keccak256("scores/eth-again");
        vm.expectEmit(true, true, true, true, address(oracle));
        emit AnswerRegistered(SCORES, eth, 2, 18, "again");
        vm.prank(admin);
        oracle.registerAnswer(SCORES, eth, answerParams(2, 18, "again"));
        IZkOracle.FeedParams memory params = oracle.getFeedParams(eth);
        vm.assertEq(uint256(params.decimals), 18, "its own decimals");
        vm.assertEq(keccak256(bytes(params.description)), keccak256("again"), "its own description");
        vm.assertEq(uint256(params.maxObservationAge), MAX_AGE, "its feed's policy");
        vm.assertEq(uint256(oracle.latestRoundId(eth)), 0, "no rounds yet");
    }

    function test_RegisterAnswerIsOperatorOnly() public {
        vm.prank(outsider);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, OPERATOR_ROLE)
        );
        oracle.registerAnswer(SCORES, keccak256("x"), answerParams(1, 8, "x"));
    }

    function test_RegisterAnswerRefusesWhatCannotBeAnAnswer() public {
        bytes32 fresh = keccak256("fresh");
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownFeed.selector, fresh));
        oracle.registerAnswer(fresh, keccak256("y"), answerParams(1, 8, "y"));

        // An answer has no outputs of its own to give another answer.
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleAnswerOfFeed.selector, BTC, SCORES));
        oracle.registerAnswer(BTC, fresh, answerParams(1, 8, "y"));

        // Ids are never shared: not with a feed, not with another answer.
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedAlreadyRegistered.selector, SOL));
        oracle.registerAnswer(SCORES, SOL, answerParams(1, 8, "y"));
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedAlreadyRegistered.selector, SCORES));
        oracle.registerAnswer(SCORES, SCORES, answerParams(1, 8, "y"));

        // Offset 3 is past the circuit's instances.
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleOutputIndexOutOfRange.selector, fresh, 6, 3, 6));
        oracle.registerAnswer(SCORES, fresh, answerParams(3, 8, "y"));

        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnsupportedDecimals.selector, fresh, 37));
        oracle.registerAnswer(SCORES, fresh, answerParams(1, 37, "y"));
        IZkOracle.AnswerParams memory inverted = answerParams(1, 8, "y");
        (inverted.minAnswer, inverted.maxAnswer) = (2, 1);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleInvalidAnswerBounds.selector, fresh, 2, 1));
        oracle.registerAnswer(SCORES, fresh, inverted);
        vm.stopPrank();
    }

    /// @dev A sliced feed's outputs are its last slice's instances: [feed's answer, answer].
    function registerSliced(bytes32 sliced) private {
        IZkOracle.CircuitConfig memory circuit = stubCircuit(verifier);
        circuit.instanceCount = circuit.inputCount;
        circuit.outputIndex = 0;
        circuit.slices = new IZkOracle.SliceConfig[](1);
        circuit.slices[0] = IZkOracle.SliceConfig({verifier: verifier, instanceCount: 2});
        IZkOracle.FeedParams memory params = feedParams(MAX_AGE);
        params.roundsRetained = 5;
        vm.startPrank(admin);
        oracle.registerFeed(sliced, params, circuit);
        oracle.setSubmitter(sliced, relayer, true);
        vm.stopPrank();
    }

    function test_ASlicedFeedsAnswersAreAmongItsLastSlicesOutputs() public {
        bytes32 sliced = keccak256("sliced");
        registerSliced(sliced);
        bytes32 beyond = keccak256("sliced/beyond");
        vm.startPrank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleOutputIndexOutOfRange.selector, beyond, uint32(2), uint32(0), uint32(2))
        );
        oracle.registerAnswer(sliced, beyond, answerParams(2, 8, "past the outputs"));
        oracle.registerAnswer(sliced, keccak256("sliced/second"), answerParams(1, 8, "second output"));
        vm.stopPrank();
        vm.assertEq(uint256(oracle.getFeedParams(keccak256("sliced/second")).roundsRetained), 5, "its feed's retention");
    }

    function test_SliceAnswersLandFromTheLastSlicesOutputs() public {
        bytes32 sliced = keccak256("sliced");
        bytes32 second = keccak256("sliced/second");
        registerSliced(sliced);
        vm.prank(admin);
        oracle.registerAnswer(sliced, second, answerParams(1, 8, "second output"));
        // Stub proofs whose boundary commitments (their first 64 bytes) agree, as linked slices' do.
        bytes[] memory proofs = new bytes[](2);
        (proofs[0], proofs[1]) = (abi.encode(uint256(1), uint256(2)), abi.encode(uint256(1), uint256(2)));
        uint256[][] memory instances = new uint256[][](2);
        instances[0] = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            instances[0][i] = ((FIRST_OBSERVED_AT >> (11 * i)) & 0x7ff) << STUB_SCALE;
        }
        instances[1] = new uint256[](2);
        (instances[1][0], instances[1][1]) = (uint256(4) << STUB_SCALE, uint256(5) << STUB_SCALE);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit RoundSubmitted(second, PhasedRoundIds.pack(1, 1), relayer, 5e8, FIRST_OBSERVED_AT, inputsHash(instances[0], 3));
        vm.prank(relayer);
        oracle.submitSliceAnswers(sliced, proofs, instances, noEvidence(), ids(second));
        (, int256 answer,,,) = oracle.latestRoundData(second);
        vm.assertEq(answer, 5e8, "the last slice's second output");
        vm.assertEq(uint256(oracle.latestRoundId(sliced)), 0, "the feed's own id carries no value");

        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoAnswersListed.selector, sliced));
        oracle.submitSliceAnswers(sliced, proofs, instances, noEvidence(), new bytes32[](0));
    }

    // ------------------------------------------------------------ submission

    function test_OneProofLandsEveryListedAnswer() public {
        uint80 first = PhasedRoundIds.pack(1, 1);
        bytes32 hash = inputsHash(instancesAt(FIRST_OBSERVED_AT), 3);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit RoundSubmitted(ETH, first, relayer, 1e8, FIRST_OBSERVED_AT, hash);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit RoundSubmitted(BTC, first, relayer, 2e6, FIRST_OBSERVED_AT, hash);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit RoundSubmitted(SOL, first, relayer, 3e8, FIRST_OBSERVED_AT, hash);
        submitAnswers(FIRST_OBSERVED_AT, ids(ETH, BTC, SOL));

        (, int256 eth,,,) = oracle.latestRoundData(ETH);
        (uint80 btcRound, int256 btc,, uint256 btcUpdated,) = oracle.latestRoundData(BTC);
        (, int256 sol,,,) = oracle.latestRoundData(SOL);
        vm.assertEq(eth, 1e8, "out0 at ETH's 8 decimals");
        vm.assertEq(btc, 2e6, "out1 at BTC's 6 decimals");
        vm.assertEq(sol, 3e8, "out2 at SOL's 8 decimals");
        vm.assertEq(uint256(btcRound), uint256(first), "BTC's own first round");
        vm.assertEq(btcUpdated, FIRST_OBSERVED_AT, "the proven observation time");
        (, IZkOracle.CircuitConfig memory circuit) = oracle.getCircuit(SCORES);
        vm.assertEq(oracle.getRound(BTC, btcRound).modelCommitment, circuit.modelCommitment, "the feed's circuit");
        (uint16 proven, uint16 total) = oracle.getCoverage(BTC, btcRound);
        vm.assertEq(uint256(proven), uint256(total), "the feed's coverage");

        // The feed's own id holds no value.
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoRounds.selector, SCORES));
        oracle.latestRoundData(SCORES);
    }

    function test_SubmitAnswersNeedsAnAnswer() public {
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoAnswersListed.selector, SCORES));
        oracle.submitAnswers(SCORES, "", instancesAt(FIRST_OBSERVED_AT), noEvidence(), new bytes32[](0));
    }

    function test_AnAnswerLeftOutKeepsItsHistory() public {
        submitAnswers(FIRST_OBSERVED_AT, ids(BTC, SOL));
        vm.warp(FIRST_OBSERVED_AT + 10);
        submitAnswers(FIRST_OBSERVED_AT + 10, ids(SOL));
        vm.assertEq(uint256(oracle.latestRoundId(SOL)), uint256(PhasedRoundIds.pack(1, 2)), "SOL moved on");
        vm.assertEq(uint256(oracle.latestRoundId(BTC)), uint256(PhasedRoundIds.pack(1, 1)), "BTC did not");
        (,,, uint256 updatedAt,) = oracle.latestRoundData(BTC);
        vm.assertEq(updatedAt, FIRST_OBSERVED_AT, "BTC's round is as old as it is");
    }

    function test_EachProxyReadsOnlyItsAnswer() public {
        ZkFeedProxy btcProxy = new ZkFeedProxy(oracle, BTC, false);
        ZkFeedProxy ethProxy = new ZkFeedProxy(oracle, ETH, false);
        submitAnswers(FIRST_OBSERVED_AT, ids(ETH, BTC, SOL));
        (, int256 btc,,,) = btcProxy.latestRoundData();
        (, int256 eth,,,) = ethProxy.latestRoundData();
        vm.assertEq(btc, 2e6, "BTC");
        vm.assertEq(eth, 1e8, "ETH");
        vm.assertEq(uint256(btcProxy.decimals()), 6, "BTC's decimals");
        vm.assertEq(keccak256(bytes(btcProxy.description())), keccak256("BTC score"), "BTC's description");
    }

    function test_SubmitAnswersRefusesAnIdNotTheFeeds() public {
        bytes32 other = keccak256("other");
        vm.startPrank(admin);
        oracle.registerFeed(other, feedParams(MAX_AGE), threeOutputs(verifier));
        oracle.registerAnswer(other, keccak256("other/1"), answerParams(1, 8, "o"));
        vm.stopPrank();
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownAnswer.selector, SCORES, keccak256("other/1")));
        oracle.submitAnswers(SCORES, "", instancesAt(FIRST_OBSERVED_AT), noEvidence(), ids(keccak256("other/1")));
    }

    function test_AnAnswerListedTwiceTakesOneRound() public {
        submitAnswers(FIRST_OBSERVED_AT, ids(BTC, BTC));
        vm.assertEq(uint256(oracle.latestRoundId(BTC)), uint256(PhasedRoundIds.pack(1, 1)), "one round");
    }

    function test_NothingNewToStoreIsAStaleRound() public {
        vm.warp(FIRST_OBSERVED_AT + 10);
        submitAnswers(FIRST_OBSERVED_AT + 10, ids(BTC, SOL));
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IZkOracle.ZkOracleStaleRound.selector, SCORES, FIRST_OBSERVED_AT, FIRST_OBSERVED_AT + 10
            )
        );
        oracle.submitAnswers(SCORES, "", instancesAt(FIRST_OBSERVED_AT), noEvidence(), ids(BTC, SOL));
    }

    /// @dev The attack: on a feed anyone may relay, an attacker copies a pending submission's
    ///      proof and lands it first for one answer only, hoping the honest transaction (all
    ///      answers) then reverts and the others miss this observation.
    function test_AttackRelayingOneAnswerFirstDoesNotKeepTheOthersOut() public {
        bytes32 open = keccak256("open scores");
        IZkOracle.FeedParams memory params = feedParams(MAX_AGE);
        params.inputPolicy = IZkOracle.InputPolicy.Onchain;
        params.permissionless = true;
        IZkOracle.CircuitConfig memory circuit = threeOutputs(verifier);
        circuit.inputCount = 3; // only the time limbs: nothing else to read on-chain
        vm.startPrank(admin);
        oracle.registerFeed(open, params, circuit);
        oracle.registerAnswer(open, keccak256("open/a"), answerParams(0, 8, "a"));
        oracle.registerAnswer(open, keccak256("open/b"), answerParams(1, 8, "b"));
        vm.stopPrank();
        uint256[] memory instances = instancesAt(FIRST_OBSERVED_AT);

        vm.prank(outsider);
        oracle.submitAnswers(open, "", instances, noEvidence(), ids(keccak256("open/a")));
        vm.prank(relayer);
        oracle.submitAnswers(open, "", instances, noEvidence(), ids(keccak256("open/a"), keccak256("open/b")));

        (, int256 a,, uint256 aObserved,) = oracle.latestRoundData(keccak256("open/a"));
        (, int256 b,, uint256 bObserved,) = oracle.latestRoundData(keccak256("open/b"));
        vm.assertEq(a, 1e8, "a, landed by the attacker from the honest proof");
        vm.assertEq(b, 2e8, "b landed all the same");
        vm.assertEq(aObserved, bObserved, "the same observation");
        vm.assertEq(uint256(oracle.latestRoundId(keccak256("open/a"))), uint256(PhasedRoundIds.pack(1, 1)), "a once");
    }

    function test_APausedAnswerIsRefusedAndAHaltedOneUnreadable() public {
        vm.startPrank(admin);
        oracle.setPaused(BTC, true);
        oracle.setHalted(SOL, true);
        vm.stopPrank();
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedPaused.selector, BTC));
        oracle.submitAnswers(SCORES, "", instancesAt(FIRST_OBSERVED_AT), noEvidence(), ids(BTC));

        submitAnswers(FIRST_OBSERVED_AT, ids(ETH, SOL));
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleFeedHalted.selector, SOL));
        oracle.latestRoundData(SOL);
        (, int256 eth,,,) = oracle.latestRoundData(ETH);
        vm.assertEq(eth, 1e8, "the others read on");
    }

    function test_AnAnswerOutOfItsBoundsIsRefused() public {
        bytes32 capped = keccak256("scores/capped");
        IZkOracle.AnswerParams memory params = answerParams(2, 8, "capped");
        params.maxAnswer = 2e8;
        vm.prank(admin);
        oracle.registerAnswer(SCORES, capped, params);
        vm.prank(relayer);
        vm.expectRevert(
            abi.encodeWithSelector(IZkOracle.ZkOracleAnswerOutOfBounds.selector, capped, 3e8, type(int192).min, 2e8)
        );
        oracle.submitAnswers(SCORES, "", instancesAt(FIRST_OBSERVED_AT), noEvidence(), ids(capped));
    }

    function test_ARotationToFewerOutputsStrandsTheAnswersPastThem() public {
        vm.startPrank(admin);
        oracle.proposeRotation(SCORES, stubCircuit(verifier)); // one output
        oracle.executeRotation(SCORES);
        vm.stopPrank();
        uint256[] memory instances = stubInstances(FIRST_OBSERVED_AT, 1 << STUB_SCALE);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleOutputIndexOutOfRange.selector, BTC, 4, 0, 4));
        oracle.submitAnswers(SCORES, "", instances, noEvidence(), ids(BTC));
    }

    function test_AnAnswerTakesNoSubmissionOrRotationOfItsOwn() public {
        vm.prank(admin);
        oracle.setSubmitter(BTC, relayer, true);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleAnswerOfFeed.selector, BTC, SCORES));
        oracle.submit(BTC, "", instancesAt(FIRST_OBSERVED_AT), noEvidence());
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleAnswerOfFeed.selector, BTC, SCORES));
        oracle.proposeRotation(BTC, threeOutputs(verifier));
    }

    function test_AnOutsiderCannotSubmitAnswers() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnauthorizedSubmitter.selector, SCORES, outsider));
        oracle.submitAnswers(SCORES, "", instancesAt(FIRST_OBSERVED_AT), noEvidence(), ids(BTC));
    }
}
