// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ERC1271Wallet
/// @notice A minimal EIP-1271 contract account for tests: a signature is valid when its
///         owner's key signed the hash (65-byte r, s, v), so a contract can be a data attester.
contract ERC1271Wallet {
    bytes4 internal constant MAGIC_VALUE = 0x1626ba7e;

    address public immutable i_owner;

    /// @param owner The key whose signatures this wallet accepts.
    constructor(address owner) {
        i_owner = owner;
    }

    /// @notice EIP-1271: MAGIC_VALUE when the owner signed `hash`, else 0xffffffff.
    /// @param hash The signed digest.
    /// @param signature r, s and v of the owner's signature.
    /// @return The EIP-1271 verdict.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        address signer = ecrecover(hash, v, r, s);
        return signer != address(0) && signer == i_owner ? MAGIC_VALUE : bytes4(0xffffffff);
    }
}
