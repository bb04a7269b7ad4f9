// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice A verifier with a fixed verdict, where the verifier is not the point of a test.
contract StubVerifier {
    bool private immutable i_verdict;

    constructor(bool verdict) {
        i_verdict = verdict;
    }

    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) {
        return i_verdict;
    }
}

/// @notice A verifier that reverts, as EZKL's generated verifiers do on a bad proof.
contract RevertingVerifier {
    function verifyProof(bytes calldata, uint256[] calldata) external pure returns (bool) {
        revert("bad proof");
    }
}

/// @notice A reusable verifier that records the VKAs it is given, with a fixed verdict; where
///         EZKL's reusable verifier (tested from pytest with real proofs) is not the point.
contract RecordingReusableVerifier {
    bool private immutable i_verdict;
    bytes32 private immutable i_answeredDigest; // zero: answer with the digest of the VKA passed
    bytes32 public registered;
    bytes32 public lastVerified;

    constructor(bool verdict, bytes32 answeredDigest) {
        i_verdict = verdict;
        i_answeredDigest = answeredDigest;
    }

    function registerVka(bytes32[] memory vka) external returns (bytes32 vkaDigest) {
        vkaDigest = keccak256(abi.encodePacked(vka));
        registered = vkaDigest;
    }

    function verifyProof(bytes calldata, uint256[] calldata, bytes32[] memory vka)
        external
        returns (bool success, bytes32 vkaDigest, int256[] memory rescaledInstances)
    {
        lastVerified = keccak256(abi.encodePacked(vka));
        vkaDigest = i_answeredDigest == bytes32(0) ? lastVerified : i_answeredDigest;
        return (i_verdict, vkaDigest, rescaledInstances);
    }
}
