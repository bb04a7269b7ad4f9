// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IHalo2VerifierReusable} from "../../contracts/interfaces/IHalo2VerifierReusable.sol";
import {ZkVkaVerifier} from "../../contracts/verifiers/ZkVkaVerifier.sol";
import {RecordingReusableVerifier} from "./utils/Stubs.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice A circuit's verifier made of the shared reusable verifier and the circuit's VKA.
contract ZkVkaVerifierTest is TestBase {
    uint256[] private instances;

    function _vka(uint256 words, uint256 seed) private pure returns (bytes32[] memory vka) {
        vka = new bytes32[](words);
        for (uint256 i = 0; i < words; ++i) {
            vka[i] = keccak256(abi.encode(seed, i));
        }
    }

    function _deploy(RecordingReusableVerifier reusable, bytes32[] memory vka) private returns (ZkVkaVerifier) {
        return new ZkVkaVerifier(IHalo2VerifierReusable(address(reusable)), vka);
    }

    function testFuzz_TheVkaIsRegisteredAndKeptAsGiven(uint8 words, uint256 seed) public {
        bytes32[] memory vka = _vka(bound(words, 1, 200), seed);
        RecordingReusableVerifier reusable = new RecordingReusableVerifier(true, bytes32(0));
        ZkVkaVerifier verifier = _deploy(reusable, vka);
        bytes32 digest = keccak256(abi.encodePacked(vka));
        vm.assertEq(reusable.registered(), digest, "registered at construction");
        vm.assertEq(verifier.i_vkaDigest(), digest, "the digest the reusable verifier gave");
        vm.assertEq(keccak256(abi.encodePacked(verifier.vka())), digest, "read back word for word");
        vm.assertEq(verifier.i_vkaWords(), vka.length, "word count");
    }

    function test_EveryProofIsCheckedAgainstTheStoredVka() public {
        bytes32[] memory vka = _vka(157, 1);
        RecordingReusableVerifier reusable = new RecordingReusableVerifier(true, bytes32(0));
        ZkVkaVerifier verifier = _deploy(reusable, vka);
        vm.assertTrue(verifier.verifyProof(hex"01", instances), "the reusable verifier's verdict");
        vm.assertEq(reusable.lastVerified(), keccak256(abi.encodePacked(vka)), "this circuit's VKA was passed");
    }

    function test_ARefusedProofIsFalse() public {
        ZkVkaVerifier verifier = _deploy(new RecordingReusableVerifier(false, bytes32(0)), _vka(8, 2));
        vm.assertFalse(verifier.verifyProof(hex"01", instances), "refused");
    }

    function test_RevertsWhenTheAnswerIsForAnotherVka() public {
        bytes32 other = keccak256("another circuit");
        ZkVkaVerifier verifier = _deploy(new RecordingReusableVerifier(true, other), _vka(8, 3));
        bytes32 own = verifier.i_vkaDigest();
        vm.expectRevert(abi.encodeWithSelector(ZkVkaVerifier.ZkVkaVerifierDigestMismatch.selector, own, other));
        verifier.verifyProof(hex"01", instances);
    }

    function test_RevertsOnAnEmptyVka() public {
        RecordingReusableVerifier reusable = new RecordingReusableVerifier(true, bytes32(0));
        vm.expectRevert(ZkVkaVerifier.ZkVkaVerifierEmptyVka.selector);
        _deploy(reusable, new bytes32[](0));
    }
}
