"""The EIP-712 ``Observation`` an attester signs, exactly as ZkOracle checks it.

ZkOracle is ``EIP712("ZkOracle", "1")`` (OpenZeppelin) and accepts an attested round when
enough registered attesters signed::

    Observation(bytes32 feedId,uint16 phaseId,bytes32 inputsHash,uint64 observedAt)

with ``feedId = keccak256(bytes(feed id))``, ``inputsHash = keccak256(abi.encodePacked(
instances[:inputCount]))`` (the proof's input instances, time limbs included) and
``observedAt`` the observation time the circuit proves. Hashing and signing are left to
``eth_account``/``eth_abi``; ``tests/attestation`` recomputes the digest by hand so the two
sides cannot drift apart silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.packed import encode_packed
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address

from oracle.evm.contracts import feed_key
from oracle.evm.zkoracle import Attestation

DOMAIN_NAME = "ZkOracle"
DOMAIN_VERSION = "1"
OBSERVATION_TYPE = "Observation(bytes32 feedId,uint16 phaseId,bytes32 inputsHash,uint64 observedAt)"
OBSERVATION_FIELDS: list[dict[str, str]] = [
    {"name": "feedId", "type": "bytes32"},
    {"name": "phaseId", "type": "uint16"},
    {"name": "inputsHash", "type": "bytes32"},
    {"name": "observedAt", "type": "uint64"},
]


@dataclass(frozen=True)
class ObservationClaim:
    """What a node asks attesters to sign: a proven round's inputs, where it is headed, and when it was observed.

    ``source_values`` are the node's own (transformed) source values; an attester never
    trusts them (it fetches its own) and only quotes them back when it disagrees.
    """

    chain_id: int
    oracle: str
    feed_id: str
    phase_id: int
    observed_at: int
    input_instances: tuple[int, ...]
    source_values: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        # Instances are field elements up to 254 bits: hex strings survive any JSON parser.
        return {
            "chain_id": self.chain_id,
            "oracle": self.oracle,
            "feed_id": self.feed_id,
            "phase_id": self.phase_id,
            "observed_at": self.observed_at,
            "input_instances": [hex(x) for x in self.input_instances],
            "source_values": list(self.source_values),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObservationClaim:
        """Raises ``KeyError``, ``TypeError`` or ``ValueError`` on a malformed document."""
        instances = tuple(_uint(x) for x in data["input_instances"])
        return cls(
            chain_id=_int(data["chain_id"]),
            oracle=to_checksum_address(str(data["oracle"])),
            feed_id=_str(data["feed_id"]),
            phase_id=_int(data["phase_id"]),
            observed_at=_int(data["observed_at"]),
            input_instances=instances,
            source_values=tuple(float(x) for x in data.get("source_values", ())),
        )

    def typed_data(self) -> dict[str, Any]:
        """The full EIP-712 message (domain, types, message) for ``eth_account``."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Observation": OBSERVATION_FIELDS,
            },
            "primaryType": "Observation",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": self.chain_id,
                "verifyingContract": to_checksum_address(self.oracle),
            },
            "message": {
                "feedId": feed_key(self.feed_id),
                "phaseId": self.phase_id,
                "inputsHash": inputs_hash(self.input_instances),
                "observedAt": self.observed_at,
            },
        }

    def message(self) -> SignableMessage:
        return encode_typed_data(full_message=self.typed_data())


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _uint(value: Any) -> int:
    number = int(value, 0) if isinstance(value, str) else _int(value)
    if number < 0:
        raise ValueError(f"an instance is a uint256, got {number}")
    return number


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def inputs_hash(instances: Sequence[int]) -> bytes:
    """``keccak256(abi.encodePacked(instances))`` of a ``uint256[]``: consecutive 32-byte big-endian words."""
    return keccak(encode_packed(["uint256[]"], [list(instances)]))


def sign_observation(account: Any, claim: ObservationClaim) -> Attestation:
    """``account`` (an ``eth_account`` LocalAccount) signs the claim's Observation."""
    signed = account.sign_typed_data(full_message=claim.typed_data())
    return Attestation(signer=to_checksum_address(account.address), signature=bytes(signed.signature))


def recover_signer(claim: ObservationClaim, signature: bytes) -> str:
    """The (checksummed) address whose key made ``signature`` over the claim's Observation (an EOA, as ECDSA
    recovers it).

    Raises ``ValueError`` for a signature that is not a valid 65-byte ECDSA signature.
    """
    try:
        return to_checksum_address(Account.recover_message(claim.message(), signature=signature))
    except Exception as exc:  # eth_keys raises its own BadSignature, among others
        raise ValueError(f"not a valid signature ({type(exc).__name__}: {exc})") from exc
