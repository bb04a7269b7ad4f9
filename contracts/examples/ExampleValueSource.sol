// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ExampleValueSource
/// @notice An on-chain value a feed can declare as a model input: ZkOracle reads it during
///         `submit` and requires the proof to have used exactly this value.
contract ExampleValueSource {
    error ExampleValueSourceNotOwner(address caller);

    event ValueSet(int256 value);

    address private immutable i_owner;
    int256 private s_value;

    /// @param initial The first value, with the decimals the feed declares for this input.
    constructor(int256 initial) {
        i_owner = msg.sender;
        _setValue(initial);
    }

    /// @notice Replaces the value. Only the deployer may call it.
    /// @param value The new value.
    function setValue(int256 value) external {
        if (msg.sender != i_owner) revert ExampleValueSourceNotOwner(msg.sender);
        _setValue(value);
    }

    /// @notice The current value.
    /// @return The value.
    function value() external view returns (int256) {
        return s_value;
    }

    function _setValue(int256 newValue) internal {
        s_value = newValue;
        emit ValueSet(newValue);
    }
}
