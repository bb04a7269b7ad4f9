"""Each example feed besides the demo lands a real proven round on Anvil, from its own source and model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.feeds.loader import load_feed
from oracle.inference import OnnxModel
from oracle.node import FeedNode
from oracle.paths import PROJECT_ROOT
from oracle.provers import LocalProver
from oracle.sources.factory import create_source
from oracle.store import Store


@pytest.mark.parametrize("feed", ["volatility", "lending-risk"])
def test_example_feed_lands_a_round_from_its_source(
    feed: str, w3: Web3, anvil: AnvilNode, build_root: Path, tmp_path: Path
) -> None:
    spec = load_feed(PROJECT_ROOT / "feeds" / feed)
    circuit = build_circuit(spec.model_path, spec.model_samples(), build_root=build_root, observation_time=True).artifacts
    assert circuit.manifest.logrows <= 16
    store = Store.sqlite(tmp_path / "db.sqlite")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit))
    node = FeedNode(spec, FeedCircuit.whole(circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path)

    now = time.time()
    report = node.tick(now=now)
    assert report.landed, report.round.failure_reason
    # The round proved the source's values after the feed's transforms (the volatility feed centres prices).
    source_values = spec.input.apply(list(create_source(spec.source).fetch(now=now)))
    assert report.round.inputs == spec.model_input(source_values, observed_at=int(now))
    # The prepared model (intake adds the observed_at input the volatility model lacks).
    assert report.round.model_output == pytest.approx(OnnxModel(circuit.model).run(report.round.inputs)[0])
    assert report.reading is not None and report.error is not None and report.error <= report.tolerance


def test_volatility_inputs_are_the_latest_replayed_closes_centred() -> None:
    spec = load_feed(PROJECT_ROOT / "feeds" / "volatility")
    closes = [float(line.split(",")[1]) for line in (spec.folder / "prices.csv").read_text().splitlines()[1:]]
    source = create_source(spec.source)
    # Tick 20 (t = 205 s at one row per 10 s) is the 21st window of 8 closes: rows 20..27.
    assert spec.input.apply(list(source.fetch(now=205.0))) == pytest.approx([c - 64_000 for c in closes[20:28]])
    windows = len(closes) - 8 + 1
    assert list(source.fetch(now=windows * 10.0)) == closes[:8]  # the replay wraps around
