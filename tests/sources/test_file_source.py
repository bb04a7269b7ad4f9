"""The file source: the latest rows of a CSV or JSON file, or a recorded history replayed by the clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.exceptions import SourceError
from oracle.sources.file import FileSource

CSV = "time,close,volume\n1,100.5,7\n2,101.0,8\n3,99.25,9\n4,98.0,10\n"


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(CSV)
    return path


def test_csv_latest_rows_oldest_first_columns_in_order_and_appends_are_seen(prices: Path) -> None:
    source = FileSource(prices, columns=["volume", "close"], window=2)
    assert source.fetch() == [9.0, 99.25, 10.0, 98.0]
    with prices.open("a") as out:
        out.write("5,97.5,11\n")  # another process appends a row
    assert source.fetch() == [10.0, 98.0, 11.0, 97.5]


def test_replay_walks_one_row_per_period_and_wraps_around(prices: Path) -> None:
    source = FileSource(prices, columns=["close"], window=2, replay_seconds=10)
    # 4 rows, window 2: three windows, ending at rows 2, 3, 4, then back to 2.
    assert [source.fetch(now=t) for t in (0, 9.9, 10, 25, 30)] == [
        [100.5, 101.0],
        [100.5, 101.0],
        [101.0, 99.25],
        [99.25, 98.0],
        [100.5, 101.0],
    ]


def test_json_rows_by_path_as_numbers_lists_or_objects(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"series": [{"p": 1, "q": "2"}, {"p": 3, "q": 4}], "flat": [5, 6, 7], "grid": [[1, 2]]}))
    assert FileSource(path, rows="$.series", columns=["q", "p"], window=2).fetch() == [2.0, 1.0, 4.0, 3.0]
    assert FileSource(path, rows="$.flat", window=2).fetch() == [6.0, 7.0]
    assert FileSource(path, rows="$.grid").fetch() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "suffix", "kwargs", "reason"),
    [
        (CSV, ".csv", {"columns": ["close"], "window": 5}, "4 rows, the feed takes a window of 5"),
        (CSV, ".csv", {"columns": ["open"]}, "no column 'open' in the header"),
        (CSV.replace("98.0", "n/a"), ".csv", {"columns": ["close"]}, "row 5 'close' is 'n/a', not a number"),
        (CSV.replace("98.0", "nan"), ".csv", {"columns": ["close"]}, "not a finite number"),
        ('{"rows": [1, 2', ".json", {}, "not JSON"),
        ('[{"p": 1}]', ".json", {}, "is an object; name the keys"),
        ('[{"p": 1}]', ".json", {"columns": ["q"]}, "row 0 has no 'q'"),
    ],
)
def test_failures_name_the_file_row_and_cause(
    tmp_path: Path, text: str, suffix: str, kwargs: dict[str, object], reason: str
) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text(text)
    with pytest.raises(SourceError, match=reason) as info:
        FileSource(path, **kwargs).fetch()  # type: ignore[arg-type]
    assert str(info.value).startswith(f"file {path}")


def test_a_bad_row_outside_the_window_fails_no_round(prices: Path) -> None:
    prices.write_text(CSV.replace("100.5", "garbage"))
    assert FileSource(prices, columns=["close"], window=3).fetch() == [101.0, 99.25, 98.0]


def test_a_vanished_file_is_a_source_error(prices: Path) -> None:
    source = FileSource(prices, columns=["close"])
    prices.unlink()
    with pytest.raises(SourceError, match="cannot read it"):
        source.fetch()
