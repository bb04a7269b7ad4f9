"""A feed's data attesters as the node asks them: one proven round's inputs in, k signatures out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oracle.attestation.client import DEFAULT_TIMEOUT_SECONDS, gather_attestations
from oracle.attestation.typed_data import ObservationClaim
from oracle.evm.zkoracle import Attestation
from oracle.feeds.schema import FeedSpec


@dataclass(frozen=True)
class AttesterPanel:
    """The attesters of one feed's current phase on one oracle; ``attest`` raises AttestationError."""

    feed_id: str
    chain_id: int
    oracle: str
    phase_id: int
    attesters: tuple[tuple[str, str], ...]  # (address, url)
    threshold: int
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def of(cls, spec: FeedSpec, *, chain_id: int, oracle: str, phase_id: int) -> AttesterPanel | None:
        """The panel of an attested feed; None for a feed whose inputs no attester vouches for."""
        if spec.onchain.input_policy != "attested" or spec.attestation is None:
            return None
        return cls(
            feed_id=spec.id,
            chain_id=chain_id,
            oracle=oracle,
            phase_id=phase_id,
            attesters=tuple((a.address, a.url) for a in spec.attestation.attesters),
            threshold=spec.attestation.threshold,
        )

    def attest(
        self, *, observed_at: int, input_instances: Sequence[int], source_values: Sequence[float]
    ) -> tuple[Attestation, ...]:
        claim = ObservationClaim(
            chain_id=self.chain_id,
            oracle=self.oracle,
            feed_id=self.feed_id,
            phase_id=self.phase_id,
            observed_at=observed_at,
            input_instances=tuple(input_instances),
            source_values=tuple(source_values),
        )
        return tuple(gather_attestations(claim, self.attesters, threshold=self.threshold, timeout=self.timeout))
