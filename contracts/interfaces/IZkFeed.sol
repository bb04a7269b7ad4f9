// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IZkFeed
/// @notice A zkoracle feed as consumers read it: Chainlink's AggregatorV3Interface, where
///         `startedAt` and `updatedAt` are the proven observation time, plus what the proxy adds.
///         Implemented by ZkFeedProxy, and by MockZkFeed for consumers' tests.
interface IZkFeed is AggregatorV3Interface {
    /// @notice The latest round, reverting with IZkOracle.ZkOracleStaleAnswer when its proven
    ///         observation is older than `maxAge`.
    /// @param maxAge The oldest acceptable observation, in seconds.
    /// @return roundId The round id.
    /// @return answer The answer.
    /// @return startedAt The observation time.
    /// @return updatedAt The observation time.
    /// @return answeredInRound Equal to roundId.
    function latestRoundDataNoOlderThan(uint256 maxAge)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Whether the feed serves rounds whose model was only partly proven; when false,
    ///         reading such a round reverts with ZkFeedProxy.ZkFeedProxyPartialCoverage.
    /// @return True when partly proven rounds are served.
    function i_acceptsPartialCoverage() external view returns (bool);
}
