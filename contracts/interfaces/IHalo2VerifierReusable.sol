// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IHalo2VerifierReusable
/// @notice EZKL's reusable verifier: one contract per chain for every circuit, each circuit
///         described by its verifying-key artifact (VKA), registered once and passed on every call.
interface IHalo2VerifierReusable {
    /// @notice Records `vka` as a known verifying-key artifact.
    /// @param vka The artifact's words, as `ezkl.create_evm_vka` writes them.
    /// @return vkaDigest keccak256 of the packed words.
    function registerVka(bytes32[] memory vka) external returns (bytes32 vkaDigest);

    /// @notice Checks `proof` against the circuit `vka` describes; reverts on an invalid proof.
    /// @dev EZKL's contract returns these two words followed by the rescaled instances, which are
    ///      not ABI-encoded (no offset word); declaring only the two leading words keeps the
    ///      return data decodable.
    /// @param proof The serialized Halo2/KZG proof.
    /// @param instances The public instances (BN254 field elements).
    /// @param vka A registered verifying-key artifact.
    /// @return success True when the proof is valid.
    /// @return vkaDigest The digest of `vka`.
    function verifyProof(bytes calldata proof, uint256[] calldata instances, bytes32[] memory vka)
        external
        returns (bool success, bytes32 vkaDigest);
}
