"""Fixtures of the contract tests on the session's Anvil: accounts, verifiers, real proofs, fresh oracles.

Every test gets its own freshly deployed ZkOracle, so rounds and submitters never leak
between tests. Ordering by observation time is per feed, so a proof accepted by one test's
oracle is still fresh for the next: three real proofs (seconds each) serve every module.
They carry the chain's time when the session made them; the test feeds accept observations
up to an hour old, so the proofs stay valid for the whole session.

The sliced feed (feeds/sliced, 3 slices) adds one proof per slice of one input observed
after the demo proofs (``sliced_round``) and one proof of slice 1 on another input, to
tamper with; its targeted variant (slices 0 and 2 proven) has the same slice circuits, so
the same verifiers and the same slice 0 and 2 proofs serve it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from web3 import Web3
from zkoracle_testkit import (
    DEMO_DESCRIPTION,
    FIRST_PRICES,
    OUTSIDER,
    OWNER,
    RELAYER,
    SECOND_PRICES,
    Proven,
    artifacts_config,
    deploy,
    deploy_aggregator,
    feed_params,
    helper_contracts,
    make_sender,
    register,
    sliced_artifacts_config,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.slicing import SlicingPlan, build_sliced_circuit, run_chain
from oracle.circuits.time_limbs import time_limbs
from oracle.deployments.contracts import deploy_oracle, deploy_verifier, deploy_verifiers
from oracle.evm.contracts import feed_key
from oracle.evm.zkoracle import CircuitConfig, ZkOracle
from oracle.feeds.schema import FeedSpec
from oracle.provers import LocalProver, Proof
from oracle.provers.feed_proof import FeedProof, prove_circuit
from relayer.sender import TransactionSender

# Session proofs observe up to proof_time + 5: all of them before the chain's time when the first is made.
PROOF_TIME_MARGIN = 10


def write_gemm_model(path: Path, weights: list[float], bias: float) -> Path:
    """A weighted average of the demo's 4 prices: another circuit with the demo's instance layout.

    Like the demo model it takes the observation time as a second input it does not use, so
    its proofs carry the same 4 prices, 3 time limbs and 1 answer.
    """
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["prices", "w", "b"], ["forecast"], transB=1)],
        "weighted_average",
        [
            helper.make_tensor_value_info("prices", TensorProto.FLOAT, [1, len(weights)]),
            helper.make_tensor_value_info("observed_at", TensorProto.FLOAT, [1, 3]),
        ],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, [1, 1])],
        [
            numpy_helper.from_array(np.array([weights], dtype=np.float32), "w"),
            numpy_helper.from_array(np.array([bias], dtype=np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkoracle-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(autouse=True)
def chain_clock_back_to_now(w3: Web3) -> Iterator[None]:
    """A test that moves the session chain's clock ahead brings it back to this machine's time after.

    Every later test (a node observing at the wall clock, an oracle refusing observations
    older than two minutes) shares this chain; a clock left minutes ahead would age them all.
    """
    yield
    now = int(time.time())
    if int(w3.eth.get_block("latest")["timestamp"]) > now:
        for method, params in (("anvil_setTime", [now]), ("evm_mine", [now])):
            response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
            assert "error" not in response, response


@pytest.fixture(scope="session")
def owner(w3: Web3) -> TransactionSender:
    """Deploys every oracle, so it holds DEFAULT_ADMIN_ROLE and OPERATOR_ROLE on each."""
    return make_sender(w3, OWNER)


@pytest.fixture(scope="session")
def relayer(w3: Web3) -> TransactionSender:
    return make_sender(w3, RELAYER)


@pytest.fixture(scope="session")
def outsider(w3: Web3) -> TransactionSender:
    return make_sender(w3, OUTSIDER)


@pytest.fixture(scope="session")
def stub_verifiers(owner: TransactionSender) -> dict[bool, str]:
    """Verdict -> address of a stub verifier giving it for every proof."""
    return {verdict: deploy(owner, helper_contracts()["StubVerifier"], verdict).address for verdict in (True, False)}


@pytest.fixture(scope="session")
def demo_verifier(owner: TransactionSender, demo_circuit: CircuitArtifacts) -> str:
    # Verifiers are stateless, so one deployment serves every test's oracle.
    return deploy_verifier(owner, demo_circuit)


@pytest.fixture(scope="session")
def demo_config(demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, demo_verifier: str) -> CircuitConfig:
    """The demo circuit's CircuitConfig as the deployer builds it."""
    return artifacts_config(demo_circuit, demo_verifier, output=demo_spec.output)


@pytest.fixture(scope="session")
def gemm_circuit(tmp_path_factory: pytest.TempPathFactory, demo_spec: FeedSpec, build_root: Path) -> CircuitArtifacts:
    # Fixed bytes, so the content-addressed build cache finds it again on the next run.
    model = write_gemm_model(tmp_path_factory.mktemp("models") / "gemm.onnx", [0.125, 0.125, 0.25, 0.5], 1.5)
    return build_circuit(model, demo_spec.model_samples(), build_root=build_root).artifacts


@pytest.fixture(scope="session")
def gemm_verifier(owner: TransactionSender, gemm_circuit: CircuitArtifacts) -> str:
    return deploy_verifier(owner, gemm_circuit)


@pytest.fixture(scope="session")
def gemm_config(demo_spec: FeedSpec, gemm_circuit: CircuitArtifacts, gemm_verifier: str) -> CircuitConfig:
    return artifacts_config(gemm_circuit, gemm_verifier, output=demo_spec.output)


@pytest.fixture(scope="session")
def proof_time(w3: Web3) -> int:
    """When the session's first proof observes: the chain's time less PROOF_TIME_MARGIN. Each later proof
    observes a second or more later, and is already in the chain's past when made, however fast proving is."""
    # A plain mine (no time jump) brings the latest block to the chain's current time.
    w3.provider.make_request("evm_mine", [])
    return int(w3.eth.get_block("latest")["timestamp"]) - PROOF_TIME_MARGIN


@pytest.fixture(scope="session")
def first_proof(demo_circuit: CircuitArtifacts, proof_time: int) -> Proven:
    return Proven(LocalProver().prove(demo_circuit, FIRST_PRICES + time_limbs(proof_time)), proof_time)


@pytest.fixture(scope="session")
def second_proof(demo_circuit: CircuitArtifacts, proof_time: int) -> Proven:
    """A later observation than ``first_proof``, with the same first price (the on-chain input tests use it)."""
    observed_at = proof_time + 1
    return Proven(LocalProver().prove(demo_circuit, SECOND_PRICES + time_limbs(observed_at)), observed_at)


@pytest.fixture(scope="session")
def gemm_proof(gemm_circuit: CircuitArtifacts, proof_time: int) -> Proven:
    """A proof of the other circuit, observed after both demo proofs."""
    observed_at = proof_time + 2
    return Proven(LocalProver().prove(gemm_circuit, FIRST_PRICES + time_limbs(observed_at)), observed_at)


@pytest.fixture
def oracle(w3: Web3, owner: TransactionSender) -> ZkOracle:
    return ZkOracle(w3, deploy_oracle(owner))


@pytest.fixture
def demo_key(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, demo_config: CircuitConfig
) -> bytes:
    """The demo circuit registered on this test's oracle as an allow-listed feed, the relayer allowed."""
    key = feed_key("demo")
    register(
        owner,
        oracle,
        key,
        feed_params(description=DEMO_DESCRIPTION),
        demo_config,
        submitters=(relayer.account.address,),
    )
    return key


# --- the sliced feed -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def targeted_circuit(sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, build_root: Path) -> FeedCircuit:
    """The sliced feed's model with only slices 0 and 2 proven (targeted verification)."""
    plan = SlicingPlan(slices=3, proven=(0, 2))
    targeted = build_sliced_circuit(
        sliced_spec.model_path,
        sliced_spec.model_samples(),
        plan,
        build_root=build_root,
        feed=sliced_spec.id,
        observation_time=True,
    )
    # The proven slices are the very circuits of the fully proven build: same verifiers, same proofs.
    keys = [None if piece.circuit is None else piece.circuit.manifest.key for piece in targeted.circuit.slices]
    full = [piece.circuit.manifest.key for piece in sliced_circuit.pieces if piece.circuit is not None]
    assert keys == [full[0], None, full[2]]
    return FeedCircuit.sliced(targeted.circuit)


@pytest.fixture(scope="session")
def sliced_verifiers(owner: TransactionSender, sliced_circuit: FeedCircuit) -> list[str | None]:
    return deploy_verifiers(owner, sliced_circuit, feed_id="sliced")


@pytest.fixture(scope="session")
def targeted_verifiers(sliced_verifiers: list[str | None], targeted_circuit: FeedCircuit) -> list[str | None]:
    return [address if piece.proven else None for address, piece in zip(sliced_verifiers, targeted_circuit.pieces)]


@pytest.fixture(scope="session")
def sliced_config(
    sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_verifiers: list[str | None]
) -> CircuitConfig:
    return sliced_artifacts_config(sliced_circuit, sliced_verifiers, output=sliced_spec.output)


@pytest.fixture(scope="session")
def targeted_config(
    sliced_spec: FeedSpec, targeted_circuit: FeedCircuit, targeted_verifiers: list[str | None]
) -> CircuitConfig:
    return sliced_artifacts_config(targeted_circuit, targeted_verifiers, output=sliced_spec.output)


def sliced_sample(sliced_spec: FeedSpec, index: int, observed_at: int) -> list[float]:
    """The sliced feed's sample prices ``index`` with ``observed_at`` as its time limbs."""
    return list(sliced_spec.load_samples()[index]) + time_limbs(observed_at)


@pytest.fixture(scope="session")
def sliced_observed_at(proof_time: int) -> int:
    return proof_time + 3


@pytest.fixture(scope="session")
def sliced_proof(sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, sliced_observed_at: int) -> FeedProof:
    """Valid proofs of every slice of the sliced model on its first sample, observed after the demo proofs."""
    return prove_circuit(sliced_circuit, sliced_sample(sliced_spec, 0, sliced_observed_at), prover=LocalProver())


@pytest.fixture(scope="session")
def targeted_proof(sliced_proof: FeedProof) -> FeedProof:
    """The targeted feed's proofs of the same input: the full run's, less slice 1."""
    first, _middle, last = sliced_proof.proofs
    return FeedProof(proofs=(first, None, last), wall_seconds=sliced_proof.wall_seconds)


@pytest.fixture(scope="session")
def other_slice1_proof(sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, proof_time: int) -> Proof:
    """A valid proof of slice 1 on the activations of another model input than ``sliced_proof``'s."""
    other = sliced_sample(sliced_spec, 1, proof_time + 3)
    middle = sliced_circuit.pieces[1].circuit
    assert middle is not None
    return LocalProver().prove(middle, run_chain(sliced_circuit.pieces, other).steps[1].inputs)


@pytest.fixture
def sliced_key(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    sliced_spec: FeedSpec,
    sliced_config: CircuitConfig,
) -> bytes:
    """The fully proven sliced feed registered on this test's oracle, the relayer allowed."""
    key = feed_key(sliced_spec.id)
    params = feed_params(decimals=sliced_spec.decimals, description=sliced_spec.description)
    register(owner, oracle, key, params, sliced_config, submitters=(relayer.account.address,))
    return key


@pytest.fixture
def targeted_key(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    sliced_spec: FeedSpec,
    targeted_config: CircuitConfig,
) -> bytes:
    """The targeted sliced feed registered on this test's oracle, the relayer allowed."""
    key = feed_key("sliced-targeted")
    params = feed_params(decimals=sliced_spec.decimals, description="targeted")
    register(owner, oracle, key, params, targeted_config, submitters=(relayer.account.address,))
    return key


@pytest.fixture(scope="session")
def stub_aggregator(owner: TransactionSender) -> str:
    """An ExampleAggregator (3,000 with 8 decimals in round 1): a contract for layouts that name one."""
    return deploy_aggregator(owner, 3000 * 10**8).address
