"""The http_json source against a real HTTP server on 127.0.0.1, alone and inside a feed's rounds."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.exceptions import FeedSpecError, SourceError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver
from oracle.sources.http_json import HttpJsonSource
from oracle.store import RoundStatus, Store
from tests.conftest import DEMO_FEED
from tests.sources.conftest import JsonServer

TICKER = {"data": {"symbol": "ETH", "price": "3012.55", "volume": 1234.5}, "book": {"bids": [3012.1, 3011.9]}}


def test_values_are_read_by_json_path_in_order(json_server: JsonServer) -> None:
    url = json_server.answer("/ticker", json.dumps(TICKER))
    source = HttpJsonSource(url, ["$.data.price", "$.book.bids[*]", "$.data.volume"])
    assert source.fetch() == [3012.55, 3012.1, 3011.9, 1234.5]


def test_a_tensor_in_the_answer_is_flattened_row_major(json_server: JsonServer) -> None:
    url = json_server.answer("/image", json.dumps({"pixels": [[1, 2, 3], [4, 5, "6.5"]], "bias": 0.5}))
    assert HttpJsonSource(url, ["$.pixels", "$.bias"]).fetch() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.5, 0.5]
    bad = json_server.answer("/bad", json.dumps({"pixels": [[1, 2], [3, None]]}))
    with pytest.raises(SourceError, match=r"\$\.pixels\[1\]\[1\] is None, not a number"):
        HttpJsonSource(bad, ["$.pixels"]).fetch()


def test_headers_take_their_values_from_named_environment_variables(
    json_server: JsonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = json_server.answer("/ticker", json.dumps(TICKER))
    source = HttpJsonSource(url, ["$.data.price"], header_env={"X-Api-Key": "ZK_TEST_PRICES_KEY"})
    with pytest.raises(SourceError, match="needs the environment variable ZK_TEST_PRICES_KEY"):
        source.fetch()
    assert json_server.requests == []  # nothing was sent without the header
    monkeypatch.setenv("ZK_TEST_PRICES_KEY", "s3cret")
    source.fetch()
    assert json_server.requests[-1]["X-Api-Key"] == "s3cret"


@pytest.mark.parametrize(
    ("body", "paths", "status", "delay", "reason"),
    [
        ("{}", ["$.price"], 200, 1.5, "no answer within 0.3 s"),
        ('{"price": 30', ["$.price"], 200, 0.0, "the answer is not JSON"),
        ("<html>busy</html>", ["$.price"], 503, 0.0, "HTTP 503"),
        ('{"data": {}}', ["$.data.price"], 200, 0.0, r"\$.data.price matched nothing"),
        ('{"price": NaN}', ["$.price"], 200, 0.0, "nan, not a finite number"),
        ('{"price": "NaN"}', ["$.price"], 200, 0.0, "'NaN', not a finite number"),
        ('{"price": "n/a"}', ["$.price"], 200, 0.0, "'n/a', not a number"),
        ('{"price": {"usd": 1}}', ["$.price"], 200, 0.0, r"\{'usd': 1\}, not a number"),
    ],
    ids=["timeout", "bad-json", "http-error", "missing-path", "nan", "nan-string", "text", "object"],
)
def test_failures_name_the_source_and_the_cause(
    json_server: JsonServer, body: str, paths: list[str], status: int, delay: float, reason: str
) -> None:
    url = json_server.answer("/x", body, status=status, delay=delay)
    started = time.monotonic()
    with pytest.raises(SourceError, match=reason) as info:
        HttpJsonSource(url, paths, timeout=0.3).fetch()
    assert str(info.value).startswith(f"http_json GET {url}")
    assert time.monotonic() - started < 1.2  # a hung server never holds a round past the timeout


def test_a_closed_port_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="ConnectError"):
        HttpJsonSource("http://127.0.0.1:9/x", ["$.p"], timeout=1).fetch()


def _http_feed(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "feed"
    shutil.copytree(DEMO_FEED, folder)
    toml = folder / "feed.toml"
    text = toml.read_text()
    start, end = text.index("[source]"), text.index("[schedule]")
    toml.write_text(text[:start] + "[source]\n" + source + "\n" + text[end:])
    return folder


@pytest.mark.parametrize(
    ("source", "field", "hint"),
    [
        ('kind = "http_json"\nurl = "http://x/y"\nvalues = ["$.[oops"]', "source.values", "not a JSONPath"),
        (
            'kind = "http_json"\nurl = "http://x/y"\nvalues = ["$.p"]\nheaders = { Authorization = "Bearer abc.def" }',
            "source.headers.Authorization",
            "NAME of an environment variable",
        ),
        ('kind = "http_json"\nurl = "ftp://x/y"\nvalues = ["$.p"]', "source.url", "README"),
        ('kind = "http_json"\nurl = "http://x/y"\nvalues = []', "source.values", "README"),
    ],
)
def test_spec_errors_name_the_field(tmp_path: Path, source: str, field: str, hint: str) -> None:
    with pytest.raises(FeedSpecError) as info:
        load_feed(_http_feed(tmp_path, source))
    assert info.value.field == field and hint in str(info.value)


def test_a_failed_fetch_ends_the_round_with_its_reason_and_the_next_tick_proceeds(
    json_server: JsonServer,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    tmp_path: Path,
) -> None:
    folder = _http_feed(
        tmp_path,
        f'kind = "http_json"\nurl = "{json_server.base_url}/eth"\nvalues = ["$.closes[-4:]"]\ntimeout_seconds = 1',
    )
    spec = load_feed(folder)
    # The same model and samples as the demo, so the demo's circuit is this feed's circuit.
    assert spec.model_samples() == demo_spec.model_samples()
    store = Store.sqlite(tmp_path / "db.sqlite")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(demo_circuit))
    node = FeedNode(
        spec, FeedCircuit.whole(demo_circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path
    )
    good = demo_spec.load_samples()[3]
    failures = [
        ({"closes": good[:3]}, 0.0, "source returned 3 values, the model takes 4"),
        ({"closes": good}, 2.0, "no answer within 1 s"),
        ({"closes": [*good[:3], 2500.0]}, 0.0, "input 3 is 2500, outside the range the circuit was calibrated on"),
    ]
    for body, delay, reason in failures:
        json_server.answer("/eth", json.dumps(body), delay=delay)
        report = node.tick()
        assert report.round.status is RoundStatus.FAILED and reason in str(report.round.failure_reason)
        assert report.round.tx_hash is None

    json_server.answer("/eth", json.dumps({"closes": [1.0, *good]}))
    report = node.tick()
    assert report.landed, report.round.failure_reason
    assert report.round.inputs[:4] == good
    statuses = [row.status for row in store.rounds(feed_id="demo")]
    assert statuses == [RoundStatus.FAILED] * 3 + [RoundStatus.LANDED]
