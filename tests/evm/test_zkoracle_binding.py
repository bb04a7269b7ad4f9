"""The typed ZkOracle binding agrees with the compiled contract: struct layouts, constants, round ids, round trips."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest
from web3 import Web3

from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.deployments.contracts import deploy_oracle
from oracle.deployments.keys import sender_for
from oracle.evm.contracts import ORACLE, project_contracts
from oracle.evm.zkoracle import (
    FIELD_MODULUS,
    INT192_MAX,
    INT192_MIN,
    MAX_SLICES,
    UNPROVEN_VERIFIER,
    AnswerParams,
    Attestation,
    CircuitConfig,
    FeedParams,
    InputEvidence,
    InputPolicy,
    OnchainInput,
    OnchainInputKind,
    RoundId,
    RoundRecord,
    SliceConfig,
    ZkOracle,
)

# Each dataclass and the IZkOracle struct it mirrors.
STRUCTS = {
    "FeedParams": FeedParams,
    "AnswerParams": AnswerParams,
    "OnchainInput": OnchainInput,
    "Attestation": Attestation,
    "InputEvidence": InputEvidence,
    "SliceConfig": SliceConfig,
    "CircuitConfig": CircuitConfig,
    "Round": RoundRecord,
}


def _struct_layouts() -> dict[str, list[str]]:
    """Every ``IZkOracle`` struct in the compiled ABI, as its field names in order."""
    found: dict[str, list[str]] = {}

    def visit(params: list[dict]) -> None:
        for param in params:
            match = re.fullmatch(r"struct IZkOracle\.(\w+)(\[\])?", param.get("internalType", ""))
            if match:
                found[match.group(1)] = [component["name"] for component in param["components"]]
                visit(param["components"])

    for entry in project_contracts()[ORACLE].abi:
        visit(entry.get("inputs", []))
        visit(entry.get("outputs", []))
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_every_struct_of_the_interface_has_a_dataclass_with_its_fields_in_order() -> None:
    layouts = _struct_layouts()
    assert set(layouts) == set(STRUCTS), "a struct was added to or removed from IZkOracle without the binding"
    for name, binding in STRUCTS.items():
        assert [_snake(field) for field in layouts[name]] == [field.name for field in fields(binding)], name


def test_round_ids_pack_the_phase_above_the_round_in_phase() -> None:
    assert int(RoundId(1, 1)) == (1 << 64) | 1
    assert RoundId.decode((3 << 64) | 7) == RoundId(3, 7)
    largest = RoundId((1 << 16) - 1, (1 << 64) - 1)
    assert int(largest) == (1 << 80) - 1 and RoundId.decode(int(largest)) == largest
    assert RoundId(1, 9) < RoundId(2, 1)
    for phase, n in ((1 << 16, 0), (0, 1 << 64), (-1, 0)):
        with pytest.raises(ValueError):
            RoundId(phase, n)


def test_the_mirrored_constants_are_the_contracts(w3: Web3) -> None:
    oracle = ZkOracle(w3, deploy_oracle(sender_for(w3, "deployer"))).contract
    assert oracle.functions.MAX_SLICES().call() == MAX_SLICES
    assert oracle.functions.OBSERVED_AT_LIMBS().call() == OBSERVED_AT_LIMBS
    assert FIELD_MODULUS == 21888242871839275222246405745257275088548364400416034343698204186575808495617


def test_structs_round_trip_through_a_deployed_oracle(w3: Web3) -> None:
    deployer = sender_for(w3, "deployer")
    oracle = ZkOracle(w3, deploy_oracle(deployer))
    verifier, target = (Web3.to_checksum_address(f"0x{byte * 20}") for byte in ("a1", "b2"))
    # The oracle refuses a verifier or source without code; these never run, so one byte does.
    for address in (verifier, target):
        assert "error" not in w3.provider.make_request("anvil_setCode", [address, "0x00"])
    params = FeedParams(
        decimals=6,
        heartbeat=300,
        max_observation_age=90,
        input_policy=InputPolicy.OPERATOR,
        permissionless=False,
        min_answer=INT192_MIN,
        max_answer=INT192_MAX,
        description="ok",
    )
    sliced = CircuitConfig(
        verifier=verifier,
        model_commitment=bytes(range(32)),
        instance_count=5,
        input_count=5,
        output_index=1,
        input_scale=13,
        output_scale=12,
        observed_at_index=2,
        onchain_inputs=(OnchainInput(OnchainInputKind.GETTER, target, b"\x3f\xa4\xf2\x45", 8, 0),),
        slices=(SliceConfig(UNPROVEN_VERIFIER, 0), SliceConfig(verifier, 3)),
    )
    deployer.transact(oracle.register_feed("binding", params, sliced), what="register")

    assert oracle.feed_params("binding") == params
    assert oracle.circuit("binding") == (1, sliced)
    assert oracle.phase_circuit("binding", 1) == sliced
    assert sliced.coverage == (2, 3)
    assert oracle.latest_round_id("binding") is None
    assert not oracle.is_paused("binding")
    assert not oracle.is_submitter("binding", target)

    whole = CircuitConfig(verifier, bytes(32), 4, 3, 3, 13, 13, 0)
    deployer.transact(oracle.propose_rotation("binding", whole), what="propose")
    phase, executable_at = oracle.pending_rotation("binding")
    assert phase == 2 and executable_at > 0
    assert oracle.phase_circuit("binding", 2) == whole
    deployer.transact(oracle.execute_rotation("binding"), what="execute")
    assert oracle.pending_rotation("binding") is None
    assert oracle.circuit("binding") == (2, whole)
    assert whole.coverage == (1, 1)
    assert not oracle.is_halted("binding")
    deployer.transact(oracle.set_halted("binding", True), what="halt")
    assert oracle.is_halted("binding")


def test_evidence_orders_attestations_by_signer_and_keeps_source_rounds() -> None:
    low, high = "0x" + "01" * 20, "0x" + "fe" * 20
    evidence = InputEvidence(attestations=(Attestation(high, b"h"), Attestation(low, b"l")), source_rounds=(7, 0))
    signers, rounds = evidence.to_abi()
    # The contract counts each signer once by requiring them strictly increasing.
    assert [Web3.to_checksum_address(a) for a, _ in signers] == [
        Web3.to_checksum_address(low),
        Web3.to_checksum_address(high),
    ]
    assert [sig for _, sig in signers] == [b"l", b"h"]
    assert rounds == [7, 0]
    assert InputEvidence().to_abi() == ([], [])


def test_feed_params_and_onchain_inputs_round_trip_their_enums() -> None:
    params = FeedParams(7, 0, 60, InputPolicy.ATTESTED, True, -5, 10**20, "attested")
    verifier = Web3.to_checksum_address("0x" + "a1" * 20)
    assert FeedParams.from_abi(params.to_abi()) == params
    aggregator = OnchainInput(OnchainInputKind.AGGREGATOR, verifier, b"\x00" * 4, 8, 0, 600)
    assert OnchainInput.from_abi(aggregator.to_abi()) == aggregator
    assert InputPolicy.ONCHAIN.label == "onchain"
