"""The Observation's EIP-712 digest, recomputed by hand from the Solidity definition: what ZkOracle will check."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from oracle.attestation.typed_data import (
    OBSERVATION_TYPE,
    Attestation,
    ObservationClaim,
    inputs_hash,
    recover_signer,
    sign_observation,
)
from oracle.evm.zkoracle import FIELD_MODULUS

ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
INSTANCES = (5 << 13, FIELD_MODULUS - (3 << 13), 0, 1234 << 13, 7 << 13, 1 << 13)
OBSERVATION = {
    "chain_id": 31337,
    "oracle": ORACLE,
    "feed_id": "demo",
    "phase_id": 2,
    "input_instances": INSTANCES,
    "observed_at": 1_760_000_123,
}
CLAIM = ObservationClaim(**OBSERVATION)


def _digest_by_hand(
    *, chain_id: int, oracle: str, feed_id: str, phase_id: int, inputs: bytes, observed_at: int
) -> bytes:
    """keccak256("\\x19\\x01" || domainSeparator || structHash), as OpenZeppelin's EIP712 computes it."""
    domain_type = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    domain_separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_type, keccak(text="ZkOracle"), keccak(text="1"), chain_id, oracle],
        )
    )
    struct_hash = keccak(
        encode(
            ["bytes32", "bytes32", "uint16", "bytes32", "uint64"],
            [keccak(text=OBSERVATION_TYPE), keccak(text=feed_id), phase_id, inputs, observed_at],
        )
    )
    return keccak(b"\x19\x01" + domain_separator + struct_hash)


def test_the_type_string_is_the_contracts() -> None:
    assert OBSERVATION_TYPE == "Observation(bytes32 feedId,uint16 phaseId,bytes32 inputsHash,uint64 observedAt)"


def test_inputs_hash_is_keccak_of_consecutive_uint256_words() -> None:
    words = b"".join(x.to_bytes(32, "big") for x in INSTANCES)
    assert inputs_hash(INSTANCES) == keccak(words)
    assert inputs_hash([]) == keccak(b"")


def test_signed_digest_equals_the_digest_computed_by_hand() -> None:
    account = Account.create()
    signed = account.sign_typed_data(full_message=ObservationClaim(**OBSERVATION).typed_data())
    by_hand = _digest_by_hand(
        chain_id=31337,
        oracle=ORACLE,
        feed_id="demo",
        phase_id=2,
        inputs=keccak(b"".join(x.to_bytes(32, "big") for x in INSTANCES)),
        observed_at=1_760_000_123,
    )
    assert signed.message_hash == by_hand
    # And the signature is an ECDSA signature of that digest: what the contract's ECDSA.recover sees.
    assert Account._recover_hash(by_hand, signature=signed.signature) == account.address
    message = CLAIM.message()
    assert keccak(b"\x19" + message.version + message.header + message.body) == by_hand


def test_sign_and_recover_round_trip() -> None:
    account = Account.create()
    attestation = sign_observation(account, CLAIM)
    assert attestation.signer == account.address
    assert len(attestation.signature) == 65
    assert recover_signer(CLAIM, attestation.signature) == account.address
    assert attestation.to_abi() == (account.address, attestation.signature)


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": 1},
        {"oracle": "0x" + "22" * 20},
        {"feed_id": "other"},
        {"phase_id": 3},
        {"observed_at": 1_760_000_124},
        {"input_instances": (*INSTANCES[:-1], INSTANCES[-1] + 1)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_field_is_signed(change: dict) -> None:
    account = Account.create()
    attestation = sign_observation(account, CLAIM)
    assert recover_signer(ObservationClaim(**{**OBSERVATION, **change}), attestation.signature) != account.address


def test_a_broken_signature_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a valid signature"):
        recover_signer(CLAIM, b"\x01" * 10)


def test_claim_json_round_trip() -> None:
    claim = ObservationClaim(**OBSERVATION, source_values=(2000.5, -1.25))
    document = claim.to_json()
    assert all(isinstance(x, str) for x in document["input_instances"])  # 254-bit numbers survive any JSON parser
    assert ObservationClaim.from_json(document) == claim
    assert Attestation(signer=ORACLE.lower(), signature=b"x").to_abi() == (ORACLE, b"x")
