"""The callable source: a function in the feed folder, an importable module, or an installed entry point."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from oracle.exceptions import FeedSpecError, SourceError
from oracle.feeds.loader import load_feed
from oracle.sources.base import InputSource
from oracle.sources.factory import create_source
from oracle.sources.settings import CallableSourceSpec

SIGNALS = """
import time
def latest(*, now, base=1.0):
    return [base, base + now % 10, 3]

def broken(*, now):
    raise RuntimeError("exchange API down")

def text(*, now):
    return "1,2,3"

def nan(*, now):
    return [1.0, float("nan")]

def none(*, now):
    return [1.0, None]

def slow(*, now, seconds):
    time.sleep(seconds)
    return [1.0]

def gated(*, now, gate):
    gate.wait(30)
    return [7]

def tensor(*, now):
    import numpy as np
    return np.arange(6.0).reshape(2, 3)

def nested(*, now):
    return [[1, 2], [3, float("inf")]]

def exits(*, now):
    raise SystemExit(3)
"""


def _spec(folder: Path, **fields: object) -> CallableSourceSpec:
    return CallableSourceSpec.model_validate({"kind": "callable", **fields}, context={"folder": folder})


def _source(folder: Path, **fields: object) -> InputSource:
    return create_source(_spec(folder, **fields))


@pytest.fixture
def feed_folder(tmp_path: Path) -> Path:
    (tmp_path / "signals.py").write_text(SIGNALS)
    return tmp_path


def test_function_in_the_feed_folder_gets_now_and_args(feed_folder: Path) -> None:
    source = _source(feed_folder, function="signals:latest", args={"base": 2.5})
    assert source.fetch(now=1003.0) == [2.5, 5.5, 3.0]


def test_a_tensor_is_flattened_row_major(feed_folder: Path) -> None:
    assert _source(feed_folder, function="signals:tensor").fetch(now=0) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(SourceError, match=r"value 1\[1\] is inf, not a finite number"):
        _source(feed_folder, function="signals:nested").fetch(now=0)


def test_same_module_name_in_two_feeds_never_clash(tmp_path: Path) -> None:
    for name, value in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "signals.py").write_text(f"def latest(*, now):\n    return [{value}]\n")
    assert [_source(tmp_path / name, function="signals:latest").fetch(now=0) for name in "ab"] == [[1.0], [2.0]]


def test_importable_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "zk_test_signals"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "feeds.py").write_text("def pair(*, now):\n    return (4, 5.5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _source(tmp_path / "elsewhere", function="zk_test_signals.feeds:pair").fetch(now=0) == [4.0, 5.5]


def test_installed_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real distribution on sys.path, as `pip install` would leave it.
    info = tmp_path / "zk_test_provider-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zk-test-provider\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[zkoracle.sources]\ngas-price = zk_test_provider:gas\n")
    (tmp_path / "zk_test_provider.py").write_text(
        "def gas(*, now, chain='eth'):\n    return [21.5 if chain == 'eth' else 0]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _source(tmp_path, entry_point="gas-price", args={"chain": "eth"}).fetch(now=0) == [21.5]


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("signals:broken", "callable signals:broken raised RuntimeError: exchange API down"),
        ("signals:text", "returned '1,2,3', not a list of numbers"),
        ("signals:nan", "value 1 is nan, not a finite number"),
        ("signals:none", "value 1 is None, not a number"),
        ("signals:missing", "signals has no function missing"),
    ],
)
def test_failures_name_the_callable_and_cause(feed_folder: Path, function: str, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        _source(feed_folder, function=function).fetch(now=0)


def test_code_that_fails_on_import_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import no_such_module_here\n")
    with pytest.raises(SourceError, match="importing .*bad.py raised ModuleNotFoundError"):
        _source(tmp_path, function="bad:f")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "exactly one of function"),
        ({"function": "no_such_module_zk:f"}, "module 'no_such_module_zk' is neither"),
        ({"function": "signals.latest"}, "should match pattern"),
        (
            {"entry_point": "no-such-source"},
            "no entry point 'no-such-source' is installed in the group zkoracle.sources",
        ),
    ],
)
def test_spec_refuses_what_cannot_resolve(feed_folder: Path, fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        _spec(feed_folder, **fields)


def test_loaded_feed_reports_the_field(feed_folder: Path) -> None:
    (feed_folder / "feed.toml").write_text(
        'id = "calls"\ndescription = "d"\nmodel = "m.onnx"\nsamples = "s.json"\ndecimals = 2\n'
        '[source]\nkind = "callable"\nfunction = "signalz:latest"\n[schedule]\ninterval_seconds = 5\n'
    )
    with pytest.raises(FeedSpecError) as info:
        load_feed(feed_folder)
    assert info.value.field == "source.function" and "signalz" in str(info.value)


def test_a_call_past_its_timeout_is_abandoned_and_fails_the_fetch(feed_folder: Path) -> None:
    source = _source(feed_folder, function="signals:slow", args={"seconds": 3.0}, timeout_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(
        SourceError, match=r"callable signals:slow gave no answer within 0.2 s \(source.timeout_seconds\)"
    ):
        source.fetch(now=0)
    assert time.monotonic() - started < 2.0  # the fetch returned at the timeout, not when the call ended
    assert _spec(feed_folder, function="signals:slow").timeout_seconds == 10.0


def test_an_abandoned_call_is_not_started_again_until_it_returns(feed_folder: Path) -> None:
    gate = threading.Event()
    source = _source(feed_folder, function="signals:gated", args={"gate": gate}, timeout_seconds=0.1)
    with pytest.raises(SourceError, match="no answer within 0.1 s"):
        source.fetch(now=0)
    with pytest.raises(SourceError, match="still running from an earlier tick, abandoned after its 0.1 s timeout"):
        source.fetch(now=1)
    gate.set()
    deadline = time.monotonic() + 10
    while True:
        try:
            assert source.fetch(now=2) == [7.0]
            break
        except SourceError as exc:
            if "still running" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_system_exit_in_the_callable_still_stops_the_process(feed_folder: Path) -> None:
    with pytest.raises(SystemExit):
        _source(feed_folder, function="signals:exits").fetch(now=0)


def test_timeout_must_be_positive_and_bounded(feed_folder: Path) -> None:
    for bad in (0, 301):
        with pytest.raises(ValueError, match="timeout_seconds"):
            _spec(feed_folder, function="signals:latest", timeout_seconds=bad)
