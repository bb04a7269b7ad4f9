"""Inputs read from a CSV or JSON file beside feed.toml (or anywhere, by absolute path).

The file is read again at every fetch, so another process may keep appending rows:
a round takes the latest ``window`` rows. With ``replay_seconds`` the file is a
recorded history instead, replayed one row per that many seconds of the clock, so a
demo walks through it deterministically and wraps around at the end.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsonpath_ng import JSONPath

from oracle.exceptions import SourceError
from oracle.sources.base import InputSource
from oracle.sources.jsonpaths import compile_path, find
from oracle.sources.numbers import to_float
from oracle.sources.settings import FileSourceSpec


class FileSource(InputSource):
    def __init__(
        self,
        path: Path,
        *,
        columns: Sequence[str] = (),
        rows: str = "$",
        window: int = 1,
        replay_seconds: float | None = None,
    ) -> None:
        self._path = path
        self._columns = list(columns)
        self._rows: JSONPath = compile_path(rows)
        self._window = window
        self._replay_seconds = replay_seconds

    @classmethod
    def from_settings(cls, settings: FileSourceSpec) -> FileSource:
        return cls(
            settings.resolved_path,
            columns=settings.columns,
            rows=settings.rows,
            window=settings.window,
            replay_seconds=settings.replay_seconds,
        )

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        records, first_line = self._records()
        if len(records) < self._window:
            raise SourceError(f"file {self._path}: {len(records)} rows, the feed takes a window of {self._window}")
        end = len(records)
        if self._replay_seconds is not None:
            clock = time.time() if now is None else now
            end = int(clock // self._replay_seconds) % (len(records) - self._window + 1) + self._window
        # Only the rows used are converted: a bad row elsewhere in a long history fails no round.
        return [
            value
            for index in range(end - self._window, end)
            for value in self._row_values(records[index], what=f"file {self._path}: row {first_line + index}")
        ]

    def _records(self) -> tuple[list[Any], int]:
        """The file's rows, and the line (CSV) or position (JSON) of the first one, for messages."""
        try:
            text = self._path.read_text()
        except OSError as exc:
            raise SourceError(f"file {self._path}: cannot read it ({exc.strerror or exc})") from exc
        if self._path.suffix == ".csv":
            reader = csv.DictReader(text.splitlines())
            missing = [c for c in self._columns if c not in (reader.fieldnames or [])]
            if missing:
                raise SourceError(f"file {self._path}: no column {missing[0]!r} in the header {reader.fieldnames}")
            return list(reader), 2
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise SourceError(f"file {self._path}: not JSON ({exc})") from exc
        found = find(self._rows, document)
        rows = found[0] if len(found) == 1 and isinstance(found[0], list) else found
        return rows, 0

    def _row_values(self, record: Any, *, what: str) -> list[float]:
        if isinstance(record, dict):
            if not self._columns:
                raise SourceError(f"{what} is an object; name the keys to read in source.columns")
            missing = [column for column in self._columns if column not in record]
            if missing:
                raise SourceError(f"{what} has no {missing[0]!r}")
            return [to_float(record[column], what=f"{what} {column!r}") for column in self._columns]
        if self._columns:
            raise SourceError(f"{what} is {record!r}, not an object with the columns {self._columns}")
        cells = record if isinstance(record, list) else [record]
        return [to_float(cell, what=what) for cell in cells]
