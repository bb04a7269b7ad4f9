"""Turning revert data into decoded custom errors, from the contracts' own ABIs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from hexbytes import HexBytes


@dataclass(frozen=True)
class DecodedRevert:
    """Why a call reverted: a known custom error (``name``, ``args``), or what the chain said instead.

    ``name`` is None when the revert matched no known error (unknown data, no data, a
    require string, running out of gas); ``detail`` then says what is known.
    """

    name: str | None
    args: tuple[Any, ...] = ()
    detail: str = ""

    @classmethod
    def unexplained(cls, detail: str) -> DecodedRevert:
        return cls(name=None, detail=detail)

    def __str__(self) -> str:
        if self.name is None:
            return self.detail
        return f"{self.name}({', '.join(_render(value) for value in self.args)})"


class ErrorDecoder:
    """Maps 4-byte selectors of every ``error`` in the given ABIs to a decoder."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, dict[str, Any]] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") == "error":
                    self._errors[function_signature_to_4byte_selector(abi_to_signature(entry))] = entry

    def decode(self, data: str | bytes | None) -> DecodedRevert:
        """The known error ``data`` encodes, with its arguments; else the raw data as the detail."""
        raw = bytes(HexBytes(data)) if data else b""
        entry = self._errors.get(raw[:4])
        if entry is None:
            return DecodedRevert.unexplained(f"unknown revert 0x{raw.hex()}" if raw else "reverted without data")
        values = decode([arg["type"] for arg in entry["inputs"]], raw[4:])
        return DecodedRevert(name=entry["name"], args=tuple(values))


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
