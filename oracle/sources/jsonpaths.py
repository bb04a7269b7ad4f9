"""JSONPath expressions (jsonpath-ng's extended syntax: filters, slices, negative indices)."""

from __future__ import annotations

from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse


def compile_path(expression: str) -> JSONPath:
    """Parse ``expression``; a syntax error becomes a ValueError naming it (pydantic reports those)."""
    try:
        return parse(expression)
    except JSONPathError as exc:
        raise ValueError(f'{expression!r} is not a JSONPath ({exc}); write e.g. "$.data.price"') from exc


def find(path: JSONPath, document: Any) -> list[Any]:
    """Every value ``path`` matches in ``document``, in document order."""
    return [match.value for match in path.find(document)]
