"""Inputs that are rounds of AggregatorV3Interface feeds on the oracle's chain (the onchain policy).

Each fetch reads every feed's latest round; the node names those round ids in ``submit``
and ZkOracle reads the same rounds with ``getRoundData``, so the values are snapped to the
circuit's fixed-point grid exactly as the contract quantises them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import ContractCustomError, Web3Exception

from oracle.circuits.quantize import quantize_like_contract
from oracle.evm.contracts import project_contracts, project_error_decoder
from oracle.exceptions import SourceError
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.settings import EvmAggregatorSourceSpec

AGGREGATOR = "AggregatorV3Interface"


@dataclass(frozen=True)
class AggregatorFeed:
    address: str
    max_age_seconds: int


class EvmAggregatorSource(InputSource):
    def __init__(self, feeds: Sequence[AggregatorFeed], *, w3: Web3, input_scale: int) -> None:
        abi = project_contracts()[AGGREGATOR].abi
        self._feeds = list(feeds)
        self._contracts = [w3.eth.contract(address=Web3.to_checksum_address(f.address), abi=abi) for f in feeds]
        self._input_scale = input_scale
        self._decimals: list[int] | None = None
        self._rounds: tuple[int, ...] = ()

    @classmethod
    def from_settings(cls, settings: EvmAggregatorSourceSpec, context: SourceContext | None) -> EvmAggregatorSource:
        if context is None or context.w3 is None or context.input_scale is None:
            raise SourceError("an evm_aggregator source reads the oracle's chain and needs the circuit's input scale")
        feeds = [AggregatorFeed(f.address, f.max_age_seconds) for f in settings.feeds]
        return cls(feeds, w3=context.w3, input_scale=context.input_scale)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        try:
            if self._decimals is None:  # fixed per feed: read once
                self._decimals = [int(c.functions.decimals().call()) for c in self._contracts]
            latest = [c.functions.latestRoundData().call() for c in self._contracts]
        except ContractCustomError as exc:
            # E.g. ZkOracleNoRounds from a zkoracle proxy whose feed has not landed a round yet.
            reverted = project_error_decoder().decode(exc.data if isinstance(exc.data, str) else None)
            raise SourceError(f"aggregator source: latestRoundData reverted with {reverted}") from exc
        except (Web3Exception, ValueError) as exc:
            raise SourceError(f"aggregator source: cannot read latestRoundData ({exc})") from exc
        values = []
        for feed, decimals, (round_id, answer, _started, updated_at, _answered) in zip(
            self._feeds, self._decimals, latest, strict=True
        ):
            if now is not None and now - int(updated_at) > feed.max_age_seconds:
                raise SourceError(
                    f"aggregator {feed.address}: its latest round is {now - int(updated_at):.0f} s old, "
                    f"over the {feed.max_age_seconds} s the oracle accepts"
                )
            steps = quantize_like_contract(int(answer), decimals=decimals, scale=self._input_scale)
            values.append(steps / 2**self._input_scale)
        self._rounds = tuple(int(item[0]) for item in latest)
        return values

    def source_rounds(self) -> tuple[int, ...]:
        return self._rounds
