// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ZkFeedProxy} from "../../contracts/ZkFeedProxy.sol";
import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {EzklInstances} from "../../contracts/libraries/EzklInstances.sol";
import {DemoRound, OracleTestBase} from "./utils/OracleTestBase.sol";

/// @notice What the invariant fuzzer may do to an oracle holding two feeds: the demo feed, with
///         its generated verifier and the fixture's real proofs (sent whole or tampered with),
///         and a stub feed (a verifier that accepts anything) for many rounds at arbitrary
///         times across rotations; pausing, halting and the clock in between. After every
///         call it checks what the oracle did against what it must do, and keeps the rounds
///         it saw stored for the invariants.
contract ZkOracleHandler is OracleTestBase {
    uint32 internal constant MAX_AGE = 1 days;
    uint256 internal constant MAX_WAIT = 10 minutes;

    IZkOracle public immutable oracle;
    DemoRound[] internal s_demoRounds;

    /// @dev Per feed: the ids and observation times of the rounds stored, in order.
    mapping(bytes32 feedId => uint80[]) internal s_ids;
    mapping(bytes32 feedId => uint256[]) internal s_observedAt;
    /// @dev For each demo round stored, which fixture proof it came from.
    mapping(uint80 roundId => uint256) public demoSource;

    // What must never happen; the invariants require every count to stay 0.
    uint256 public storedWhilePaused;
    uint256 public forgedAccepted;
    uint256 public validRefused;
    uint256 public idNotIncreasing;
    uint256 public observationNotForward;
    uint256 public calls;

    constructor() {
        oracle = deployOracle(0, 0);
        grantOperator(oracle, address(this));
        address verifier = deployDemoVerifier();
        oracle.registerFeed(DEMO_FEED, feedParams(MAX_AGE), demoCircuit(verifier));
        oracle.setSubmitter(DEMO_FEED, relayer, true);
        oracle.registerFeed(STUB_FEED, feedParams(MAX_AGE), stubCircuit(deployStub(true)));
        oracle.setSubmitter(STUB_FEED, relayer, true);
        for (uint256 i = 0; i < DEMO_ROUNDS; ++i) {
            s_demoRounds.push(demoRound(i));
        }
    }

    // ------------------------------------------------------------ actions

    /// @notice Sends fixture proof `index` unchanged, once the clock has reached its observation.
    function submitDemo(uint256 index, uint256 wait) external {
        DemoRound memory round = s_demoRounds[bound(index, 0, DEMO_ROUNDS - 1)];
        if (block.timestamp < round.observedAt) vm.warp(round.observedAt + bound(wait, 0, MAX_WAIT));
        bool fresh = round.observedAt > _latestObservedAt(DEMO_FEED) && block.timestamp <= round.observedAt + MAX_AGE;
        (bool stored, uint80 roundId) = _submit(DEMO_FEED, round.proof, round.instances, round.observedAt);
        if (stored) demoSource[roundId] = bound(index, 0, DEMO_ROUNDS - 1);
        if (!stored && fresh && !oracle.isPaused(DEMO_FEED)) ++validRefused;
    }

    /// @notice Sends fixture proof `index` with one instance or one proof byte changed.
    function submitForged(uint256 index, uint256 position, uint256 delta, bool inProof) external {
        DemoRound memory round = s_demoRounds[bound(index, 0, DEMO_ROUNDS - 1)];
        if (block.timestamp < round.observedAt) vm.warp(round.observedAt);
        if (inProof) {
            position = bound(position, 0, round.proof.length - 1);
            round.proof[position] = round.proof[position] ^ bytes1(uint8(bound(delta, 1, 255)));
        } else {
            position = bound(position, 0, round.instances.length - 1);
            round.instances[position] =
                addmod(round.instances[position], bound(delta, 1, 1 << 32), EzklInstances.FIELD_MODULUS);
        }
        (bool stored,) = _submit(DEMO_FEED, round.proof, round.instances, round.observedAt);
        if (stored) ++forgedAccepted;
    }

    /// @notice A stub round observed `age` seconds ago (which may be stale, or too old).
    function submitStub(uint256 age, uint256 answerSteps) external {
        uint256 observedAt = block.timestamp - bound(age, 0, 2 * MAX_WAIT);
        uint256 instance = EzklInstances.toInstance(int256(bound(answerSteps, 0, 1 << 40)) - (1 << 39));
        bool fresh = observedAt > _latestObservedAt(STUB_FEED);
        (bool stored,) = _submit(STUB_FEED, "", stubInstances(observedAt, instance), observedAt);
        if (!stored && fresh && !oracle.isPaused(STUB_FEED)) ++validRefused;
    }

    function setPaused(bool demo, bool paused) external {
        oracle.setPaused(demo ? DEMO_FEED : STUB_FEED, paused);
    }

    function setHalted(bool demo, bool halted) external {
        oracle.setHalted(demo ? DEMO_FEED : STUB_FEED, halted);
    }

    /// @notice A new circuit for the stub feed (no rotation delay here): a new phase of ids.
    function rotateStub() external {
        oracle.proposeRotation(STUB_FEED, stubCircuit(deployStub(true)));
        oracle.executeRotation(STUB_FEED);
    }

    function wait(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, MAX_WAIT));
    }

    // ------------------------------------------------------------ what the invariants read

    function storedIds(bytes32 feedId) external view returns (uint80[] memory) {
        return s_ids[feedId];
    }

    function storedObservations(bytes32 feedId) external view returns (uint256[] memory) {
        return s_observedAt[feedId];
    }

    function demoFixtureRound(uint256 index) external view returns (DemoRound memory) {
        return s_demoRounds[index];
    }

    // ------------------------------------------------------------ internals

    function _latestObservedAt(bytes32 feedId) internal view returns (uint256) {
        uint256[] storage times = s_observedAt[feedId];
        return times.length == 0 ? 0 : times[times.length - 1];
    }

    /// @dev Submits as the relayer and checks the oracle's bookkeeping of a stored round.
    function _submit(bytes32 feedId, bytes memory proof, uint256[] memory instances, uint256 observedAt)
        internal
        returns (bool stored, uint80 roundId)
    {
        ++calls;
        bool paused = oracle.isPaused(feedId);
        uint80 before = oracle.latestRoundId(feedId);
        uint256 latestBefore = _latestObservedAt(feedId);
        vm.prank(relayer);
        try oracle.submit(feedId, proof, instances, noEvidence()) returns (uint80 id) {
            (stored, roundId) = (true, id);
        } catch {
            if (oracle.latestRoundId(feedId) != before) ++idNotIncreasing; // a refusal changed the latest id
            return (false, 0);
        }
        if (paused) ++storedWhilePaused;
        if (roundId <= before || oracle.latestRoundId(feedId) != roundId) ++idNotIncreasing;
        if (observedAt <= latestBefore) ++observationNotForward;
        s_ids[feedId].push(roundId);
        s_observedAt[feedId].push(observedAt);
    }
}

/// @notice Invariants of ZkOracle: round ids only increase; the latest observation only moves
///         forward; a stored answer always came from a verified proof; a paused feed stores
///         nothing; a halted feed serves nothing.
contract ZkOracleInvariantTest is OracleTestBase {
    ZkOracleHandler private handler;
    IZkOracle private oracle;
    ZkFeedProxy private demoProxy;
    ZkFeedProxy private stubProxy;

    function setUp() public {
        vm.warp(FIRST_OBSERVED_AT);
        handler = new ZkOracleHandler();
        oracle = handler.oracle();
        demoProxy = new ZkFeedProxy(oracle, DEMO_FEED, false);
        stubProxy = new ZkFeedProxy(oracle, STUB_FEED, false);
    }

    /// @dev Read by forge: only the handler's functions are called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev The handler's own wiring: a valid proof lands, a forged one does not, a stub round
    ///      lands; so the invariants below are not met by a handler that never stores anything.
    function test_HandlerStoresRoundsAndCountsNoViolation() public {
        handler.submitDemo(0, 0);
        handler.submitForged(1, 3, 1, false);
        handler.submitForged(1, 100, 1, true);
        handler.submitDemo(1, 0);
        handler.submitStub(0, 5);
        vm.assertEq(handler.storedIds(DEMO_FEED).length, 2, "two real rounds");
        vm.assertEq(handler.storedIds(STUB_FEED).length, 1, "one stub round");
        vm.assertEq(handler.forgedAccepted() + handler.validRefused() + handler.storedWhilePaused(), 0, "no violation");
        invariant_StoredAnswerCameFromAVerifiedProof();
        invariant_RoundIdsOnlyIncrease();
        invariant_LatestObservationOnlyMovesForward();
    }

    function invariant_RoundIdsOnlyIncrease() public view {
        vm.assertEq(handler.idNotIncreasing(), 0, "a round id did not increase");
        _checkIdsIncrease(DEMO_FEED);
        _checkIdsIncrease(STUB_FEED);
    }

    function invariant_LatestObservationOnlyMovesForward() public view {
        vm.assertEq(handler.observationNotForward(), 0, "an observation did not move forward");
        _checkLatestObservation(DEMO_FEED);
        _checkLatestObservation(STUB_FEED);
    }

    function invariant_StoredAnswerCameFromAVerifiedProof() public view {
        vm.assertEq(handler.forgedAccepted(), 0, "a tampered proof was accepted");
        vm.assertEq(handler.validRefused(), 0, "a valid fresh proof was refused");
        if (oracle.isHalted(DEMO_FEED)) return; // reads revert; invariant_HaltedFeedServesNothing checks that
        uint80[] memory ids = handler.storedIds(DEMO_FEED);
        for (uint256 i = 0; i < ids.length; ++i) {
            DemoRound memory source = handler.demoFixtureRound(handler.demoSource(ids[i]));
            IZkOracle.Round memory round = oracle.getRound(DEMO_FEED, ids[i]);
            vm.assertEq(round.answer, source.answer, "answer derived from the proof's output");
            vm.assertEq(uint256(round.observedAt), source.observedAt, "the proven observation time");
        }
    }

    function invariant_PausedFeedStoresNothing() public view {
        vm.assertEq(handler.storedWhilePaused(), 0, "a paused feed stored a round");
    }

    function invariant_HaltedFeedServesNothing() public view {
        _checkHalted(DEMO_FEED, demoProxy);
        _checkHalted(STUB_FEED, stubProxy);
    }

    // ------------------------------------------------------------ checks

    function _checkIdsIncrease(bytes32 feedId) private view {
        uint80[] memory ids = handler.storedIds(feedId);
        for (uint256 i = 1; i < ids.length; ++i) {
            vm.assertGt(ids[i], ids[i - 1], "stored ids increase");
        }
        uint256 latest = ids.length == 0 ? 0 : ids[ids.length - 1];
        vm.assertEq(uint256(oracle.latestRoundId(feedId)), latest, "latest id is the last stored");
    }

    function _checkLatestObservation(bytes32 feedId) private view {
        uint256[] memory times = handler.storedObservations(feedId);
        for (uint256 i = 1; i < times.length; ++i) {
            vm.assertGt(times[i], times[i - 1], "observations move forward");
        }
        if (times.length == 0 || oracle.isHalted(feedId)) return;
        (,,, uint256 updatedAt,) = oracle.latestRoundData(feedId);
        vm.assertEq(updatedAt, times[times.length - 1], "latest round reports the latest observation");
    }

    function _checkHalted(bytes32 feedId, ZkFeedProxy proxy) private view {
        if (!oracle.isHalted(feedId)) return;
        bytes memory halted = abi.encodeWithSelector(IZkOracle.ZkOracleFeedHalted.selector, feedId);
        uint80 latest = oracle.latestRoundId(feedId);
        try oracle.latestRoundData(feedId) {
            vm.assertTrue(false, "halted feed served latestRoundData");
        } catch (bytes memory reason) {
            vm.assertEq(keccak256(reason), keccak256(halted), "latestRoundData: ZkOracleFeedHalted");
        }
        try oracle.getRoundData(feedId, latest) {
            vm.assertTrue(false, "halted feed served getRoundData");
        } catch (bytes memory reason) {
            vm.assertEq(keccak256(reason), keccak256(halted), "getRoundData: ZkOracleFeedHalted");
        }
        try proxy.latestRoundData() {
            vm.assertTrue(false, "halted feed served through its proxy");
        } catch (bytes memory reason) {
            vm.assertEq(keccak256(reason), keccak256(halted), "proxy: ZkOracleFeedHalted");
        }
    }
}
