// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ZkFeedProxy} from "../../contracts/ZkFeedProxy.sol";
import {IZkOracle} from "../../contracts/interfaces/IZkOracle.sol";
import {PhasedRoundIds} from "../../contracts/libraries/PhasedRoundIds.sol";
import {DemoRound, OracleTestBase} from "./utils/OracleTestBase.sol";

/// @notice The proxy serves a feed as Chainlink's AggregatorV3Interface: real demo rounds, and a
///         sliced feed (stub verifiers) for the coverage rule.
contract ZkFeedProxyTest is OracleTestBase {
    uint32 private constant MAX_AGE = 1 hours;
    bytes32 private constant SLICED_FEED = keccak256("sliced");

    IZkOracle private oracle;
    ZkFeedProxy private proxy;

    function setUp() public {
        oracle = deployOracle(0, 0);
        registerDemo(oracle, deployDemoVerifier(), MAX_AGE);
        proxy = new ZkFeedProxy(oracle, DEMO_FEED, false);
    }

    function test_DescribesTheFeed() public view {
        vm.assertEq(uint256(proxy.decimals()), 8, "decimals");
        vm.assertEq(keccak256(bytes(proxy.description())), keccak256("ETH / USD forecast (test)"), "description");
        vm.assertEq(proxy.version(), 2, "version");
        vm.assertEq(address(proxy.i_oracle()), address(oracle), "oracle");
        vm.assertEq(proxy.i_feedId(), DEMO_FEED, "feed");
    }

    function test_ServesTheOraclesRounds() public {
        DemoRound memory first = demoRound(0);
        DemoRound memory second = demoRound(1);
        vm.warp(first.observedAt);
        uint80 firstId = submitDemo(oracle, first);
        vm.warp(second.observedAt + 3);
        uint80 secondId = submitDemo(oracle, second);

        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            proxy.latestRoundData();
        vm.assertEq(uint256(id), uint256(secondId), "latest id");
        vm.assertEq(answer, second.answer, "latest answer");
        vm.assertEq(startedAt, second.observedAt, "startedAt");
        vm.assertEq(updatedAt, second.observedAt, "updatedAt: the observation, not the inclusion");
        vm.assertEq(uint256(answeredInRound), uint256(secondId), "answeredInRound");
        (, answer,, updatedAt,) = proxy.getRoundData(firstId);
        vm.assertEq(answer, first.answer, "first answer");
        vm.assertEq(updatedAt, first.observedAt, "first observation");
        (, answer,,,) = proxy.latestRoundDataNoOlderThan(3);
        vm.assertEq(answer, second.answer, "fresh enough");
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleStaleAnswer.selector, DEMO_FEED, second.observedAt, 2));
        proxy.latestRoundDataNoOlderThan(2);
    }

    function test_RevertsBeforeTheFirstRoundAndForUnknownRounds() public {
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleNoRounds.selector, DEMO_FEED));
        proxy.latestRoundData();
        uint80 missing = PhasedRoundIds.pack(1, 7);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownRound.selector, DEMO_FEED, missing));
        proxy.getRoundData(missing);
    }

    function test_HaltedFeedServesNothing() public {
        DemoRound memory round = demoRound(0);
        vm.warp(round.observedAt);
        uint80 id = submitDemo(oracle, round);
        vm.prank(admin);
        oracle.setHalted(DEMO_FEED, true);
        bytes memory halted = abi.encodeWithSelector(IZkOracle.ZkOracleFeedHalted.selector, DEMO_FEED);
        vm.expectRevert(halted);
        proxy.latestRoundData();
        vm.expectRevert(halted);
        proxy.getRoundData(id);
    }

    function test_ConstructorChecksTheOracleAndFeed() public {
        vm.expectRevert(abi.encodeWithSelector(ZkFeedProxy.ZkFeedProxyOracleNotAContract.selector, outsider));
        new ZkFeedProxy(IZkOracle(outsider), DEMO_FEED, false);
        vm.expectRevert(abi.encodeWithSelector(IZkOracle.ZkOracleUnknownFeed.selector, STUB_FEED));
        new ZkFeedProxy(oracle, STUB_FEED, false);
    }

    /// @dev A sliced model whose middle slice is run but not proven: the default proxy refuses
    ///      its rounds, one deployed to accept partial coverage serves them.
    function test_PartlyProvenRoundsOnlyWhereAccepted() public {
        IZkOracle.CircuitConfig memory circuit = stubCircuit(deployStub(true));
        circuit.instanceCount = 3; // [limb0, limb1, limb2]: its output commitment is in its proof
        circuit.outputIndex = 0;
        circuit.slices = new IZkOracle.SliceConfig[](2);
        circuit.slices[0] = IZkOracle.SliceConfig(address(0), 0);
        circuit.slices[1] = IZkOracle.SliceConfig(deployStub(true), 1); // [answer]
        vm.startPrank(admin);
        oracle.registerFeed(SLICED_FEED, feedParams(MAX_AGE), circuit);
        oracle.setSubmitter(SLICED_FEED, relayer, true);
        vm.stopPrank();

        vm.warp(FIRST_OBSERVED_AT);
        bytes[] memory proofs = new bytes[](3);
        uint256[][] memory instances = new uint256[][](3);
        uint256[] memory stubLayout = stubInstances(FIRST_OBSERVED_AT, 0);
        instances[0] = new uint256[](3); // the time limbs alone
        for (uint256 i = 0; i < 3; ++i) {
            instances[0][i] = stubLayout[i];
        }
        instances[1] = new uint256[](0);
        instances[2] = new uint256[](1);
        instances[2][0] = 3 << STUB_SCALE; // nothing links across the unproven slice
        vm.prank(relayer);
        uint80 id = oracle.submitSlices(SLICED_FEED, proofs, instances, noEvidence());

        ZkFeedProxy strict = new ZkFeedProxy(oracle, SLICED_FEED, false);
        vm.expectRevert(
            abi.encodeWithSelector(ZkFeedProxy.ZkFeedProxyPartialCoverage.selector, id, uint16(2), uint16(3))
        );
        strict.latestRoundData();
        ZkFeedProxy lenient = new ZkFeedProxy(oracle, SLICED_FEED, true);
        (, int256 answer,,,) = lenient.latestRoundData();
        vm.assertEq(answer, 3e8, "3.0 at 8 decimals");
    }
}
