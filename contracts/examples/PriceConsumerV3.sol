// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title PriceConsumerV3
/// @notice A consumer written only against Chainlink's AggregatorV3Interface, as in
///         Chainlink's own examples: it reads whatever feed address it is given.
contract PriceConsumerV3 {
    AggregatorV3Interface internal immutable i_dataFeed;

    /// @param feed Any AggregatorV3Interface: a Chainlink aggregator or a ZkFeedProxy.
    constructor(AggregatorV3Interface feed) {
        i_dataFeed = feed;
    }

    /// @notice The latest answer of the feed.
    /// @return answer The answer, with the feed's decimals.
    function getChainlinkDataFeedLatestAnswer() external view returns (int256 answer) {
        (, answer,,,) = i_dataFeed.latestRoundData();
    }

    /// @notice The feed's decimals and description.
    /// @return decimals The feed's decimals.
    /// @return description The feed's description.
    function describe() external view returns (uint8 decimals, string memory description) {
        return (i_dataFeed.decimals(), i_dataFeed.description());
    }
}
