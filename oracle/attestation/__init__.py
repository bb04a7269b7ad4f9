"""Data attesters for the ``attested`` input policy: EIP-712 Observations, the attester service, the node's client."""

from oracle.attestation.kinds import AttestationFailure, Refusal, RefusalKind
from oracle.attestation.typed_data import Attestation, ObservationClaim, inputs_hash, recover_signer, sign_observation

__all__ = [
    "Attestation",
    "AttestationFailure",
    "ObservationClaim",
    "Refusal",
    "RefusalKind",
    "inputs_hash",
    "recover_signer",
    "sign_observation",
]
