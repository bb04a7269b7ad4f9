// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {EzklInstances} from "../../../contracts/libraries/EzklInstances.sol";

/// @notice EzklInstances' functions as external calls, for its tests.
contract EzklInstancesHarness {
    function toSigned(uint256 instance) external pure returns (int256) {
        return EzklInstances.toSigned(instance);
    }

    function toInstance(int256 value) external pure returns (uint256) {
        return EzklInstances.toInstance(value);
    }

    function toDecimals(int256 value, uint8 scale, uint8 decimals) external pure returns (int256) {
        return EzklInstances.toDecimals(value, scale, decimals);
    }

    function instanceToDecimals(uint256 instance, uint8 scale, uint8 decimals) external pure returns (int256) {
        return EzklInstances.instanceToDecimals(instance, scale, decimals);
    }

    function quantize(int256 value, uint8 decimals, uint8 scale) external pure returns (int256) {
        return EzklInstances.quantize(value, decimals, scale);
    }

    function tryQuantize(int256 value, uint8 decimals, uint8 scale) external pure returns (bool, int256) {
        return EzklInstances.tryQuantize(value, decimals, scale);
    }

    function divRound(int256 numerator, int256 divisor) external pure returns (int256) {
        return EzklInstances.divRound(numerator, divisor);
    }

    function decodeObservedAt(uint256[] calldata limbs, uint8 scale) external pure returns (uint256) {
        return EzklInstances.decodeObservedAt(limbs, scale);
    }
}
