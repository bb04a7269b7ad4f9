"""Fixtures of the contract tests on the session's Anvil: accounts, verifiers, real proofs, fresh oracles.

Every test gets its own freshly deployed ZkOracle, so rounds, submitters and used-proof
hashes never leak between tests. Replay protection and freshness are per oracle, so a proof
accepted by one test's oracle is still fresh for the next: three real proofs (seconds each)
serve every module. They carry the chain's time when the session made them; the test feeds
accept observations up to an hour old, so the proofs stay valid for the whole session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from web3 import Web3
from web3.contract import Contract
from zkoracle_testkit import (
    DEMO_DESCRIPTION,
    OUTSIDER,
    OWNER,
    RELAYER,
    Proven,
    deploy,
    feed_params,
    helper_contracts,
    make_sender,
    register,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.quantize import time_limbs
from oracle.evm.contracts import ORACLE, bind, feed_key
from oracle.feedspec import FeedSpec
from oracle.provers import LocalProver
from relayer.deployer import circuit_config, deploy_oracle, deploy_verifier
from relayer.sender import TransactionSender

# Prices exactly representable at EZKL's input scale 13 (multiples of 1/8), so an on-chain
# source holding them with a few decimals quantises to the very instances the proof carries.
FIRST_PRICES = [2038.5, 2064.0, 2069.25, 2074.125]
SECOND_PRICES = [2038.5, 2063.75, 2069.5, 2074.375]


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
def demo_config(demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, demo_verifier: str) -> tuple:
    """The demo circuit's CircuitConfig as the deployer builds it."""
    return circuit_config(demo_spec, demo_circuit, demo_verifier)


@pytest.fixture(scope="session")
def gemm_circuit(tmp_path_factory: pytest.TempPathFactory, demo_spec: FeedSpec, build_root: Path) -> CircuitArtifacts:
    # Fixed bytes, so the content-addressed build cache finds it again on the next run.
    model = write_gemm_model(tmp_path_factory.mktemp("models") / "gemm.onnx", [0.125, 0.125, 0.25, 0.5], 1.5)
    return build_circuit(model, demo_spec.model_samples(), build_root=build_root).artifacts


@pytest.fixture(scope="session")
def gemm_verifier(owner: TransactionSender, gemm_circuit: CircuitArtifacts) -> str:
    return deploy_verifier(owner, gemm_circuit)


@pytest.fixture(scope="session")
def gemm_config(demo_spec: FeedSpec, gemm_circuit: CircuitArtifacts, gemm_verifier: str) -> tuple:
    return circuit_config(demo_spec, gemm_circuit, gemm_verifier)


@pytest.fixture(scope="session")
def proof_time(w3: Web3) -> int:
    """The chain's time when the session's proofs are made; each later proof observes one second later."""
    # A plain mine (no time jump) brings the latest block to the chain's current time.
    w3.provider.make_request("evm_mine", [])
    return int(w3.eth.get_block("latest")["timestamp"])


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
def oracle(w3: Web3, owner: TransactionSender) -> Contract:
    return bind(w3, ORACLE, deploy_oracle(owner))


@pytest.fixture
def demo_key(oracle: Contract, owner: TransactionSender, relayer: TransactionSender, demo_config: tuple) -> bytes:
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
