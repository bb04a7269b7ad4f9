"""Recognising EZKL's failures, which do not all derive from Exception."""

from __future__ import annotations


def is_ezkl_failure(exc: BaseException) -> bool:
    """EZKL raises RuntimeError, or pyo3's PanicException (a BaseException) when its Rust core panics."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
