// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title InputMover
/// @notice An attacker's contract for tests: it owns the sources it creates, and in one
///         transaction moves a source, calls the oracle, and moves the source back.
contract InputMover {
    error InputMoverCreateFailed();

    /// @notice Deploys `initCode`, so this contract owns what it creates.
    /// @param initCode Creation bytecode with its constructor arguments.
    /// @return created The new contract.
    function create(bytes memory initCode) external returns (address created) {
        assembly {
            created := create(0, add(initCode, 0x20), mload(initCode))
        }
        if (created == address(0)) revert InputMoverCreateFailed();
    }

    /// @notice `move` on the source, `submitCall` on the oracle, then `restore` on the source,
    ///         all in this transaction; any revert is passed through unchanged.
    /// @param source The input's source.
    /// @param move The call that moves it.
    /// @param oracle The oracle.
    /// @param submitCall The submission.
    /// @param restore The call that moves the source back.
    function moveSubmitRestore(
        address source,
        bytes calldata move,
        address oracle,
        bytes calldata submitCall,
        bytes calldata restore
    ) external {
        _call(source, move);
        _call(oracle, submitCall);
        _call(source, restore);
    }

    function _call(address target, bytes calldata data) internal {
        (bool ok, bytes memory returned) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(returned, 0x20), mload(returned))
            }
        }
    }
}
