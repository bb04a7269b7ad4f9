"""Shared fixtures: one Anvil per session, the demo circuit built once (cached by content hash), and a store
URL for each database the node supports.

Tests taking ``store_url`` run against SQLite and against a real PostgreSQL server. PostgreSQL comes
from ``ZKORACLE_TEST_POSTGRES_URL`` (default: the server `.ci/run` starts). Locally the PostgreSQL
variant is skipped, saying so, when no server answers; with ``ZKORACLE_REQUIRE_POSTGRES=1`` (as in CI)
an unreachable server fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import onnx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.provers import LocalProver, Proof
from oracle.provers.feed_proof import FeedProof, prove_circuit
from oracle.store import Deployment, Store

DEMO_FEED = PROJECT_ROOT / "feeds" / "demo"
SLICED_FEED = PROJECT_ROOT / "feeds" / "sliced"
MULTI_ASSET_FEED = PROJECT_ROOT / "feeds" / "multi-asset"
DEFAULT_POSTGRES = "postgresql+psycopg://zkoracle:zkoracle@127.0.0.1:5432/postgres"


def add_deployment(store: Store, *, feed_id: str = "demo") -> Deployment:
    """A deployment row with placeholder addresses, for tests of the store and its readers."""
    deployment = Deployment(
        feed_id=feed_id,
        chain_id=31337,
        rpc_url="http://127.0.0.1:8545",
        oracle_address="0x" + "11" * 20,
        verifier_address="0x" + "22" * 20,
        proxy_address="0x" + "44" * 20,
        circuit_key="k",
        model_commitment="0x" + "33" * 32,
        dev_srs=True,
    )
    store.add(deployment)
    return deployment


def _postgres_database() -> Iterator[str]:
    admin_url = make_url(os.environ.get("ZKORACLE_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"zkoracle_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("ZKORACLE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"no PostgreSQL server at {admin_url.render_as_string(hide_password=True)} ({exc.orig})")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'zkoracle.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    with AnvilNode(log_path=tmp_path_factory.mktemp("anvil") / "anvil.log") as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil: AnvilNode) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="session")
def demo_spec() -> FeedSpec:
    return load_feed(DEMO_FEED)


@pytest.fixture(scope="session")
def build_root() -> Path:
    """The shared build cache, so the suite and `make run` reuse one build of the demo circuit."""
    return Path(os.environ.get("ZKORACLE_TEST_BUILD_DIR", build_dir()))


@pytest.fixture(scope="session")
def demo_circuit(demo_spec: FeedSpec, build_root: Path) -> CircuitArtifacts:
    return build_circuit(demo_spec.model_path, demo_spec.model_samples(), build_root=build_root).artifacts


@pytest.fixture(scope="session")
def demo_proof(demo_spec: FeedSpec, demo_circuit: CircuitArtifacts) -> Proof:
    """A valid proof of the demo model on its first sample input."""
    return LocalProver().prove(demo_circuit, demo_spec.model_samples()[0])


@pytest.fixture(scope="session")
def multi_asset_spec() -> FeedSpec:
    return load_feed(MULTI_ASSET_FEED)


@pytest.fixture(scope="session")
def multi_asset_circuit(multi_asset_spec: FeedSpec, build_root: Path) -> FeedCircuit:
    """The multi-asset feed's circuit (8 answers from one output tensor), built once (cached by content hash)."""
    circuit = build_feed_circuit(multi_asset_spec, build_root=build_root).circuit
    assert len(circuit.pieces) == 1
    return circuit


@pytest.fixture(scope="session")
def sliced_spec() -> FeedSpec:
    return load_feed(SLICED_FEED)


@pytest.fixture(scope="session")
def sliced_circuit(sliced_spec: FeedSpec, build_root: Path) -> FeedCircuit:
    """The sliced example feed's 3 slice circuits, built once (cached by content hash)."""
    circuit = build_feed_circuit(sliced_spec, build_root=build_root).circuit
    assert len(circuit.pieces) == 3
    return circuit


@pytest.fixture(scope="session")
def sliced_proof(sliced_spec: FeedSpec, sliced_circuit: FeedCircuit) -> FeedProof:
    """Valid proofs of every slice of the sliced feed's model on its first sample input."""
    return prove_circuit(sliced_circuit, sliced_spec.model_samples()[0], prover=LocalProver())


# Real models exported from PyTorch years ago (opset 6), shipped inside the onnx wheel.
PYTORCH_CONVERTED = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted"


def pytorch_converted(name: str) -> Path:
    """The onnx wheel's ``test_<name>`` model file."""
    return PYTORCH_CONVERTED / f"test_{name}" / "model.onnx"
