"""Attesters over real HTTP for tests: the attester app under uvicorn on a free loopback port, in a thread.

The chain is a plain in-memory :class:`~oracle.attestation.chain.StaticChain` with the demo
circuit's real layout (EZKL calibrates the demo model's inputs at scale 13; its 4 prices
come first, then the 3 time limbs); the production chain reader is covered by an
integration test against a deployed ZkOracle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from eth_account.signers.local import LocalAccount

from oracle.attestation.chain import AttestedChain, PhaseInputs, StaticChain
from oracle.attestation.typed_data import ObservationClaim
from oracle.circuits.time_limbs import time_limbs
from oracle.evm.anvil import free_port
from oracle.evm.zkoracle import FIELD_MODULUS
from oracle.feeds.schema import FeedSpec
from oracle.sources.factory import create_source
from tests.serving import serving

CHAIN_ID = 31337
ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PHASE = 1
DEMO_SCALE = 13
DEMO_PHASE = PhaseInputs(input_scale=DEMO_SCALE, input_count=7, observed_at_index=4)


def demo_chain(*, chain_id: int = CHAIN_ID) -> StaticChain:
    return StaticChain(chain_id=chain_id, oracle=ORACLE, phases={("demo", PHASE): DEMO_PHASE})


def felt(value: float, *, scale: int = DEMO_SCALE) -> int:
    """``value`` quantised at ``scale`` as EZKL's field element (negatives as FIELD_MODULUS - |x|)."""
    return round(value * (1 << scale)) % FIELD_MODULUS


def honest_values(spec: FeedSpec, observed_at: int) -> list[float]:
    """What the node's pipeline feeds the model at ``observed_at``: the source's values transformed, then the limbs."""
    source_values = spec.input.apply([float(x) for x in create_source(spec.source).fetch(now=float(observed_at))])
    return spec.model_input(source_values, observed_at=observed_at)


def claim_for(
    spec: FeedSpec,
    observed_at: int,
    *,
    values: Sequence[float] | None = None,
    chain_id: int = CHAIN_ID,
    oracle: str = ORACLE,
) -> ObservationClaim:
    """A claim whose instances are ``values`` (default: the honest model input at ``observed_at``)."""
    model_input = list(values) if values is not None else honest_values(spec, observed_at)
    return ObservationClaim(
        chain_id=chain_id,
        oracle=oracle,
        feed_id=spec.id,
        phase_id=PHASE,
        observed_at=observed_at,
        input_instances=tuple(felt(x) for x in model_input),
        source_values=tuple(model_input[: DEMO_PHASE.observed_at_index]),
    )


def with_limbs(values: Sequence[float], observed_at: int) -> list[float]:
    return [*values[: DEMO_PHASE.observed_at_index], *time_limbs(observed_at)]


@contextmanager
def attester_server(
    account: LocalAccount,
    feeds: dict[str, FeedSpec],
    *,
    chain: AttestedChain,
    clock: Callable[[], float] = time.time,
) -> Iterator[str]:
    """An attester signing with ``account`` on a free loopback port, in a thread; yields its base URL."""
    from oracle.attestation.server import create_attester_app

    app = create_attester_app(account=account, feeds=feeds, chain=chain, clock=clock)
    with serving(app, what="the attester") as url:
        yield url


def nothing_listening() -> str:
    """A loopback URL where no attester listens (a free port, closed again)."""
    return f"http://127.0.0.1:{free_port()}"
