"""Inputs read from an HTTP JSON API: one GET per round, one JSONPath per value.

Secrets never live in feed.toml: a request header takes its value from an environment
variable the feed names, read at each fetch so a rotated token is picked up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import httpx
from pydantic import Field, field_validator

from oracle.exceptions import SourceError
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.jsonpaths import compile_path, find
from oracle.sources.numbers import to_float
from oracle.sources.spec import StrictSpec

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class HttpJsonSource(InputSource):
    def __init__(
        self, url: str, paths: Sequence[str], *, header_env: Mapping[str, str] | None = None, timeout: float = 5.0
    ) -> None:
        self._url = url
        self._paths = [(expression, compile_path(expression)) for expression in paths]
        self._header_env = dict(header_env or {})
        self._timeout = timeout

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
            values.extend(to_float(value, what=f"{what}: {expression}") for value in found)
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


class HttpJsonSourceSpec(StrictSpec):
    """``kind = "http_json"``: GET ``url``; each JSONPath in ``values`` adds the numbers it matches."""

    kind: Literal["http_json"]
    url: str = Field(pattern=r"^https?://\S+$", description="no secrets here: use headers + environment variables")
    values: list[str] = Field(min_length=1, description="JSONPaths, in model input order; [*] adds every match")
    headers: dict[str, EnvName] = Field(
        default_factory=dict, description="header name -> NAME of the environment variable holding its value"
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=300)

    @field_validator("values")
    @classmethod
    def _paths_parse(cls, values: list[str]) -> list[str]:
        for expression in values:
            compile_path(expression)
        return values

    def create(self, context: SourceContext | None = None) -> InputSource:
        return HttpJsonSource(self.url, self.values, header_env=self.headers, timeout=self.timeout_seconds)
