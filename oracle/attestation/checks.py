"""What an attester checks before it signs an Observation: plain functions, no HTTP.

A signature says "these proven inputs are what the feed's source said at observed_at":
so the claim must be for a feed, chain and phase this attester serves, its time limbs
must encode observed_at, observed_at must be fresh, and every other input must match the
attester's own fetch of the source at that time, within the feed's tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from oracle.attestation.chain import PhaseInputs
from oracle.attestation.kinds import RefusalKind
from oracle.attestation.typed_data import ObservationClaim
from oracle.circuits.time_limbs import OBSERVED_AT_LIMB_BITS, OBSERVED_AT_LIMBS
from oracle.evm.zkoracle import FIELD_MODULUS
from oracle.feeds.schema import FeedSpec

MAX_CLOCK_SKEW_SECONDS = 5  # an observation may be this far ahead of the attester's clock
DEFAULT_TOLERANCE_PERCENT = 0.5


class Refused(Exception):
    """The attester will not sign: ``kind`` says why, ``detail`` says what it saw."""

    def __init__(self, kind: RefusalKind, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


def signed_felt(value: int) -> int:
    """A field element as a signed integer: negatives are encoded as FIELD_MODULUS - |x|."""
    return value - FIELD_MODULUS if value > FIELD_MODULUS // 2 else value


def decode_observed_at(instances: Sequence[int], *, index: int, scale: int) -> int:
    """The unix time the 3 limbs at ``index`` encode (least significant first, each quantised at ``scale``)."""
    observed_at = 0
    for i in range(OBSERVED_AT_LIMBS):
        raw = signed_felt(instances[index + i])
        limb, remainder = divmod(raw, 1 << scale)
        if remainder or not 0 <= limb < 1 << OBSERVED_AT_LIMB_BITS:
            raise Refused(
                RefusalKind.TIME_MISMATCH, f"time limb {i} (instance {index + i}) is {raw}, not an 11-bit limb"
            )
        observed_at |= limb << (OBSERVED_AT_LIMB_BITS * i)
    return observed_at


def check_instances(claim: ObservationClaim, phase: PhaseInputs) -> list[float]:
    """The claim's source inputs as values (instances less the time limbs), after checking their shape and time."""
    instances = claim.input_instances
    if len(instances) != phase.input_count:
        raise Refused(
            RefusalKind.BAD_INSTANCES,
            f"{len(instances)} input instances, phase {claim.phase_id} has {phase.input_count}",
        )
    if any(not 0 <= x < FIELD_MODULUS for x in instances):
        raise Refused(RefusalKind.BAD_INSTANCES, "an input instance is not a BN254 field element")
    index = phase.observed_at_index
    if index is None or not 0 <= index <= len(instances) - OBSERVED_AT_LIMBS:
        # Without a proven time the signature could be replayed with any old inputs.
        raise Refused(RefusalKind.BAD_INSTANCES, f"phase {claim.phase_id} does not prove its observation time")
    proven = decode_observed_at(instances, index=index, scale=phase.input_scale)
    if proven != claim.observed_at:
        raise Refused(RefusalKind.TIME_MISMATCH, f"the time limbs encode {proven}, the claim says {claim.observed_at}")
    values = [x for i, x in enumerate(instances) if not index <= i < index + OBSERVED_AT_LIMBS]
    return [signed_felt(x) / (1 << phase.input_scale) for x in values]


def check_freshness(observed_at: int, *, now: float, max_age_seconds: int) -> None:
    if observed_at > now + MAX_CLOCK_SKEW_SECONDS:
        raise Refused(RefusalKind.FROM_FUTURE, f"observed at {observed_at}, {observed_at - now:.0f} s ahead of now")
    if now - observed_at > max_age_seconds:
        raise Refused(
            RefusalKind.TOO_OLD,
            f"observed at {observed_at}, {now - observed_at:.0f} s ago; the feed allows {max_age_seconds} s",
        )


def compare_observation(
    claimed: Sequence[float], own: Sequence[float], *, tolerance_percent: float, input_scale: int
) -> None:
    """Each claimed input within ``tolerance_percent`` of the attester's own value, plus one quantisation step."""
    if len(claimed) != len(own):
        raise Refused(
            RefusalKind.OBSERVATION_DIFFERS, f"the claim has {len(claimed)} inputs, the source gives {len(own)}"
        )
    step = 2.0**-input_scale  # quantising to the circuit's grid moves a value by up to half of this
    for i, (theirs, mine) in enumerate(zip(claimed, own, strict=True)):
        allowed = abs(mine) * tolerance_percent / 100 + step
        if not abs(theirs - mine) <= allowed:
            raise Refused(
                RefusalKind.OBSERVATION_DIFFERS,
                f"input {i} is {theirs:.6g}, this attester observed {mine:.6g} (allowed ±{allowed:.3g})",
            )


def check_claim(
    claim: ObservationClaim,
    *,
    spec: FeedSpec,
    phase: PhaseInputs,
    now: float,
    observe: Callable[[FeedSpec, int], Sequence[float]],
) -> None:
    """Raise :class:`Refused` unless the attester may sign ``claim`` (chain, oracle and phase already matched)."""
    claimed = check_instances(claim, phase)
    check_freshness(claim.observed_at, now=now, max_age_seconds=spec.onchain.max_observation_age_seconds)
    try:
        own = [float(x) for x in observe(spec, claim.observed_at)]
    except Exception as exc:  # any source failure: the attester cannot vouch, whatever the reason
        raise Refused(RefusalKind.SOURCE_FAILED, f"{type(exc).__name__}: {exc}") from exc
    if not all(math.isfinite(x) for x in own):
        raise Refused(RefusalKind.SOURCE_FAILED, f"the source gave a non-finite value in {own}")
    tolerance = spec.attestation.tolerance_percent if spec.attestation else DEFAULT_TOLERANCE_PERCENT
    compare_observation(claimed, own, tolerance_percent=tolerance, input_scale=phase.input_scale)
