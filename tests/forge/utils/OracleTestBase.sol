// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IZkOracle} from "../../../contracts/interfaces/IZkOracle.sol";
import {Halo2Verifier} from "../fixtures/DemoVerifier.sol";
import {StubVerifier} from "./Stubs.sol";
import {TestBase} from "./TestBase.sol";

/// @notice One real EZKL proof of the demo model (fixtures/demo_rounds.json) and what the
///         node's Python code says the oracle must derive from it.
struct DemoRound {
    uint256 observedAt;
    bytes proof;
    uint256[] instances;
    int256 answer;
}

/// @title OracleTestBase
/// @notice Deploys ZkOracle (from its IR-compiled artifact: only the IR pipeline keeps it under
///         EIP-170) and builds the configurations the tests register: the demo circuit with its
///         generated verifier and real proofs, and a stub layout `[limb0, limb1, limb2, answer]`.
abstract contract OracleTestBase is TestBase {
    bytes32 internal constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 internal constant DEMO_FEED = keccak256("demo");
    bytes32 internal constant STUB_FEED = keccak256("stub");
    uint8 internal constant STUB_SCALE = 13;
    /// @dev The demo fixture's rounds observe from here on, 10 seconds apart, in order.
    uint256 internal constant FIRST_OBSERVED_AT = 1_767_225_600;
    uint256 internal constant DEMO_ROUNDS = 4;

    address internal admin = address(0xAD);
    address internal relayer = address(0xBEEF);
    address internal outsider = address(0xBAD);

    function deployOracle(uint48 adminTransferDelay, uint256 rotationDelay) internal returns (IZkOracle oracle) {
        oracle = IZkOracle(vm.deployCode("ZkOracle.sol:ZkOracle", abi.encode(admin, adminTransferDelay, rotationDelay)));
        vm.label(address(oracle), "ZkOracle");
    }

    function grantOperator(IZkOracle oracle, address account) internal {
        vm.prank(admin);
        IAccessControl(address(oracle)).grantRole(OPERATOR_ROLE, account);
    }

    function feedParams(uint32 maxObservationAge) internal pure returns (IZkOracle.FeedParams memory params) {
        params.decimals = 8;
        params.heartbeat = 60;
        params.maxObservationAge = maxObservationAge;
        params.inputPolicy = IZkOracle.InputPolicy.Operator;
        params.minAnswer = type(int192).min;
        params.maxAnswer = type(int192).max;
        params.description = "ETH / USD forecast (test)";
    }

    // ------------------------------------------------------------ the demo circuit, real proofs

    function demoFixture() internal view returns (string memory) {
        return fixture("demo_rounds.json");
    }

    function deployDemoVerifier() internal returns (address verifier) {
        verifier = address(new Halo2Verifier());
        vm.label(verifier, "DemoVerifier");
    }

    function demoCircuit(address verifier) internal view returns (IZkOracle.CircuitConfig memory circuit) {
        string memory json = demoFixture();
        circuit.verifier = verifier;
        circuit.modelCommitment = vm.parseJsonBytes32(json, ".modelCommitment");
        circuit.instanceCount = uint32(vm.parseJsonUint(json, ".instanceCount"));
        circuit.inputCount = uint32(vm.parseJsonUint(json, ".inputCount"));
        circuit.outputIndex = uint32(vm.parseJsonUint(json, ".outputIndex"));
        circuit.inputScale = uint8(vm.parseJsonUint(json, ".inputScale"));
        circuit.outputScale = uint8(vm.parseJsonUint(json, ".outputScale"));
        circuit.observedAtIndex = uint32(vm.parseJsonUint(json, ".observedAtIndex"));
    }

    function demoRound(uint256 index) internal view returns (DemoRound memory round) {
        string memory json = demoFixture();
        string memory at = string.concat(".rounds[", vm.toString(index), "]");
        round.observedAt = vm.parseJsonUint(json, string.concat(at, ".observedAt"));
        round.proof = vm.parseJsonBytes(json, string.concat(at, ".proof"));
        round.instances = vm.parseJsonUintArray(json, string.concat(at, ".instances"));
        round.answer = vm.parseJsonInt(json, string.concat(at, ".answer"));
    }

    function inputsHash(uint256[] memory instances, uint256 inputCount) internal pure returns (bytes32) {
        uint256[] memory inputs = new uint256[](inputCount);
        for (uint256 i = 0; i < inputCount; ++i) {
            inputs[i] = instances[i];
        }
        return keccak256(abi.encodePacked(inputs));
    }

    /// @dev The demo circuit registered as an operator feed with `relayer` allowed to submit.
    function registerDemo(IZkOracle oracle, address verifier, uint32 maxObservationAge) internal {
        vm.startPrank(admin);
        oracle.registerFeed(DEMO_FEED, feedParams(maxObservationAge), demoCircuit(verifier));
        oracle.setSubmitter(DEMO_FEED, relayer, true);
        vm.stopPrank();
    }

    function submitDemo(IZkOracle oracle, DemoRound memory round) internal returns (uint80) {
        vm.prank(relayer);
        return oracle.submit(DEMO_FEED, round.proof, round.instances, noEvidence());
    }

    // ------------------------------------------------------------ stub verifiers

    function deployStub(bool verdict) internal returns (address) {
        return address(new StubVerifier(verdict));
    }

    function stubCircuit(address verifier) internal pure returns (IZkOracle.CircuitConfig memory circuit) {
        circuit.verifier = verifier;
        circuit.instanceCount = 4;
        circuit.inputCount = 3;
        circuit.outputIndex = 3;
        circuit.inputScale = STUB_SCALE;
        circuit.outputScale = STUB_SCALE;
        circuit.observedAtIndex = 0;
    }

    function registerStub(IZkOracle oracle, address verifier, uint32 maxObservationAge) internal {
        vm.startPrank(admin);
        oracle.registerFeed(STUB_FEED, feedParams(maxObservationAge), stubCircuit(verifier));
        oracle.setSubmitter(STUB_FEED, relayer, true);
        vm.stopPrank();
    }

    /// @dev Instances of the stub layout: the observation time's limbs, then `answerSteps`
    ///      (units of 2**-STUB_SCALE, as a field element).
    function stubInstances(uint256 observedAt, uint256 answerInstance)
        internal
        pure
        returns (uint256[] memory instances)
    {
        instances = new uint256[](4);
        for (uint256 i = 0; i < 3; ++i) {
            instances[i] = ((observedAt >> (11 * i)) & 0x7ff) << STUB_SCALE;
        }
        instances[3] = answerInstance;
    }

    function noEvidence() internal pure returns (IZkOracle.InputEvidence memory evidence) {}
}
