"""Inputs read from view functions on the oracle's own chain.

ZkOracle reads the same views again inside `submit` and requires the proof's input
instances to equal them, so these values are snapped to the circuit's fixed-point grid
exactly as the contract quantises them (integer arithmetic, half away from zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import decode
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import Web3Exception

from oracle.circuits.quantize import quantize_like_contract
from oracle.exceptions import SourceError
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.settings import EvmViewSourceSpec


@dataclass(frozen=True)
class View:
    address: str
    function: str  # e.g. "value()"; must return one int256
    decimals: int

    @property
    def selector(self) -> bytes:
        return function_signature_to_4byte_selector(self.function)


class EvmViewSource(InputSource):
    def __init__(self, views: Sequence[View], *, w3: Web3, input_scale: int) -> None:
        self._views = list(views)
        self._w3 = w3
        self._input_scale = input_scale

    @classmethod
    def from_settings(cls, settings: EvmViewSourceSpec, context: SourceContext | None) -> EvmViewSource:
        if context is None or context.w3 is None or context.input_scale is None:
            raise SourceError("an evm_view source reads the oracle's chain and needs the circuit's input scale")
        views = [View(address=v.address, function=v.function, decimals=v.decimals) for v in settings.views]
        return cls(views, w3=context.w3, input_scale=context.input_scale)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        return [self._read(view) for view in self._views]

    def source_rounds(self) -> tuple[int, ...]:
        # submit takes one source round per on-chain input; a getter has none, so 0.
        return (0,) * len(self._views)

    def _read(self, view: View) -> float:
        try:
            returned = self._w3.eth.call({"to": Web3.to_checksum_address(view.address), "data": view.selector})
            (raw,) = decode(["int256"], returned)
            steps = quantize_like_contract(raw, decimals=view.decimals, scale=self._input_scale)
        except (Web3Exception, ValueError) as exc:
            raise SourceError(f"view {view.function} at {view.address}: {exc}") from exc
        return steps / 2**self._input_scale
