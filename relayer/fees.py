"""EIP-1559 fees: what to offer now, and how much more a replacement must offer."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

# Room for the base fee to rise for a few full blocks (+12.5% each) before the tx is priced out.
BASE_FEE_HEADROOM = 2


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def bumped(self, market: Fees) -> Fees:
        """Fees for a same-nonce replacement: nodes (geth's rule) want ≥ 12.5% more on both fields.

        Never below what the market asks now, so a replacement is not stuck in turn.
        """
        priority = max(_bump(self.max_priority_fee_per_gas), market.max_priority_fee_per_gas)
        return Fees(
            max_fee_per_gas=max(_bump(self.max_fee_per_gas), market.max_fee_per_gas, priority),
            max_priority_fee_per_gas=priority,
        )


def _bump(wei: int) -> int:
    return wei * 9 // 8 + 1  # 1.125× + 1 wei, in integers so rounding never lands under the rule


def market_fees(w3: Web3) -> Fees:
    """The tip the node suggests, on top of the next block's base fee with headroom."""
    history = w3.eth.fee_history(1, "latest")
    next_base_fee = int(history["baseFeePerGas"][-1])  # the last entry is the block after "latest"
    priority = int(w3.eth.max_priority_fee)
    return Fees(max_fee_per_gas=BASE_FEE_HEADROOM * next_base_fee + priority, max_priority_fee_per_gas=priority)
