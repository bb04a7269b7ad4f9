"""A live demo feed for the read API: real rounds on the session's Anvil, served over real HTTP."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from oracle.api import create_app
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode, free_port
from oracle.exceptions import VerificationError
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.schema import FeedSpec, SlicingSpec, TriggerSpec
from oracle.node import FeedNode
from oracle.pipeline import RoundPipeline
from oracle.provers import LocalProver
from oracle.sources.base import InputSource
from oracle.sources.factory import create_source
from oracle.store import Round, RoundStatus, Store
from oracle.verify_remote import verify_round
from tests.deployed_nodes import deployed_node
from tests.serving import serving


class FixedSource(InputSource):
    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(values)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        return self.values


@dataclass
class LiveFeed:
    """A store holding real rounds of the demo feed: landed, failed and one proven but not yet relayed."""

    store: Store
    db_path: Path
    node: FeedNode
    spec: FeedSpec
    circuit: CircuitArtifacts
    build_root: Path

    def landed_ids(self) -> list[int]:
        return [int(r.id) for r in self.store.rounds(feed_id=self.spec.id, status=RoundStatus.LANDED)]  # type: ignore[arg-type]


@pytest.fixture(scope="package")
def live_feed(
    tmp_path_factory: pytest.TempPathFactory,
    anvil: AnvilNode,
    w3: Web3,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    build_root: Path,
) -> LiveFeed:
    home = tmp_path_factory.mktemp("api-feed")
    store = Store.sqlite(home / "node.db")
    # Every tick posts: the demo's deviation trigger would skip ticks whose forecast barely moved.
    spec = demo_spec.model_copy(update={"trigger": TriggerSpec()})
    circuit = FeedCircuit.whole(demo_circuit)
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, circuit)

    def node(source: InputSource | None = None) -> FeedNode:
        return FeedNode(
            spec,
            circuit,
            store=store,
            w3=w3,
            deployment=deployment,
            prover=LocalProver(),
            proofs_dir=home / "proofs",
            source=source,
        )

    live = node()
    for _ in range(2):
        assert live.tick().landed
    assert node(FixedSource([2000.0, 2001.0])).tick().round.status is RoundStatus.FAILED
    proven = RoundPipeline(
        spec,
        circuit,
        source=create_source(spec.source),
        prover=LocalProver(),
        store=store,
        deployment_id=int(deployment.id),  # type: ignore[arg-type]
        proofs_dir=home / "proofs",
    ).run()
    assert proven.status is RoundStatus.PROVEN  # waiting for the relayer
    return LiveFeed(
        store=store, db_path=home / "node.db", node=live, spec=spec, circuit=demo_circuit, build_root=build_root
    )


@dataclass
class SlicedFeeds:
    """A store holding a landed round of the sliced example feed (3/3 slices proven) and one of its
    targeted variant (2/3: the middle slice runs unproven)."""

    store: Store
    db_path: Path
    build_root: Path
    specs: dict[str, FeedSpec]
    circuits: dict[str, FeedCircuit]

    def landed(self, feed_id: str) -> Round:
        return self.store.rounds(feed_id=feed_id, status=RoundStatus.LANDED)[-1]


@pytest.fixture(scope="package")
def sliced_feeds(
    tmp_path_factory: pytest.TempPathFactory,
    anvil: AnvilNode,
    w3: Web3,
    sliced_spec: FeedSpec,
    sliced_circuit: FeedCircuit,
    build_root: Path,
) -> SlicedFeeds:
    home = tmp_path_factory.mktemp("api-sliced")
    store = Store.sqlite(home / "node.db")
    full = sliced_spec.model_copy(update={"trigger": TriggerSpec()})
    targeted = full.model_copy(update={"id": "sliced-targeted", "slicing": SlicingSpec(slices=3, prove=(0, 2))})
    built = build_feed_circuit(targeted, build_root=build_root)
    feeds = {full.id: (full, sliced_circuit), targeted.id: (targeted, built.circuit)}
    for spec, circuit in feeds.values():
        node = deployed_node(store, w3, anvil.rpc_url, spec, circuit, home / "proofs")
        report = node.tick(now=time.time())
        assert report.landed, report.round.failure_reason
    return SlicedFeeds(
        store=store,
        db_path=home / "node.db",
        build_root=build_root,
        specs={feed_id: spec for feed_id, (spec, _) in feeds.items()},
        circuits={feed_id: circuit for feed_id, (_, circuit) in feeds.items()},
    )


@contextmanager
def serve(store: Store, *, build_root: Path, specs: dict[str, FeedSpec] | None = None) -> Iterator[str]:
    """The read API on a free loopback port, in a thread; yields its base URL."""
    app = create_app(store, build_root=build_root, specs=specs, refresh_seconds=0, rpc_timeout=2.0)
    with serving(app, what="the API server") as url:
        yield url


@pytest.fixture(scope="package")
def api_url(live_feed: LiveFeed) -> Iterator[str]:
    with serve(live_feed.store, build_root=live_feed.build_root) as url:
        yield url


@pytest.fixture(scope="package")
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


def copy_store(live: LiveFeed | SlicedFeeds, destination: Path) -> Store:
    """An independent copy of the live store (database and proof files) that a test may alter."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(live.db_path, destination / "node.db")
    copy = Store.sqlite(destination / "node.db")
    with copy.session() as session:
        for row in copy.rounds():
            if row.proof_path:
                target = destination / Path(row.proof_path).name
                shutil.copy(row.proof_path, target)
                row.proof_path = str(target)
                session.add(row)
        session.commit()
    return copy


def assert_tampered_round_refused(
    live: LiveFeed | SlicedFeeds, tmp_path: Path, round_id: int, tamper: Callable[[Round], None], message: str
) -> None:
    """``verify`` refuses round ``round_id`` once ``tamper`` has altered it in a copy of the live store."""
    store = copy_store(live, tmp_path)
    with store.session() as session:
        row = session.get(Round, round_id)
        assert row is not None
        tamper(row)
        session.add(row)
        session.commit()
    with serve(store, build_root=live.build_root) as url, pytest.raises(VerificationError, match=message):
        verify_round(str(round_id), api=url)


@pytest.fixture
def unused_port() -> int:
    return free_port()
