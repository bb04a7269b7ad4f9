// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {EzklInstances} from "../../contracts/libraries/EzklInstances.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @dev External entry points, so a library revert happens one call below the test.
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

/// @notice Unit and fuzz tests of the number encoding, against vectors computed by the node's
///         Python implementation (`oracle.circuits.quantize`, see fixtures/make_fixtures.py).
contract EzklInstancesTest is TestBase {
    uint256 private constant P = EzklInstances.FIELD_MODULUS;
    uint256 private constant VECTORS = 256;

    EzklInstancesHarness private lib;

    function setUp() public {
        lib = new EzklInstancesHarness();
    }

    // ------------------------------------------------------------ against the Python vectors

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_InstanceToDecimalsMatchesPython(uint256 index) public view {
        _checkInstanceToDecimals(fixture("number_vectors.json"), index);
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_QuantizeMatchesPython(uint256 index) public view {
        _checkQuantize(fixture("number_vectors.json"), index);
    }

    /// @dev Every vector once, so a mismatch anywhere fails even with few fuzz runs.
    function test_AllPythonVectors() public view {
        string memory vectors = fixture("number_vectors.json");
        for (uint256 i = 0; i < VECTORS; ++i) {
            _checkInstanceToDecimals(vectors, i);
            _checkQuantize(vectors, i);
        }
    }

    function _checkInstanceToDecimals(string memory vectors, uint256 index) private view {
        string memory at = string.concat(".instanceToDecimals[", vm.toString(bound(index, 0, VECTORS - 1)), "]");
        uint256 instance = vm.parseJsonUint(vectors, string.concat(at, ".instance"));
        uint8 scale = uint8(vm.parseJsonUint(vectors, string.concat(at, ".scale")));
        uint8 decimals = uint8(vm.parseJsonUint(vectors, string.concat(at, ".decimals")));
        int256 expected = vm.parseJsonInt(vectors, string.concat(at, ".answer"));
        vm.assertEq(lib.instanceToDecimals(instance, scale, decimals), expected, at);
    }

    function _checkQuantize(string memory vectors, uint256 index) private view {
        string memory at = string.concat(".quantize[", vm.toString(bound(index, 0, VECTORS - 1)), "]");
        int256 value = vm.parseJsonInt(vectors, string.concat(at, ".value"));
        uint8 decimals = uint8(vm.parseJsonUint(vectors, string.concat(at, ".decimals")));
        uint8 scale = uint8(vm.parseJsonUint(vectors, string.concat(at, ".scale")));
        int256 expected = vm.parseJsonInt(vectors, string.concat(at, ".steps"));
        vm.assertEq(lib.quantize(value, decimals, scale), expected, at);
    }

    // ------------------------------------------------------------ properties

    function testFuzz_SignedRoundTrip(int256 value) public view {
        value %= int256(EzklInstances.MAX_FIELD_MAGNITUDE) + 1; // keeps the sign: |value| <= (p - 1) / 2
        uint256 instance = lib.toInstance(value);
        vm.assertTrue(instance < P, "instance in field");
        vm.assertEq(lib.toSigned(instance), value, "round trip");
    }

    function testFuzz_InstanceRoundTrip(uint256 instance) public view {
        instance = bound(instance, 0, P - 1);
        vm.assertEq(lib.toInstance(lib.toSigned(instance)), instance, "round trip");
    }

    function testFuzz_ToSignedRejectsNonCanonical(uint256 instance) public {
        instance = bound(instance, P, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesNotInField.selector, instance));
        lib.toSigned(instance);
    }

    /// @dev Half away from zero: the rounded quotient is within half a divisor, and symmetric.
    function testFuzz_DivRoundHalfAwayFromZero(int128 numerator, uint64 divisor) public view {
        vm.assume(divisor > 0);
        int256 d = int256(uint256(divisor));
        int256 quotient = lib.divRound(numerator, d);
        int256 rest = int256(numerator) - quotient * d;
        vm.assertTrue(2 * rest <= d && 2 * rest >= -d, "within half a divisor");
        vm.assertEq(lib.divRound(-int256(numerator), d), -quotient, "symmetric");
        if (2 * rest == d || 2 * rest == -d) {
            // A tie: the quotient went past the exact value, away from zero.
            vm.assertTrue(numerator >= 0 ? rest < 0 : rest > 0, "tie away from zero");
        }
    }

    function test_DivRoundTies() public view {
        vm.assertEq(lib.divRound(5, 2), 3, "2.5");
        vm.assertEq(lib.divRound(-5, 2), -3, "-2.5");
        vm.assertEq(lib.divRound(3, 2), 2, "1.5");
        vm.assertEq(lib.divRound(7, 4), 2, "1.75");
        vm.assertEq(lib.divRound(-7, 4), -2, "-1.75");
        vm.assertEq(lib.divRound(type(int256).min, 1), type(int256).min, "min / 1");
    }

    function test_DivRoundRejectsNonPositiveDivisor() public {
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesNonPositiveDivisor.selector, int256(0)));
        lib.divRound(1, 0);
    }

    /// @dev A grid value survives quantize then toDecimals unchanged when the decimals can hold it.
    function testFuzz_QuantizeThenDecimalsRoundTrip(int64 steps, uint8 scale) public view {
        scale = uint8(bound(scale, 0, 18));
        // 10**18 holds every multiple of 2**-18 exactly (2**18 divides 10**18).
        int256 value = lib.toDecimals(steps, scale, 18);
        vm.assertEq(lib.quantize(value, 18, scale), steps, "round trip");
    }

    function test_QuantizeOverflowIsReported() public {
        int256 value = type(int256).max / 2;
        (bool ok, int256 steps) = lib.tryQuantize(value, 0, 2);
        vm.assertFalse(ok, "tryQuantize overflow");
        vm.assertEq(steps, 0, "no steps");
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesQuantizeOverflow.selector, value, uint8(2)));
        lib.quantize(value, 0, 2);
    }

    function test_UnsupportedScaleAndDecimals() public {
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesUnsupportedScale.selector, uint8(255)));
        lib.toDecimals(1, 255, 0);
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesUnsupportedDecimals.selector, uint8(77)));
        lib.toDecimals(1, 0, 77);
    }

    function test_DecimalsOverflowIsReported() public {
        int256 value = type(int256).max;
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesDecimalsOverflow.selector, value, uint8(1)));
        lib.toDecimals(value, 0, 1);
    }

    // ------------------------------------------------------------ observation time limbs

    function testFuzz_ObservedAtLimbs(uint32 time, uint8 scale) public view {
        scale = uint8(bound(scale, 0, 64));
        uint256[] memory limbs = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            limbs[i] = ((uint256(time) >> (11 * i)) & 0x7ff) << scale;
        }
        vm.assertEq(lib.decodeObservedAt(limbs, scale), time, "decoded time");
    }

    function test_ObservedAtRejectsWrongCount() public {
        vm.expectRevert(abi.encodeWithSelector(EzklInstances.EzklInstancesTimeLimbCount.selector, uint256(2)));
        lib.decodeObservedAt(new uint256[](2), 13);
    }

    function test_ObservedAtRejectsOffGridAndWideLimbs() public {
        uint256[] memory limbs = new uint256[](3);
        limbs[1] = (1 << 13) + 1; // off the scale's grid
        vm.expectRevert(
            abi.encodeWithSelector(EzklInstances.EzklInstancesMalformedTimeLimb.selector, uint256(1), limbs[1])
        );
        lib.decodeObservedAt(limbs, 13);
        limbs[1] = 0;
        limbs[2] = uint256(1 << 11) << 13; // 12 bits
        vm.expectRevert(
            abi.encodeWithSelector(EzklInstances.EzklInstancesMalformedTimeLimb.selector, uint256(2), limbs[2])
        );
        lib.decodeObservedAt(limbs, 13);
    }
}
