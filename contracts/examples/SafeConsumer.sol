// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IZkFeed} from "../interfaces/IZkFeed.sol";

/// @title SafeConsumer
/// @notice Reads a zkoracle feed with the checks a consumer owes itself: the answer's proven
///         observation is recent enough, the round's whole model was proven, and the answer lies
///         within bounds the consumer considers sane. A halted feed reverts every read, and so
///         does this consumer then.
contract SafeConsumer {
    IZkFeed public immutable i_feed;
    uint256 public immutable i_maxAge;
    int256 public immutable i_minAnswer;
    int256 public immutable i_maxAnswer;

    error SafeConsumerAcceptsPartialCoverage(address feed);
    error SafeConsumerInvalidBounds(int256 minAnswer, int256 maxAnswer);
    error SafeConsumerAnswerOutOfBounds(int256 answer, int256 minAnswer, int256 maxAnswer);

    /// @param feed A ZkFeedProxy deployed to refuse partly proven rounds.
    /// @param maxAge The oldest observation accepted, in seconds.
    /// @param minAnswer The lowest sane answer, with the feed's decimals.
    /// @param maxAnswer The highest sane answer, with the feed's decimals.
    constructor(IZkFeed feed, uint256 maxAge, int256 minAnswer, int256 maxAnswer) {
        // Such a proxy serves answers of models only partly proven, and nothing in the round
        // data tells them apart.
        if (feed.i_acceptsPartialCoverage()) revert SafeConsumerAcceptsPartialCoverage(address(feed));
        if (minAnswer > maxAnswer) revert SafeConsumerInvalidBounds(minAnswer, maxAnswer);
        i_feed = feed;
        i_maxAge = maxAge;
        i_minAnswer = minAnswer;
        i_maxAnswer = maxAnswer;
    }

    /// @notice The latest answer, when observed within `i_maxAge` and within the bounds.
    /// @dev Reverts with the feed's errors (ZkOracleStaleAnswer, ZkOracleFeedHalted,
    ///      ZkOracleNoRounds, ZkFeedProxyPartialCoverage) or SafeConsumerAnswerOutOfBounds.
    /// @return answer The answer, with the feed's decimals.
    /// @return observedAt When the inputs it was computed from were observed.
    function price() external view returns (int256 answer, uint256 observedAt) {
        // updatedAt is the proven observation time, not when the round landed on-chain, so
        // the age is the data's: a proof posted late cannot pass for fresh.
        (, answer,, observedAt,) = i_feed.latestRoundDataNoOlderThan(i_maxAge);
        if (answer < i_minAnswer || answer > i_maxAnswer) {
            revert SafeConsumerAnswerOutOfBounds(answer, i_minAnswer, i_maxAnswer);
        }
    }
}
