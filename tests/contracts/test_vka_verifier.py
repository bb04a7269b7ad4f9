"""A circuit whose generated verifier is over EIP-170, checked by EZKL's reusable verifier and its VKA.

The onnx wheel's ``test_Linear`` (a 10→8 Gemm on a batch of 4, 75 public instances) is taken
through ``zkoracle init`` as an operator would; its verifier is then a ``ZkVkaVerifier``. Real
proofs throughout: the circuit's own proof passes, and each attack on it is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from zkoracle_testkit import err, make_sender, rejected

from oracle.api.evidence import circuit_out
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_uint
from oracle.deployments.contracts import deploy_verifier
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.compiler import EIP170_CODE_SIZE_LIMIT
from oracle.evm.contracts import VKA_VERIFIER, bind, contract_factory, project_error_decoder
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.provers import LocalProver, Proof
from oracle.store import Store
from relayer.sender import TransactionSender
from tests.conftest import pytorch_converted

BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


@pytest.fixture(scope="module")
def linear_spec(tmp_path_factory: pytest.TempPathFactory) -> FeedSpec:
    folder = tmp_path_factory.mktemp("linear") / "linear"
    subprocess.run(
        [sys.executable, "-m", "oracle", "init", str(folder), "--model", str(pytorch_converted("Linear"))],
        env={**os.environ, "ZKORACLE_HOME": str(folder.parent)},
        capture_output=True,
        timeout=300,
        check=True,
    )
    return load_feed(folder)


@pytest.fixture(scope="module")
def linear(linear_spec: FeedSpec, build_root: Path) -> tuple[CircuitArtifacts, Proof]:
    circuit = build_feed_circuit(linear_spec, build_root=build_root).circuit.first
    return circuit, LocalProver().prove(circuit, linear_spec.model_samples()[0])


@pytest.fixture(scope="module")
def verifier(w3: Web3, linear: tuple[CircuitArtifacts, Proof]) -> Contract:
    sender = TransactionSender(w3, dev_account(8), decoder=project_error_decoder())
    return bind(w3, VKA_VERIFIER, deploy_verifier(sender, linear[0], feed_id="linear"))


def _accepts(verifier: Contract, proof: bytes, instances: list[int]) -> bool:
    """Whether the verifier answers true; a revert (how EZKL's verifiers refuse) counts as no."""
    try:
        return bool(verifier.functions.verifyProof(proof, instances).call())
    except ContractLogicError:
        return False


def _instances(proof: Proof) -> list[int]:
    return [felt_to_uint(felt) for felt in proof.instances]


def test_the_circuit_is_behind_the_reusable_verifier_and_its_own_proof_passes(
    w3: Web3, linear: tuple[CircuitArtifacts, Proof], verifier: Contract
) -> None:
    circuit, proof = linear
    assert circuit.manifest.verifier_kind == "reusable"
    assert circuit.manifest.verifier_deployed_size > EIP170_CODE_SIZE_LIMIT  # the generated one would not deploy
    assert [bytes(word) for word in verifier.functions.vka().call()] == circuit.vka_words()
    reusable = verifier.functions.i_reusable().call()
    assert 0 < len(w3.eth.get_code(reusable)) <= EIP170_CODE_SIZE_LIMIT
    assert _accepts(verifier, proof.proof_bytes, _instances(proof))
    # The read API tells consumers which kind of verifier the circuit has, and how to rebuild its VKA.
    shown = circuit_out(circuit)
    assert (shown.verifier_kind, shown.vka_words) == ("reusable", len(circuit.vka_words()))


def test_a_changed_output_instance_is_refused(linear: tuple[CircuitArtifacts, Proof], verifier: Contract) -> None:
    _, proof = linear
    instances = _instances(proof)
    instances[-1] = (instances[-1] + 1) % BN254_R  # claim another answer with the same proof
    assert not _accepts(verifier, proof.proof_bytes, instances)
    assert _accepts(verifier, proof.proof_bytes, _instances(proof))


def test_a_valid_proof_of_another_circuit_is_refused(demo_proof: Proof, verifier: Contract) -> None:
    # The demo model's proof is valid for its own verifying key, not for this VKA.
    assert not _accepts(verifier, demo_proof.proof_bytes, _instances(demo_proof))


def test_a_proof_with_bytes_flipped_is_refused(linear: tuple[CircuitArtifacts, Proof], verifier: Contract) -> None:
    _, proof = linear
    forged = bytearray(proof.proof_bytes)
    forged[100] ^= 0x01
    assert not _accepts(verifier, bytes(forged), _instances(proof))


def test_a_vka_too_large_to_keep_as_code_is_refused_at_construction(w3: Web3, verifier: Contract) -> None:
    # 768 words and the leading STOP are 24,577 bytes: one over EIP-170, which Anvil enforces like every chain.
    words = [i.to_bytes(32, "big") for i in range(1, 769)]
    reusable = verifier.functions.i_reusable().call()
    constructor = contract_factory(w3, VKA_VERIFIER).constructor(reusable, words)
    assert rejected(make_sender(w3, 9), constructor) == err("ZkVkaVerifierStoreFailed", 768)


def test_feeds_a_node_deploys_on_one_chain_share_one_reusable_verifier(
    w3: Web3, anvil: AnvilNode, linear_spec: FeedSpec, linear: tuple[CircuitArtifacts, Proof], tmp_path: Path
) -> None:
    circuit, _ = linear
    store = Store.sqlite(tmp_path / "node.db")
    first = ensure_deployment(store, w3, anvil.rpc_url, linear_spec, FeedCircuit.whole(circuit))
    second = ensure_deployment(store, w3, anvil.rpc_url, linear_spec.model_copy(update={"id": "linear-2"}), FeedCircuit.whole(circuit))
    shared = {bind(w3, VKA_VERIFIER, d.verifier_address).functions.i_reusable().call() for d in (first, second)}
    assert len(shared) == 1 and first.verifier_address != second.verifier_address

    # An address that is not EZKL's reusable verifier is never trusted as one: a new one is deployed.
    sender = TransactionSender(w3, dev_account(8), decoder=project_error_decoder())
    own = bind(w3, VKA_VERIFIER, deploy_verifier(sender, circuit, reusable_verifier=second.verifier_address))
    assert own.functions.i_reusable().call() not in shared | {second.verifier_address}
