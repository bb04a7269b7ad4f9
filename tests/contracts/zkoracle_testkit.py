"""Helpers shared by the contract tests: the oracle's structs, rejection checks, test contracts.

The tests read and write ZkOracle through its typed binding (``oracle.evm.zkoracle``).
They touch the raw web3 contract (``ZkOracle.contract``) only for what the binding does not
wrap: AccessControl's roles, events other than ``RoundSubmitted``, views the binding lacks
(``latestRoundDataNoOlderThan``, the constants) and any view whose revert ``view_error``
checks (the binding's views call at once, so there is no unsent call to hand it).

Rejected transactions are refused by gas estimation already; ``rejected`` also mines each
one with a fixed gas limit, so the tests show the chain itself reverts and keeps nothing,
not only that a simulation failed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.contract.base_contract import BaseContractEvent
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD
from web3.types import EventData

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.time_limbs import OBSERVED_AT_LIMB_BITS, OBSERVED_AT_LIMBS
from oracle.deployments.contracts import oracle_constructor
from oracle.evm.accounts import dev_account
from oracle.evm.compiler import CompiledContract, compile_sources
from oracle.evm.contracts import project_error_decoder
from oracle.evm.zkoracle import (
    FIELD_MODULUS,
    INT192_MAX,
    INT192_MIN,
    UNPROVEN_VERIFIER,
    Attestation,
    CircuitConfig,
    FeedParams,
    FeedRef,
    InputEvidence,
    InputPolicy,
    OnchainInput,
    OnchainInputKind,
    SliceConfig,
    ZkOracle,
)
from oracle.exceptions import RelayError
from oracle.provers import Proof
from relayer.sender import Confirmed, TransactionSender

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_HASH = b"\x00" * 32
# int256's range, for the instance arithmetic (answers are stored as int192: INT192_MIN/MAX).
INT256_MIN = -(2**255)
INT256_MAX = 2**255 - 1
DEFAULT_ADMIN_ROLE = b"\x00" * 32
OPERATOR_ROLE = bytes(Web3.keccak(text="OPERATOR_ROLE"))
# Well above what a proof verification costs, so a mined revert is the contract's, not out-of-gas.
MINED_REVERT_GAS = 5_000_000
# Dev accounts by role in these tests.
OWNER, RELAYER, OUTSIDER, OPERATOR = 0, 1, 2, 3
# How conftest's demo_key fixture describes the demo feed it registers.
DEMO_DESCRIPTION = "ETH / USD forecast (test)"
# The prices of the session's two demo proofs (conftest's first_proof and second_proof):
# exactly representable at EZKL's input scale 13 (multiples of 1/8), so an on-chain source
# holding them with a few decimals quantises to the very instances the proof carries.
FIRST_PRICES = [2038.5, 2064.0, 2069.25, 2074.125]
SECOND_PRICES = [2038.5, 2063.75, 2069.5, 2074.375]
# The selector of ExampleValueSource.value(), the view an on-chain input reads.
VALUE_SELECTOR = bytes(Web3.keccak(text="value()"))[:4]

# Real EZKL verifiers reject any instance >= the field modulus and never return false, so the
# oracle's checks behind the verifier are reached only with a verifier of fixed verdict. The
# sources stand in for broken on-chain inputs: one reverts, one answers with the wrong size.
TEST_CONTRACTS = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract StubVerifier {
    bool private immutable i_verdict;
    constructor(bool verdict) { i_verdict = verdict; }
    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) { return i_verdict; }
}
contract RevertingSource {
    function value() external pure returns (int256) { revert("unavailable"); }
}
contract WideSource {
    function value() external pure returns (int256, int256) { return (1, 2); }
}
contract RevertingAggregator {
    function getRoundData(uint80) external pure returns (uint80, int256, uint256, uint256, uint80) {
        revert("unavailable");
    }
}
"""


@cache
def helper_contracts() -> dict[str, CompiledContract]:
    return compile_sources({"TestContracts.sol": TEST_CONTRACTS})


# --- accounts and transactions --------------------------------------------------------------


def make_sender(w3: Web3, index: int) -> TransactionSender:
    return TransactionSender(w3, dev_account(index), decoder=project_error_decoder())


def deploy(sender: TransactionSender, compiled: CompiledContract, *args: object) -> Contract:
    factory = sender.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    confirmed = sender.transact(factory.constructor(*args), what=f"deploy {compiled.name}")
    return sender.w3.eth.contract(address=confirmed.receipt["contractAddress"], abi=compiled.abi)


def deploy_oracle_with_receipt(
    sender: TransactionSender, admin: str, *, admin_transfer_delay: int = 0, rotation_delay: int = 0
) -> tuple[ZkOracle, Confirmed]:
    constructor = oracle_constructor(sender, admin, admin_transfer_delay, rotation_delay)
    confirmed = sender.transact(constructor, what="deploy ZkOracle")
    return ZkOracle(sender.w3, confirmed.receipt["contractAddress"]), confirmed


def err(name: str, *args: object) -> str:
    """A custom error as a decoded revert renders it (eth_abi decodes addresses lowercase)."""

    def render(value: object) -> str:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        if isinstance(value, str):
            return value.lower()
        return str(value)

    return f"{name}({', '.join(render(arg) for arg in args)})"


def rejected(sender: TransactionSender, call: ContractFunction | ContractConstructor) -> str:
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
    assert refused.value.revert is not None
    return str(refused.value.revert)


def view_error(call: ContractFunction, *, sender: str | None = None) -> str:
    """The decoded custom error ``call`` reverts with when simulated (from ``sender`` if given)."""
    with pytest.raises(ContractCustomError) as reverted:
        call.call({"from": sender} if sender else None)
    data = reverted.value.data
    return str(project_error_decoder().decode(data if isinstance(data, str) else None))


def events(event: BaseContractEvent, confirmed: Confirmed) -> list[EventData]:
    """The receipt's logs of ``event`` (one the binding does not type); logs of other events are skipped."""
    return list(event.process_receipt(confirmed.receipt, errors=DISCARD))


def block_time(w3: Web3, confirmed: Confirmed) -> int:
    return int(w3.eth.get_block(confirmed.block_number)["timestamp"])


def freeze_time(w3: Web3, timestamp: int) -> None:
    """Makes ``timestamp`` the time of the latest block and of the next one (private chains only).

    Calls and gas estimates run against the latest block, transactions in the next one, so
    both then see exactly ``timestamp``; anvil_setTime lets the clock move backwards too.
    """
    for method, params in (
        ("anvil_setTime", [timestamp]),
        ("evm_mine", [timestamp]),
        ("evm_setNextBlockTimestamp", [timestamp]),
    ):
        response = w3.provider.make_request(method, params)
        assert "error" not in response, response


# --- the oracle's structs --------------------------------------------------------------------


def feed_params(
    *,
    decimals: int = 8,
    heartbeat: int = 60,
    max_age: int = 3600,
    policy: InputPolicy = InputPolicy.OPERATOR,
    permissionless: bool = False,
    min_answer: int = INT192_MIN,
    max_answer: int = INT192_MAX,
    description: str = "test feed",
    rounds_retained: int = 0,
) -> FeedParams:
    """The default age bound outlives the test session's proofs; by default no answer bounds, every round kept."""
    return FeedParams(
        decimals, heartbeat, max_age, policy, permissionless, min_answer, max_answer, description, rounds_retained
    )


def circuit(
    verifier: str,
    *,
    commitment: bytes = ZERO_HASH,
    instance_count: int = 4,
    input_count: int = 3,
    output_index: int = 3,
    input_scale: int = 13,
    output_scale: int = 13,
    observed_at_index: int = 0,
    onchain_inputs: tuple[OnchainInput, ...] = (),
    slices: tuple[SliceConfig, ...] = (),
) -> CircuitConfig:
    """By default the stub layout ``[limb0, limb1, limb2, answer]``: the observation time, then the answer."""
    return CircuitConfig(
        verifier=verifier,
        model_commitment=commitment,
        instance_count=instance_count,
        input_count=input_count,
        output_index=output_index,
        input_scale=input_scale,
        output_scale=output_scale,
        observed_at_index=observed_at_index,
        onchain_inputs=onchain_inputs,
        slices=slices,
    )


def timed_circuit(verifier: str, **overrides: object) -> CircuitConfig:
    """Stub layout ``[limb0, limb1, limb2, answer]`` (every circuit proves its observation time)."""
    return circuit(verifier, **overrides)  # type: ignore[arg-type]


def commitment_of(circuit: CircuitArtifacts | FeedCircuit) -> bytes:
    committed = circuit.model_commitment if isinstance(circuit, FeedCircuit) else circuit.manifest.model_commitment
    return bytes.fromhex(committed.removeprefix("0x"))


def artifacts_config(
    built: CircuitArtifacts, verifier: str, *, output: int = 0, onchain_inputs: tuple[OnchainInput, ...] = ()
) -> CircuitConfig:
    """A whole-model circuit's CircuitConfig as the deployer builds it: its time limbs are its last inputs."""
    manifest = built.manifest
    return CircuitConfig(
        verifier=verifier,
        model_commitment=commitment_of(built),
        instance_count=manifest.instance_count,
        input_count=manifest.input_instances,
        output_index=manifest.answer_index(output),
        input_scale=manifest.input_scales[0],
        output_scale=manifest.output_scale,
        observed_at_index=manifest.input_instances - OBSERVED_AT_LIMBS,
        onchain_inputs=onchain_inputs,
    )


def sliced_artifacts_config(sliced: FeedCircuit, verifiers: list[str | None], *, output: int = 0) -> CircuitConfig:
    """A sliced circuit's CircuitConfig as the deployer builds it (one verifier per slice, None if unproven)."""
    first = sliced.first.manifest
    slices = tuple(
        SliceConfig(UNPROVEN_VERIFIER, 0)
        if piece.circuit is None
        else SliceConfig(str(v), piece.circuit.manifest.instance_count)
        for piece, v in zip(sliced.pieces[1:], verifiers[1:], strict=True)
    )
    assert verifiers[0] is not None
    return CircuitConfig(
        verifier=verifiers[0],
        model_commitment=commitment_of(sliced),
        instance_count=first.instance_count,
        input_count=first.input_instances,
        output_index=sliced.answer_index(output),
        input_scale=first.input_scales[0],
        output_scale=sliced.output_scale,
        observed_at_index=first.input_instances - OBSERVED_AT_LIMBS,
        slices=slices,
    )


def onchain_input(target: str, *, decimals: int, index: int, selector: bytes = VALUE_SELECTOR) -> OnchainInput:
    """A getter input (allowed under the Operator policy only)."""
    return OnchainInput(
        kind=OnchainInputKind.GETTER, target=target, selector=selector, decimals=decimals, instance_index=index
    )


def aggregator_input(target: str, *, decimals: int, index: int, max_age: int = 3600) -> OnchainInput:
    """An AggregatorV3Interface input, read at the round the submission names."""
    return OnchainInput(
        kind=OnchainInputKind.AGGREGATOR,
        target=target,
        selector=b"\x00" * 4,
        decimals=decimals,
        instance_index=index,
        max_age=max_age,
    )


def register(
    owner: TransactionSender,
    oracle: ZkOracle,
    feed: FeedRef,
    params: FeedParams,
    config: CircuitConfig,
    *,
    submitters: tuple[str, ...] = (),
) -> Confirmed:
    confirmed = owner.transact(oracle.register_feed(feed, params, config), what="register feed")
    for submitter in submitters:
        owner.transact(oracle.set_submitter(feed, submitter, True), what="allow submitter")
    return confirmed


# --- proofs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proven:
    """A real proof and the observation time it carries."""

    proof: Proof
    observed_at: int

    @property
    def proof_bytes(self) -> bytes:
        return self.proof.proof_bytes

    @property
    def instances(self) -> list[int]:
        return [felt_to_uint(felt) for felt in self.proof.instances]

    @property
    def felts(self) -> list[str]:
        return self.proof.instances


def submit(
    sender: TransactionSender,
    oracle: ZkOracle,
    feed: FeedRef,
    proven: Proven,
    evidence: InputEvidence | None = None,
) -> Confirmed:
    call = oracle.submit(feed, proven.proof_bytes, proven.instances, evidence or InputEvidence())
    return sender.transact(call, what="submit round")


_stub_proofs = itertools.count()


def stub_proof() -> bytes:
    """Distinct bytes on every call, so no two stub submissions carry the same proof."""
    return b"stub-proof-" + next(_stub_proofs).to_bytes(8, "big")


def limb_instances(unix_time: int, *, scale: int = 13) -> list[int]:
    """The observation time as the oracle expects its three limbs, each at the input scale."""
    mask = (1 << OBSERVED_AT_LIMB_BITS) - 1
    return [((unix_time >> (OBSERVED_AT_LIMB_BITS * i)) & mask) << scale for i in range(OBSERVED_AT_LIMBS)]


def quantize(value: int, *, decimals: int, scale: int) -> int:
    """EzklInstances.quantize: ``value`` (with ``decimals``) as a field element at ``scale``, half away from zero."""
    numerator, denominator = value * (1 << scale), 10**decimals
    magnitude = (abs(numerator) * 2 + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else FIELD_MODULUS - magnitude


def inputs_hash_of(instances: list[int], input_count: int) -> bytes:
    """keccak256(abi.encodePacked(instances[:inputCount])): each input instance as one 32-byte word."""
    return bytes(Web3.keccak(b"".join(value.to_bytes(32, "big") for value in instances[:input_count])))


def attest(
    oracle: ZkOracle, feed: FeedRef, phase: int, instances: list[int], input_count: int, observed_at: int, *signers: int
) -> InputEvidence:
    """Signatures of the round's EIP-712 Observation by the dev accounts ``signers`` (any order)."""
    digest = oracle.observation_digest(feed, phase, inputs_hash_of(instances, input_count), observed_at)
    attestations = []
    for index in signers:
        account = dev_account(index)
        attestations.append(Attestation(account.address, bytes(account.unsafe_sign_hash(digest).signature)))
    return InputEvidence(attestations=tuple(attestations))


# --- stub rounds -----------------------------------------------------------------------------

_last_stub_time = 0


def stub_time(w3: Web3) -> int:
    """A fresh observation time for a stub round: later than every one handed out, never after the latest block.

    Rounds are ordered by their proven observation time, so stub rounds take strictly
    increasing times; when they catch up with the chain's clock, a block is mined at the time.
    """
    global _last_stub_time
    now = int(w3.eth.get_block("latest")["timestamp"])
    stamp = max(_last_stub_time + 1, now - 600)
    if stamp > now:
        response = w3.provider.make_request("evm_mine", [stamp])
        assert "error" not in response, response
    _last_stub_time = stamp
    return stamp


def timed(w3: Web3, *values: int, scale: int = 13) -> list[int]:
    """``[limb0, limb1, limb2, *values]`` observed at a fresh ``stub_time``: the stub layout's instances."""
    return limb_instances(stub_time(w3), scale=scale) + list(values)


def rotate(owner: TransactionSender, oracle: ZkOracle, feed: FeedRef, config: CircuitConfig) -> Confirmed:
    """Proposes ``config`` and executes it at once (the test oracles have no rotation delay); the execution's receipt."""
    owner.transact(oracle.propose_rotation(feed, config), what="propose rotation")
    return owner.transact(oracle.execute_rotation(feed), what="execute rotation")


def increase_time(w3: Web3, seconds: int) -> None:
    """Moves the chain's clock ahead and mines a block there."""
    for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
        response = w3.provider.make_request(method, params)
        assert "error" not in response, response


def deploy_aggregator(
    sender: TransactionSender, answer: int, *, decimals: int = 8, description: str = "ETH / USD"
) -> Contract:
    """An ExampleAggregator whose round 1 answers ``answer`` now; the sender may set later rounds."""
    from oracle.evm.contracts import project_contracts

    return deploy(sender, project_contracts()["ExampleAggregator"], decimals, description, answer)


# Dev accounts that act as data attesters in these tests (none of them submits).
ATTESTERS = (5, 6, 7)


def attester_addresses(indices: tuple[int, ...]) -> list[str]:
    return [dev_account(index).address for index in indices]
