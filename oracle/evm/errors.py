"""Turning revert data into readable custom errors, from the contracts' own ABIs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi import decode
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector
from hexbytes import HexBytes


class ErrorDecoder:
    """Maps 4-byte selectors of every ``error`` in the given ABIs to a decoder."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, dict[str, Any]] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") == "error":
                    self._errors[function_signature_to_4byte_selector(abi_to_signature(entry))] = entry

    def decode(self, data: str | bytes | None) -> str:
        """``Name(arg, ...)`` for a known error, else the raw data."""
        raw = bytes(HexBytes(data)) if data else b""
        entry = self._errors.get(raw[:4])
        if entry is None:
            return f"unknown revert 0x{raw.hex()}" if raw else "reverted without data"
        values = decode([arg["type"] for arg in entry["inputs"]], raw[4:])
        rendered = ", ".join(_render(value) for value in values)
        return f"{entry['name']}({rendered})"


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
