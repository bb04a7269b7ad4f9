// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IHalo2Verifier} from "../interfaces/IHalo2Verifier.sol";
import {IHalo2VerifierReusable} from "../interfaces/IHalo2VerifierReusable.sol";

/// @title ZkVkaVerifier
/// @notice One circuit's verifier for circuits whose generated verifier is over EIP-170's code
///         size limit: EZKL's shared reusable verifier, bound to this circuit's verifying-key
///         artifact (VKA), behind the same `verifyProof(proof, instances)` a generated verifier has.
/// @dev The VKA is fixed at construction and kept as the code of a data contract (read back
///      with EXTCODECOPY: a few thousand gas instead of one cold SLOAD per word).
contract ZkVkaVerifier is IHalo2Verifier {
    /// @notice The shared reusable verifier every proof is checked by.
    IHalo2VerifierReusable public immutable i_reusable;
    /// @notice keccak256 of the VKA's words, as the reusable verifier registered it.
    bytes32 public immutable i_vkaDigest;
    /// @notice The contract whose code holds the VKA (after one leading STOP byte).
    address public immutable i_vkaStore;
    /// @notice How many 32-byte words the VKA has.
    uint256 public immutable i_vkaWords;

    /// @dev After PUSH4 size: DUP1, PUSH1 14, PUSH1 0, CODECOPY, PUSH1 0, RETURN, so the creation
    ///      code (14 bytes of header) returns the code that follows it.
    bytes9 private constant STORE_HEADER = 0x80600e6000396000f3;

    error ZkVkaVerifierEmptyVka();
    error ZkVkaVerifierStoreFailed(uint256 words);
    error ZkVkaVerifierDigestMismatch(bytes32 expected, bytes32 returned);

    /// @param reusable EZKL's reusable verifier on this chain.
    /// @param vka This circuit's verifying-key artifact; it is registered with `reusable` here.
    constructor(IHalo2VerifierReusable reusable, bytes32[] memory vka) {
        if (vka.length == 0) revert ZkVkaVerifierEmptyVka();
        i_reusable = reusable;
        i_vkaWords = vka.length;
        i_vkaStore = _store(vka);
        i_vkaDigest = reusable.registerVka(vka);
    }

    /// @notice Checks `proof` against this circuit; reverts, as generated verifiers do, when it is invalid.
    /// @param proof The serialized Halo2/KZG proof.
    /// @param instances The public instances (BN254 field elements), inputs then outputs.
    /// @return True when the proof is valid.
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool) {
        (bool success, bytes32 digest) = i_reusable.verifyProof(proof, instances, vka());
        if (digest != i_vkaDigest) revert ZkVkaVerifierDigestMismatch(i_vkaDigest, digest);
        return success;
    }

    /// @notice The verifying-key artifact this verifier checks proofs against.
    /// @return words The VKA's words, as given at construction.
    function vka() public view returns (bytes32[] memory words) {
        uint256 count = i_vkaWords;
        address store = i_vkaStore;
        words = new bytes32[](count);
        assembly ("memory-safe") {
            extcodecopy(store, add(words, 0x20), 1, mul(count, 0x20))
        }
    }

    function _store(bytes32[] memory vka) private returns (address store) {
        // A leading STOP keeps the data from ever running as code.
        bytes memory code = abi.encodePacked(bytes1(0x00), vka);
        bytes memory creation = abi.encodePacked(bytes1(0x63), uint32(code.length), STORE_HEADER, code);
        assembly ("memory-safe") {
            store := create(0, add(creation, 0x20), mload(creation))
        }
        if (store == address(0)) revert ZkVkaVerifierStoreFailed(vka.length);
    }
}
