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
    MAX_FUTURE_SKEW,
    MAX_SLICES,
    UNPROVEN_VERIFIER,
    CircuitConfig,
    FeedParams,
    OnchainInput,
    RoundId,
    RoundRecord,
    SliceConfig,
    ZkOracle,
)

# Each dataclass and the IZkOracle struct it mirrors.
STRUCTS = {
    "FeedParams": FeedParams,
    "OnchainInput": OnchainInput,
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
    assert oracle.functions.MAX_FUTURE_SKEW().call() == MAX_FUTURE_SKEW
    assert oracle.functions.MAX_SLICES().call() == MAX_SLICES
    assert oracle.functions.OBSERVED_AT_LIMBS().call() == OBSERVED_AT_LIMBS
    assert FIELD_MODULUS == 21888242871839275222246405745257275088548364400416034343698204186575808495617


def test_structs_round_trip_through_a_deployed_oracle(w3: Web3) -> None:
    deployer = sender_for(w3, "deployer")
    oracle = ZkOracle(w3, deploy_oracle(deployer))
    verifier, target = (Web3.to_checksum_address(f"0x{byte * 20}") for byte in ("a1", "b2"))
    params = FeedParams(decimals=6, heartbeat=300, max_observation_age=90, permissionless=False, description="ok")
    sliced = CircuitConfig(
        verifier=verifier,
        model_commitment=bytes(range(32)),
        instance_count=6,
        input_count=5,
        output_index=1,
        input_scale=13,
        output_scale=12,
        binds_observed_at=True,
        observed_at_index=2,
        onchain_inputs=(OnchainInput(target, b"\x3f\xa4\xf2\x45", 8, 0),),
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

    whole = CircuitConfig(verifier, bytes(32), 4, 3, 3, 13, 13, True, 0)
    deployer.transact(oracle.rotate_feed("binding", whole), what="rotate")
    assert oracle.circuit("binding") == (2, whole)
    assert whole.coverage == (1, 1)
