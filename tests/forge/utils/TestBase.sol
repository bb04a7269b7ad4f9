// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Vm} from "./Vm.sol";

/// @title TestBase
/// @notice What every test contract of this suite shares: the cheatcodes and a few helpers.
abstract contract TestBase {
    /// @dev Foundry's cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @dev `value` mapped into [min, max] without discarding fuzz runs.
    function bound(uint256 value, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "TestBase: empty range");
        if (value >= min && value <= max) return value;
        uint256 size = max - min;
        if (size == type(uint256).max) return value;
        return min + value % (size + 1);
    }

    /// @dev A fixture file of this suite, by its name in tests/forge/fixtures.
    function fixture(string memory name) internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/tests/forge/fixtures/", name));
    }
}
