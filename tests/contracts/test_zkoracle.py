"""ZkOracle and ExampleConsumer on a real Anvil, fed real EZKL proofs.

Every test gets its own freshly deployed ZkOracle, so rounds, submitters and used-proof
hashes never leak between tests. Replay protection is per oracle, so a proof accepted
by one test's oracle is still fresh for the next: a handful of real proofs (seconds
each) serves the whole module.

Rejected transactions are refused by gas estimation already; each rejection is also
mined with a fixed gas limit, so the tests show the chain itself reverts and keeps
nothing, not only that a simulation failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from onnx import TensorProto, helper, numpy_helper
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import CircuitOptions, build_circuit
from oracle.circuits.quantize import answer_from_felt, felt_to_float, felt_to_uint
from oracle.evm.accounts import dev_account
from oracle.evm.compiler import compile_sources
from oracle.evm.contracts import CONSUMER, ORACLE, bind, feed_key, project_error_decoder
from oracle.exceptions import RelayError
from oracle.feedspec import FeedSpec
from oracle.provers import LocalProver, Proof
from relayer.deployer import deploy_consumer, deploy_oracle, deploy_verifier, feed_config
from relayer.sender import Confirmed, TransactionSender

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617
INT256_MAX = 2**255 - 1
ZERO_ADDRESS = "0x" + "00" * 20
# Well above what a proof verification costs, so a mined revert is the contract's, not out-of-gas.
MINED_REVERT_GAS = 5_000_000

OWNER, RELAYER, OUTSIDER, SUCCESSOR = 0, 1, 2, 3

# Real EZKL verifiers reject any instance >= the field modulus and never return false, so
# the oracle's own checks behind them are reached only with a verifier of fixed verdict.
STUB_VERIFIER = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract StubVerifier {
    bool private immutable i_verdict;
    constructor(bool verdict) { i_verdict = verdict; }
    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) { return i_verdict; }
}
"""


# --- helpers -------------------------------------------------------------------------------


def err(name: str, *args: object) -> str:
    """A custom error as ``ErrorDecoder.decode`` renders it (eth_abi decodes addresses lowercase)."""

    def render(value: object) -> str:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        if isinstance(value, str):
            return value.lower()
        return str(value)

    return f"{name}({', '.join(render(arg) for arg in args)})"


def uints(proof: Proof) -> list[int]:
    return [felt_to_uint(felt) for felt in proof.instances]


def submit_call(oracle: Contract, key: bytes, proof: bytes, instances: list[int]) -> ContractFunction:
    return oracle.functions.submit(key, proof, instances)


def submit(sender: TransactionSender, oracle: Contract, key: bytes, proof: Proof) -> Confirmed:
    return sender.transact(submit_call(oracle, key, proof.proof_bytes, uints(proof)), what="submit round")


def rejected(sender: TransactionSender, call: ContractFunction) -> str:
    """The decoded reason ``call`` is refused with, after checking a mined attempt reverts too."""
    with pytest.raises(RelayError) as refused:
        sender.send(call, what="rejected call")
    w3 = sender.w3
    tx = call.build_transaction(
        {
            "from": sender.account.address,
            "gas": MINED_REVERT_GAS,
            "nonce": w3.eth.get_transaction_count(sender.account.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(sender.account.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
    assert refused.value.reason is not None
    return refused.value.reason


def view_error(call: ContractFunction) -> str:
    with pytest.raises(ContractCustomError) as reverted:
        call.call()
    data = reverted.value.data
    return project_error_decoder().decode(data if isinstance(data, str) else None)


def block_time(w3: Web3, confirmed: Confirmed) -> int:
    return int(w3.eth.get_block(confirmed.block_number)["timestamp"])


def expected_answer(proof: Proof, spec: FeedSpec, circuit: CircuitArtifacts) -> int:
    felt = proof.instances[circuit.manifest.answer_index(spec.output)]
    return answer_from_felt(felt, scale=circuit.manifest.output_scale, decimals=spec.decimals)


def write_gemm_model(path: Path, weights: list[float], bias: float) -> Path:
    """A one-layer model over the demo's 4 prices: a different circuit with the same instance layout."""
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["prices", "w", "b"], ["forecast"], transB=1)],
        "weighted_average",
        [helper.make_tensor_value_info("prices", TensorProto.FLOAT, [1, len(weights)])],
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


# --- fixtures ------------------------------------------------------------------------------


def _sender(w3: Web3, account: LocalAccount) -> TransactionSender:
    return TransactionSender(w3, account, decoder=project_error_decoder())


@pytest.fixture(scope="module")
def owner(w3: Web3) -> TransactionSender:
    return _sender(w3, dev_account(OWNER))


@pytest.fixture(scope="module")
def relayer(w3: Web3) -> TransactionSender:
    return _sender(w3, dev_account(RELAYER))


@pytest.fixture(scope="module")
def outsider(w3: Web3) -> TransactionSender:
    return _sender(w3, dev_account(OUTSIDER))


@pytest.fixture(scope="module")
def demo_verifier(owner: TransactionSender, demo_circuit: CircuitArtifacts) -> str:
    # Verifiers are stateless, so one deployment serves every test's oracle.
    return deploy_verifier(owner, demo_circuit)


@pytest.fixture(scope="module")
def demo_config(demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, demo_verifier: str) -> tuple:
    return feed_config(demo_spec, demo_circuit, demo_verifier)


@pytest.fixture(scope="module")
def second_proof(demo_spec: FeedSpec, demo_circuit: CircuitArtifacts) -> Proof:
    """A second valid demo proof (another sample than ``demo_proof``), for a second round."""
    return LocalProver().prove(demo_circuit, demo_spec.load_samples()[1])


@pytest.fixture(scope="module")
def gemm_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Fixed bytes, so the content-addressed build cache finds it again on the next run.
    return write_gemm_model(tmp_path_factory.mktemp("models") / "gemm.onnx", [0.125, 0.125, 0.25, 0.5], 1.5)


@pytest.fixture(scope="module")
def other_circuit(gemm_model: Path, demo_spec: FeedSpec, build_root: Path) -> CircuitArtifacts:
    return build_circuit(gemm_model, demo_spec.load_samples(), build_root=build_root).artifacts


@pytest.fixture(scope="module")
def hashed_circuit(gemm_model: Path, demo_spec: FeedSpec, build_root: Path) -> CircuitArtifacts:
    """The same model with a Poseidon-hashed output: its last instance is a full-width field element."""
    options = CircuitOptions(output_visibility="hashed")
    return build_circuit(gemm_model, demo_spec.load_samples(), build_root=build_root, options=options).artifacts


@pytest.fixture(scope="module")
def hashed_proof(hashed_circuit: CircuitArtifacts, demo_spec: FeedSpec) -> Proof:
    return LocalProver().prove(hashed_circuit, demo_spec.load_samples()[2])


@pytest.fixture(scope="module")
def stub_verifiers(owner: TransactionSender) -> dict[bool, str]:
    """Verdict -> address of a stub verifier giving it for every proof."""
    compiled = compile_sources({"StubVerifier.sol": STUB_VERIFIER})["StubVerifier"]
    factory = owner.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    return {
        verdict: owner.transact(factory.constructor(verdict), what="deploy stub verifier").receipt["contractAddress"]
        for verdict in (True, False)
    }


@pytest.fixture
def oracle(w3: Web3, owner: TransactionSender) -> Contract:
    return bind(w3, ORACLE, deploy_oracle(owner))


@pytest.fixture
def demo_key(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, demo_spec: FeedSpec, demo_config: tuple
) -> bytes:
    """The demo feed registered on this test's oracle, with the relayer allowed to submit."""
    key = feed_key(demo_spec.id)
    owner.transact(oracle.functions.registerFeed(key, demo_config), what="register demo feed")
    owner.transact(oracle.functions.setSubmitter(key, relayer.account.address, True), what="allow relayer")
    return key


@pytest.fixture
def latest_round_unchanged(oracle: Contract, demo_key: bytes) -> Iterator[None]:
    """Asserts, after the test, that the demo feed stored no round beyond what it had before."""
    before = oracle.functions.latestRoundId(demo_key).call()
    yield
    assert oracle.functions.latestRoundId(demo_key).call() == before


# --- accepted rounds -----------------------------------------------------------------------


def test_valid_rounds_are_stored_announced_and_readable(
    w3: Web3,
    oracle: Contract,
    demo_key: bytes,
    relayer: TransactionSender,
    demo_proof: Proof,
    second_proof: Proof,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
) -> None:
    assert oracle.functions.latestRoundId(demo_key).call() == 0
    stored: list[tuple[int, int]] = []
    for round_id, proof in enumerate((demo_proof, second_proof), start=1):
        answer = expected_answer(proof, demo_spec, demo_circuit)
        # The contract's fixed-point conversion must agree with EZKL's own dequantisation.
        felt = proof.instances[demo_circuit.manifest.answer_index(demo_spec.output)]
        proven = felt_to_float(felt, demo_circuit.manifest.output_scale)
        assert abs(answer / 10**demo_spec.decimals - proven) <= 10.0**-demo_spec.decimals

        confirmed = submit(relayer, oracle, demo_key, proof)

        (event,) = oracle.events.RoundSubmitted().process_receipt(confirmed.receipt)
        assert event["args"]["feedId"] == demo_key
        assert event["args"]["roundId"] == round_id
        assert event["args"]["answer"] == answer
        assert event["args"]["submitter"] == relayer.account.address
        assert list(event["args"]["instances"]) == uints(proof)

        stamp = block_time(w3, confirmed)
        assert oracle.functions.latestRoundId(demo_key).call() == round_id
        assert oracle.functions.latestRoundData(demo_key).call() == [round_id, answer, stamp, stamp, round_id]
        instances_hash = Web3.keccak(encode(["uint256[]"], [uints(proof)]))
        assert oracle.functions.getRound(demo_key, round_id).call() == (
            answer,
            stamp,
            stamp,
            bytes(instances_hash),
            relayer.account.address,
        )
        stored.append((answer, stamp))

    # Earlier rounds stay readable after newer ones land.
    for round_id, (answer, stamp) in enumerate(stored, start=1):
        assert oracle.functions.getRoundData(demo_key, round_id).call() == [round_id, answer, stamp, stamp, round_id]


def test_consumer_reads_records_and_refuses_stale_answers(
    w3: Web3,
    oracle: Contract,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
    demo_proof: Proof,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
) -> None:
    consumer = bind(w3, CONSUMER, deploy_consumer(owner, oracle.address, demo_spec.id))
    # Before any round the oracle's own error reaches the consumer's caller unchanged.
    assert view_error(consumer.functions.readLatest()) == err("ZkOracleNoRounds", demo_key)

    stamp = block_time(w3, submit(relayer, oracle, demo_key, demo_proof))
    answer = expected_answer(demo_proof, demo_spec, demo_circuit)
    assert consumer.functions.readLatest().call() == [answer, demo_spec.decimals, 1, stamp]

    # Anyone may make the consumer record; it needs no role on the oracle.
    confirmed = outsider.transact(consumer.functions.record(3600), what="record")
    (event,) = consumer.events.AnswerRecorded().process_receipt(confirmed.receipt)
    assert (event["args"]["feedId"], event["args"]["roundId"], event["args"]["answer"]) == (demo_key, 1, answer)
    assert consumer.functions.s_lastAnswer().call() == answer
    assert consumer.functions.s_lastRoundId().call() == 1

    w3.provider.make_request("evm_increaseTime", [120])
    w3.provider.make_request("evm_mine", [])
    assert rejected(outsider, consumer.functions.record(60)) == err("ExampleConsumerStaleAnswer", demo_key, stamp, 60)
    # A generous enough bound still accepts the same (older) answer.
    outsider.transact(consumer.functions.record(3600), what="record")


# --- rejected submissions ------------------------------------------------------------------


@pytest.mark.usefixtures("latest_round_unchanged")
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_proof_with_a_flipped_byte_is_rejected(
    oracle: Contract, demo_key: bytes, relayer: TransactionSender, demo_proof: Proof, where: str
) -> None:
    tampered = bytearray(demo_proof.proof_bytes)
    position = {"first": 0, "middle": len(tampered) // 2, "last": len(tampered) - 1}[where]
    tampered[position] ^= 0x01
    call = submit_call(oracle, demo_key, bytes(tampered), uints(demo_proof))
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", demo_key)


@pytest.mark.usefixtures("latest_round_unchanged")
@pytest.mark.parametrize("index", range(5))
def test_proof_with_a_changed_instance_is_rejected(
    oracle: Contract, demo_key: bytes, relayer: TransactionSender, demo_proof: Proof, index: int
) -> None:
    instances = uints(demo_proof)
    assert len(instances) == 5  # 4 prices in, 1 forecast out: index covers every instance
    instances[index] += 1
    call = submit_call(oracle, demo_key, demo_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", demo_key)


@pytest.mark.usefixtures("latest_round_unchanged")
@pytest.mark.parametrize("who", [OUTSIDER, OWNER])
def test_submitter_without_permission_is_rejected(
    w3: Web3, oracle: Contract, demo_key: bytes, demo_proof: Proof, who: int
) -> None:
    # Owning the oracle grants no right to post rounds.
    sender = _sender(w3, dev_account(who))
    call = submit_call(oracle, demo_key, demo_proof.proof_bytes, uints(demo_proof))
    assert rejected(sender, call) == err("ZkOracleUnauthorizedSubmitter", demo_key, sender.account.address)


@pytest.mark.usefixtures("latest_round_unchanged")
@pytest.mark.parametrize("change", ["drop_last", "append_zero"])
def test_wrong_instance_count_is_rejected(
    oracle: Contract, demo_key: bytes, relayer: TransactionSender, demo_proof: Proof, change: str
) -> None:
    instances = uints(demo_proof)
    instances = instances[:-1] if change == "drop_last" else [*instances, 0]
    call = submit_call(oracle, demo_key, demo_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleInstanceCountMismatch", demo_key, 5, len(instances))


def test_replayed_proof_is_rejected_on_every_feed(
    oracle: Contract,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_proof: Proof,
    demo_config: tuple,
) -> None:
    submit(relayer, oracle, demo_key, demo_proof)
    call = submit_call(oracle, demo_key, demo_proof.proof_bytes, uints(demo_proof))
    proof_hash = Web3.keccak(demo_proof.proof_bytes)
    assert rejected(relayer, call) == err("ZkOracleProofReplayed", demo_key, bytes(proof_hash))
    assert oracle.functions.latestRoundId(demo_key).call() == 1

    # A second feed with the same verifier would accept the proof, but it is spent oracle-wide.
    copy_key = feed_key("demo-copy")
    owner.transact(oracle.functions.registerFeed(copy_key, demo_config), what="register copy")
    owner.transact(oracle.functions.setSubmitter(copy_key, relayer.account.address, True), what="allow relayer")
    call = submit_call(oracle, copy_key, demo_proof.proof_bytes, uints(demo_proof))
    assert rejected(relayer, call) == err("ZkOracleProofReplayed", copy_key, bytes(proof_hash))
    assert oracle.functions.latestRoundId(copy_key).call() == 0


@pytest.mark.usefixtures("latest_round_unchanged")
@pytest.mark.parametrize("index", [0, 4], ids=["input", "answer"])
def test_instance_outside_the_field_is_rejected(
    oracle: Contract, demo_key: bytes, relayer: TransactionSender, demo_proof: Proof, index: int
) -> None:
    # x + p is x again in the field; it must not pass as another encoding of a proven value.
    # EZKL's verifier refuses it before the oracle's own field check (covered with a stub below).
    instances = uints(demo_proof)
    instances[index] += FIELD_MODULUS
    call = submit_call(oracle, demo_key, demo_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", demo_key)


def test_proof_of_another_circuit_is_rejected(
    oracle: Contract,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_proof: Proof,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    other_circuit: CircuitArtifacts,
) -> None:
    # Same instance layout as the demo, so only the verifier can tell the proofs apart.
    assert other_circuit.manifest.instance_count == demo_circuit.manifest.instance_count
    assert other_circuit.manifest.model_commitment != demo_circuit.manifest.model_commitment
    other_key = feed_key("other")
    other_verifier = deploy_verifier(owner, other_circuit)
    owner.transact(
        oracle.functions.registerFeed(other_key, feed_config(demo_spec, other_circuit, other_verifier)),
        what="register other feed",
    )
    owner.transact(oracle.functions.setSubmitter(other_key, relayer.account.address, True), what="allow relayer")

    call = submit_call(oracle, other_key, demo_proof.proof_bytes, uints(demo_proof))
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", other_key)
    assert oracle.functions.latestRoundId(other_key).call() == 0
    # The refused proof was not spent: its own feed still takes it.
    submit(relayer, oracle, demo_key, demo_proof)
    assert oracle.functions.latestRoundId(demo_key).call() == 1


def test_answer_too_large_for_the_decimals_is_rejected(
    oracle: Contract,
    owner: TransactionSender,
    relayer: TransactionSender,
    hashed_circuit: CircuitArtifacts,
    hashed_proof: Proof,
) -> None:
    # A proven public output never exceeds EZKL's i128 range, far below the 2**255 / 10**36
    # needed to overflow; a Poseidon-hashed output is a full-width field element, so a real
    # proof reaches the overflow check when a feed (mis)takes that hash for its answer.
    instances = uints(hashed_proof)
    answer_index = len(instances) - 1
    hashed = instances[answer_index]
    field_value = hashed - FIELD_MODULUS if hashed > FIELD_MODULUS // 2 else hashed
    decimals = 36
    assert abs(field_value) > INT256_MAX // 10**decimals

    key = feed_key("hashed")
    verifier = deploy_verifier(owner, hashed_circuit)
    scale = hashed_circuit.manifest.output_scale
    config = (verifier, b"\x00" * 32, len(instances), answer_index, scale, decimals, "hashed output")
    owner.transact(oracle.functions.registerFeed(key, config), what="register hashed feed")
    owner.transact(oracle.functions.setSubmitter(key, relayer.account.address, True), what="allow relayer")

    call = submit_call(oracle, key, hashed_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleAnswerOverflow", key, field_value)
    assert oracle.functions.latestRoundId(key).call() == 0


# --- the oracle's checks behind the verifier (stub verifiers) -------------------------------


def register_stub_feed(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, verifier: str, *, scale: int, decimals: int
) -> bytes:
    """A feed whose single instance is its answer."""
    key = feed_key(f"stub-{scale}-{decimals}")
    config = (verifier, b"\x00" * 32, 1, 0, scale, decimals, "stub")
    owner.transact(oracle.functions.registerFeed(key, config), what="register stub feed")
    owner.transact(oracle.functions.setSubmitter(key, relayer.account.address, True), what="allow relayer")
    return key


def stub_submit_call(oracle: Contract, key: bytes, instance: int) -> ContractFunction:
    # Distinct proof bytes per instance, so replay protection never interferes.
    return submit_call(oracle, key, b"stub" + instance.to_bytes(32, "big"), [instance])


def test_verifier_answering_false_is_an_invalid_proof(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    key = register_stub_feed(oracle, owner, relayer, stub_verifiers[False], scale=13, decimals=8)
    assert rejected(relayer, stub_submit_call(oracle, key, 1)) == err("ZkOracleInvalidProof", key)
    assert oracle.functions.latestRoundId(key).call() == 0


@pytest.mark.parametrize("instance", [FIELD_MODULUS, FIELD_MODULUS + 1, 2**256 - 1])
def test_answer_instance_outside_the_field_is_refused(
    oracle: Contract,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    instance: int,
) -> None:
    key = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], scale=13, decimals=8)
    expected = err("ZkOracleInstanceNotInField", key, instance)
    assert rejected(relayer, stub_submit_call(oracle, key, instance)) == expected
    assert oracle.functions.latestRoundId(key).call() == 0


@pytest.mark.parametrize(
    ("value", "scale", "decimals"),
    [
        (0, 13, 8),
        (2000 * 2**13, 13, 8),
        (16, 13, 8),  # 195312.5 units: rounds away from zero
        (-16, 13, 8),
        (4096, 13, 0),  # exactly one half
        (-4096, 13, 0),
        (4095, 13, 0),
        (-1, 13, 8),
        (-(2**127), 13, 36),
        (2**127 - 1, 64, 36),
        (123456789, 0, 2),
    ],
)
def test_answer_derivation_matches_the_library(
    oracle: Contract,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    value: int,
    scale: int,
    decimals: int,
) -> None:
    # The pipeline predicts each round's answer with answer_from_felt; both must agree, sign included.
    key = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], scale=scale, decimals=decimals)
    instance = value % FIELD_MODULUS
    relayer.transact(stub_submit_call(oracle, key, instance), what="submit stub round")
    felt = instance.to_bytes(32, "little").hex()
    expected = answer_from_felt(felt, scale=scale, decimals=decimals)
    assert oracle.functions.latestRoundData(key).call()[1] == expected


@pytest.mark.parametrize("sign", [1, -1])
def test_overflow_boundary_of_the_answer(
    oracle: Contract,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    sign: int,
) -> None:
    decimals = 36
    key = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], scale=0, decimals=decimals)
    largest = sign * (INT256_MAX // 10**decimals)
    relayer.transact(stub_submit_call(oracle, key, largest % FIELD_MODULUS), what="submit largest answer")
    assert oracle.functions.latestRoundData(key).call()[1] == largest * 10**decimals
    beyond = largest + sign
    assert rejected(relayer, stub_submit_call(oracle, key, beyond % FIELD_MODULUS)) == err(
        "ZkOracleAnswerOverflow", key, beyond
    )
    assert oracle.functions.latestRoundId(key).call() == 1


@pytest.mark.parametrize("sign", [1, -1])
def test_rounding_next_to_the_int256_limit_does_not_overflow(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str], sign: int
) -> None:
    # value * 10 passes the multiplication check and sits 7 from int256's limit; rounding
    # by adding half of 2**13 first would overflow, rounding from the remainder must not.
    key = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], scale=13, decimals=1)
    instance = (sign * (INT256_MAX // 10)) % FIELD_MODULUS
    relayer.transact(stub_submit_call(oracle, key, instance), what="submit near-limit answer")
    felt = instance.to_bytes(32, "little").hex()
    assert oracle.functions.latestRoundData(key).call()[1] == answer_from_felt(felt, scale=13, decimals=1)


# --- administration ------------------------------------------------------------------------


def test_registering_a_feed_stores_and_announces_it(
    oracle: Contract, owner: TransactionSender, demo_spec: FeedSpec, demo_config: tuple, demo_verifier: str
) -> None:
    key = feed_key(demo_spec.id)
    confirmed = owner.transact(oracle.functions.registerFeed(key, demo_config), what="register")
    (event,) = oracle.events.FeedRegistered().process_receipt(confirmed.receipt)
    assert event["args"]["feedId"] == key
    assert event["args"]["verifier"] == demo_verifier
    assert event["args"]["modelCommitment"] == demo_config[1]
    assert event["args"]["decimals"] == demo_spec.decimals
    assert event["args"]["description"] == demo_spec.description
    assert oracle.functions.getFeed(key).call() == demo_config
    assert oracle.functions.latestRoundId(key).call() == 0


def test_submitter_can_be_allowed_and_disallowed(
    oracle: Contract,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
    demo_proof: Proof,
) -> None:
    candidate = outsider.account.address
    for allowed in (True, False):
        confirmed = owner.transact(oracle.functions.setSubmitter(demo_key, candidate, allowed), what="set submitter")
        (event,) = oracle.events.SubmitterUpdated().process_receipt(confirmed.receipt)
        args = event["args"]
        assert (args["feedId"], args["submitter"], args["allowed"]) == (demo_key, candidate, allowed)
        assert oracle.functions.isSubmitter(demo_key, candidate).call() is allowed

    call = submit_call(oracle, demo_key, demo_proof.proof_bytes, uints(demo_proof))
    assert rejected(outsider, call) == err("ZkOracleUnauthorizedSubmitter", demo_key, candidate)
    owner.transact(oracle.functions.setSubmitter(demo_key, relayer.account.address, False), what="revoke relayer")
    assert rejected(relayer, call) == err("ZkOracleUnauthorizedSubmitter", demo_key, relayer.account.address)
    assert oracle.functions.latestRoundId(demo_key).call() == 0


def test_ownership_is_announced_and_transferable(
    w3: Web3, oracle: Contract, owner: TransactionSender, demo_config: tuple
) -> None:
    (deployed,) = oracle.events.OwnershipTransferred().get_logs(from_block=0)
    assert (deployed["args"]["previousOwner"], deployed["args"]["newOwner"]) == (ZERO_ADDRESS, owner.account.address)
    assert oracle.functions.owner().call() == owner.account.address

    successor = _sender(w3, dev_account(SUCCESSOR))
    confirmed = owner.transact(oracle.functions.transferOwnership(successor.account.address), what="transfer")
    (event,) = oracle.events.OwnershipTransferred().process_receipt(confirmed.receipt)
    handover = (owner.account.address, successor.account.address)
    assert (event["args"]["previousOwner"], event["args"]["newOwner"]) == handover
    assert oracle.functions.owner().call() == successor.account.address

    key = feed_key("after-transfer")
    expected = err("ZkOracleNotOwner", owner.account.address)
    assert rejected(owner, oracle.functions.registerFeed(key, demo_config)) == expected
    successor.transact(oracle.functions.registerFeed(key, demo_config), what="register as new owner")


@pytest.mark.parametrize("action", ["registerFeed", "setSubmitter", "transferOwnership"])
def test_only_the_owner_administers(
    oracle: Contract, demo_key: bytes, outsider: TransactionSender, demo_config: tuple, action: str
) -> None:
    address = outsider.account.address
    calls: dict[str, Callable[[], ContractFunction]] = {
        "registerFeed": lambda: oracle.functions.registerFeed(feed_key("intruder"), demo_config),
        "setSubmitter": lambda: oracle.functions.setSubmitter(demo_key, address, True),
        "transferOwnership": lambda: oracle.functions.transferOwnership(address),
    }
    assert rejected(outsider, calls[action]()) == err("ZkOracleNotOwner", address)
    assert oracle.functions.isSubmitter(demo_key, address).call() is False
    assert oracle.functions.owner().call() != address
    intruder = feed_key("intruder")
    assert view_error(oracle.functions.getFeed(intruder)) == err("ZkOracleUnknownFeed", intruder)


def test_zero_addresses_are_refused(oracle: Contract, owner: TransactionSender, demo_config: tuple) -> None:
    key = feed_key("no-verifier")
    no_verifier = (ZERO_ADDRESS, *demo_config[1:])
    assert rejected(owner, oracle.functions.registerFeed(key, no_verifier)) == err("ZkOracleZeroAddress")
    assert view_error(oracle.functions.getFeed(key)) == err("ZkOracleUnknownFeed", key)
    assert rejected(owner, oracle.functions.transferOwnership(ZERO_ADDRESS)) == err("ZkOracleZeroAddress")
    assert oracle.functions.owner().call() == owner.account.address


def test_feed_cannot_be_registered_twice(
    oracle: Contract, demo_key: bytes, owner: TransactionSender, demo_config: tuple
) -> None:
    # Re-registering would let the owner swap a live feed's verifier under its consumers.
    replacement = (owner.account.address, *demo_config[1:])
    assert rejected(owner, oracle.functions.registerFeed(demo_key, replacement)) == err(
        "ZkOracleFeedAlreadyRegistered", demo_key
    )
    assert oracle.functions.getFeed(demo_key).call() == demo_config


def test_unknown_feed_is_refused_everywhere(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, demo_proof: Proof
) -> None:
    key = feed_key("nowhere")
    expected = err("ZkOracleUnknownFeed", key)
    assert rejected(relayer, submit_call(oracle, key, demo_proof.proof_bytes, uints(demo_proof))) == expected
    assert rejected(owner, oracle.functions.setSubmitter(key, relayer.account.address, True)) == expected
    for view in (
        oracle.functions.getFeed(key),
        oracle.functions.latestRoundData(key),
        oracle.functions.latestRoundId(key),
        oracle.functions.getRoundData(key, 1),
        oracle.functions.getRound(key, 1),
    ):
        assert view_error(view) == expected


@pytest.mark.parametrize(("instance_count", "output_index"), [(5, 5), (5, 9), (0, 0)])
def test_output_index_must_address_an_instance(
    oracle: Contract, owner: TransactionSender, demo_config: tuple, instance_count: int, output_index: int
) -> None:
    key = feed_key("bad-index")
    config = (*demo_config[:2], instance_count, output_index, *demo_config[4:])
    assert rejected(owner, oracle.functions.registerFeed(key, config)) == err(
        "ZkOracleOutputIndexOutOfRange", key, output_index, instance_count
    )
    assert view_error(oracle.functions.getFeed(key)) == err("ZkOracleUnknownFeed", key)


@pytest.mark.parametrize(("scale", "decimals"), [(65, 8), (13, 37), (255, 255)])
def test_scale_and_decimals_are_bounded(
    oracle: Contract, owner: TransactionSender, demo_config: tuple, scale: int, decimals: int
) -> None:
    key = feed_key("bad-scale")
    config = (*demo_config[:4], scale, decimals, demo_config[6])
    assert rejected(owner, oracle.functions.registerFeed(key, config)) == err(
        "ZkOracleUnsupportedScale", key, scale, decimals
    )
    assert view_error(oracle.functions.getFeed(key)) == err("ZkOracleUnknownFeed", key)


def test_largest_scale_and_decimals_are_accepted(
    oracle: Contract, owner: TransactionSender, demo_config: tuple
) -> None:
    key = feed_key("widest")
    config = (*demo_config[:4], 64, 36, demo_config[6])
    owner.transact(oracle.functions.registerFeed(key, config), what="register widest feed")
    assert oracle.functions.getFeed(key).call() == config


# --- reading rounds ------------------------------------------------------------------------


def test_no_round_yet_is_reported(oracle: Contract, demo_key: bytes) -> None:
    assert oracle.functions.latestRoundId(demo_key).call() == 0
    assert view_error(oracle.functions.latestRoundData(demo_key)) == err("ZkOracleNoRounds", demo_key)
    assert view_error(oracle.functions.getRoundData(demo_key, 1)) == err("ZkOracleUnknownRound", demo_key, 1)


def test_unknown_rounds_are_refused(
    oracle: Contract, demo_key: bytes, relayer: TransactionSender, demo_proof: Proof
) -> None:
    submit(relayer, oracle, demo_key, demo_proof)
    for round_id in (0, 2, 2**80 - 1):
        expected = err("ZkOracleUnknownRound", demo_key, round_id)
        assert view_error(oracle.functions.getRoundData(demo_key, round_id)) == expected
        assert view_error(oracle.functions.getRound(demo_key, round_id)) == expected
