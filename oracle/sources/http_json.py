"""Inputs read from an HTTP JSON API: one GET per round, one JSONPath per value.

Secrets never live in feed.toml: a request header takes its value from an environment
variable the feed names, read at each fetch so a rotated token is picked up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import httpx

from oracle.exceptions import SourceError
from oracle.sources.base import InputSource
from oracle.sources.jsonpaths import compile_path, find
from oracle.sources.numbers import flatten
from oracle.sources.settings import HttpJsonSourceSpec


class HttpJsonSource(InputSource):
    def __init__(
        self, url: str, paths: Sequence[str], *, header_env: Mapping[str, str] | None = None, timeout: float = 5.0
    ) -> None:
        self._url = url
        self._paths = [(expression, compile_path(expression)) for expression in paths]
        self._header_env = dict(header_env or {})
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: HttpJsonSourceSpec) -> HttpJsonSource:
        return cls(settings.url, settings.values, header_env=settings.headers, timeout=settings.timeout_seconds)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        what = f"http_json GET {self._url}"
        try:
            response = httpx.get(self._url, headers=self._headers(), timeout=self._timeout, follow_redirects=True)
        except httpx.TimeoutException:
            raise SourceError(f"{what}: no answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{what}: {type(exc).__name__}: {exc}") from exc
        if response.is_error:
            raise SourceError(f"{what}: HTTP {response.status_code} {response.reason_phrase}")
        try:
            document = response.json()
        except ValueError as exc:
            raise SourceError(f"{what}: the answer is not JSON ({exc}): {response.text[:80]!r}") from exc
        values: list[float] = []
        for expression, path in self._paths:
            found = find(path, document)
            if not found:
                raise SourceError(f"{what}: {expression} matched nothing in the answer")
            values.extend(value for item in found for value in flatten(item, what=f"{what}: {expression}"))
        return values

    def _headers(self) -> dict[str, str]:
        headers = {}
        for header, variable in self._header_env.items():
            value = os.environ.get(variable)
            if not value:
                raise SourceError(
                    f"http_json GET {self._url}: header {header} needs the environment variable {variable}, "
                    "which is not set"
                )
            headers[header] = value
        return headers
