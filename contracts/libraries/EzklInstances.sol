// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title EzklInstances
/// @notice How numbers travel as EZKL public instances: elements of the BN254 scalar field
///         holding signed fixed-point values (`round(value * 2**scale)`, a negative one as
///         `FIELD_MODULUS - |x|`), and the observation time as three 11-bit limbs.
/// @dev Rounding is half away from zero throughout, as the node predicts answers
///      (`oracle.circuits.quantize`).
library EzklInstances {
    /// @dev The BN254 scalar field modulus, the field of EZKL's instances.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev (FIELD_MODULUS - 1) / 2, the largest magnitude a signed value held in the field may
    ///      have: the lower half of the field is non-negative, the upper half negative. Written
    ///      out, as the signed bounds below, so that no use computes it at run time.
    uint256 internal constant MAX_FIELD_MAGNITUDE =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;
    int256 private constant MAX_SIGNED =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;
    int256 private constant MIN_SIGNED =
        -10944121435919637611123202872628637544274182200208017171849102093287904247808;
    /// @dev A raw unix time overflows EZKL's range checks, so the observation time is proven
    ///      as three 11-bit limbs, least significant first, each at the input scale.
    uint256 internal constant OBSERVED_AT_LIMBS = 3;
    uint256 internal constant OBSERVED_AT_LIMB_BITS = 11;
    /// @dev The largest scale whose unit 2**scale is a positive int256.
    uint8 internal constant MAX_SCALE = 254;
    /// @dev The largest decimals whose unit 10**decimals is a positive int256.
    uint8 internal constant MAX_DECIMALS = 76;

    error EzklInstancesNotInField(uint256 instance);
    error EzklInstancesSignedOutOfField(int256 value);
    error EzklInstancesUnsupportedScale(uint8 scale);
    error EzklInstancesUnsupportedDecimals(uint8 decimals);
    error EzklInstancesDecimalsOverflow(int256 value, uint8 decimals);
    error EzklInstancesQuantizeOverflow(int256 value, uint8 scale);
    error EzklInstancesNonPositiveDivisor(int256 divisor);
    error EzklInstancesTimeLimbCount(uint256 count);
    error EzklInstancesMalformedTimeLimb(uint256 limb, uint256 instance);

    /// @notice The signed value a field element holds.
    /// @param instance A public instance; reverts unless it is a canonical field element (< p).
    /// @return The element itself in the lower half of the field, `instance - p` in the upper.
    function toSigned(uint256 instance) internal pure returns (int256) {
        if (instance >= FIELD_MODULUS) revert EzklInstancesNotInField(instance);
        // Both magnitudes are at most MAX_FIELD_MAGNITUDE < 2**254: nothing wraps.
        unchecked {
            return instance > MAX_FIELD_MAGNITUDE ? -int256(FIELD_MODULUS - instance) : int256(instance);
        }
    }

    /// @notice The field element holding a signed value, the inverse of `toSigned`.
    /// @param value A value of magnitude at most (p - 1) / 2; reverts otherwise.
    /// @return The value itself when non-negative, `p - |value|` when negative.
    function toInstance(int256 value) internal pure returns (uint256) {
        if (value > MAX_SIGNED || value < MIN_SIGNED) {
            revert EzklInstancesSignedOutOfField(value);
        }
        // |value| <= MAX_FIELD_MAGNITUDE: the negation and the subtraction cannot wrap.
        unchecked {
            return value >= 0 ? uint256(value) : FIELD_MODULUS - uint256(-value);
        }
    }

    /// @notice A fixed-point value at `scale` (units of 2**-scale) in units of 10**-decimals,
    ///         rounded half away from zero.
    /// @param value The value in units of 2**-scale.
    /// @param scale At most MAX_SCALE; reverts otherwise.
    /// @param decimals At most MAX_DECIMALS; reverts otherwise.
    /// @return The value in units of 10**-decimals; reverts when `value * 10**decimals`
    ///         leaves int256.
    function toDecimals(int256 value, uint8 scale, uint8 decimals) internal pure returns (int256) {
        int256 divisor = _scaleUnit(scale);
        int256 multiplier = _decimalUnit(decimals);
        if (value > type(int256).max / multiplier || value < type(int256).min / multiplier) {
            revert EzklInstancesDecimalsOverflow(value, decimals);
        }
        unchecked {
            return _divRound(value * multiplier, divisor); // the product was just bounded
        }
    }

    /// @notice The field element `instance` as a decimal fixed-point value: `toSigned`, then
    ///         `toDecimals`. This is how an answer is read from a proof.
    /// @param instance A canonical field element; reverts otherwise.
    /// @param scale The instance's fixed-point scale.
    /// @param decimals The decimals wanted.
    /// @return The value in units of 10**-decimals, rounded half away from zero.
    function instanceToDecimals(uint256 instance, uint8 scale, uint8 decimals) internal pure returns (int256) {
        return toDecimals(toSigned(instance), scale, decimals);
    }

    /// @notice A decimal value in steps of 2**-scale, rounded half away from zero, as EZKL
    ///         quantises an input; the inverse direction of `toDecimals`.
    /// @param value The value in units of 10**-decimals.
    /// @param decimals At most MAX_DECIMALS; reverts otherwise.
    /// @param scale At most MAX_SCALE; reverts otherwise.
    /// @return steps The value in units of 2**-scale; reverts when `value * 2**scale` leaves int256.
    function quantize(int256 value, uint8 decimals, uint8 scale) internal pure returns (int256 steps) {
        bool ok;
        (ok, steps) = tryQuantize(value, decimals, scale);
        if (!ok) revert EzklInstancesQuantizeOverflow(value, scale);
    }

    /// @notice Like `quantize`, but answers (false, 0) where `quantize` reverts with
    ///         EzklInstancesQuantizeOverflow, so a caller can name the value in its own terms.
    /// @param value The value in units of 10**-decimals.
    /// @param decimals At most MAX_DECIMALS; reverts otherwise.
    /// @param scale At most MAX_SCALE; reverts otherwise.
    /// @return ok Whether the value could be scaled.
    /// @return steps The value in units of 2**-scale when `ok`.
    function tryQuantize(int256 value, uint8 decimals, uint8 scale) internal pure returns (bool ok, int256 steps) {
        int256 divisor = _decimalUnit(decimals);
        int256 multiplier = _scaleUnit(scale);
        if (value > type(int256).max / multiplier || value < type(int256).min / multiplier) return (false, 0);
        unchecked {
            return (true, _divRound(value * multiplier, divisor)); // the product was just bounded
        }
    }

    /// @notice `numerator / divisor` rounded half away from zero.
    /// @param numerator Any int256.
    /// @param divisor Positive; reverts otherwise.
    /// @return The rounded quotient; it never overflows.
    function divRound(int256 numerator, int256 divisor) internal pure returns (int256) {
        if (divisor <= 0) revert EzklInstancesNonPositiveDivisor(divisor);
        return _divRound(numerator, divisor);
    }

    /// @notice The observation time its three limbs encode, each `limb * 2**scale` with
    ///         `limb < 2**11`, least significant first.
    /// @param limbs The OBSERVED_AT_LIMBS instances; reverts on another count, and names the
    ///        first limb off the scale's grid or wider than 11 bits.
    /// @param scale The input scale the limbs were quantised at.
    /// @return time The unix time, below 2**33.
    function decodeObservedAt(uint256[] calldata limbs, uint8 scale) internal pure returns (uint256 time) {
        if (limbs.length != OBSERVED_AT_LIMBS) revert EzklInstancesTimeLimbCount(limbs.length);
        // A uint256 unit: every uint8 scale is representable, and a limb is never negative.
        uint256 unit = uint256(1) << scale;
        // i < 3: the index arithmetic cannot wrap.
        unchecked {
            for (uint256 i = 0; i < OBSERVED_AT_LIMBS; ++i) {
                uint256 instance = limbs[i];
                uint256 limb = instance / unit;
                if (instance % unit != 0 || limb >> OBSERVED_AT_LIMB_BITS != 0) {
                    revert EzklInstancesMalformedTimeLimb(i, instance);
                }
                time |= limb << (OBSERVED_AT_LIMB_BITS * i);
            }
        }
    }

    /// @dev Half away from zero from the remainder, so nothing wraps for a positive divisor:
    ///      the division cannot overflow, |remainder| < divisor keeps both comparisons in
    ///      range, and rounding happens only for a divisor of at least 2, when |quotient|
    ///      is at most 2**254.
    function _divRound(int256 numerator, int256 divisor) private pure returns (int256 quotient) {
        unchecked {
            quotient = numerator / divisor;
            int256 remainder = numerator % divisor;
            if (remainder >= 0 ? remainder >= divisor - remainder : -remainder >= divisor + remainder) {
                quotient += numerator >= 0 ? int256(1) : int256(-1);
            }
        }
    }

    /// @dev 2**scale, the unit of a fixed-point value at `scale`.
    function _scaleUnit(uint8 scale) private pure returns (int256) {
        if (scale > MAX_SCALE) revert EzklInstancesUnsupportedScale(scale);
        return int256(1) << scale;
    }

    /// @dev 10**decimals, the unit of a decimal value with `decimals`.
    function _decimalUnit(uint8 decimals) private pure returns (int256) {
        if (decimals > MAX_DECIMALS) revert EzklInstancesUnsupportedDecimals(decimals);
        return int256(10 ** uint256(decimals));
    }
}
