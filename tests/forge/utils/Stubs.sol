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
