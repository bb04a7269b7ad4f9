"""The node gathering attestations from real attester servers: threshold, silence, refusals, foreign keys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from oracle.attestation.client import gather_attestations
from oracle.attestation.kinds import AttestationFailure, RefusalKind
from oracle.attestation.typed_data import ObservationClaim, recover_signer
from oracle.exceptions import AttestationError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from tests.attestation.harness import attester_server, claim_for, demo_chain, nothing_listening
from tests.conftest import DEMO_FEED


@pytest.fixture(scope="module")
def demo() -> FeedSpec:
    return load_feed(DEMO_FEED)


@pytest.fixture(scope="module")
def keys() -> list[LocalAccount]:
    return [Account.create() for _ in range(3)]


@pytest.fixture(scope="module")
def urls(demo: FeedSpec, keys: list[LocalAccount]) -> Iterator[list[str]]:
    """Two honest attesters on the demo feed."""
    with ExitStack() as stack:
        yield [stack.enter_context(attester_server(key, {"demo": demo}, chain=demo_chain())) for key in keys[:2]]


@pytest.fixture
def claim(demo: FeedSpec) -> ObservationClaim:
    return claim_for(demo, int(time.time()) - 2)


def test_two_of_three_with_one_attester_down(
    claim: ObservationClaim, keys: list[LocalAccount], urls: list[str]
) -> None:
    attesters = [(keys[0].address, urls[0]), (keys[1].address, urls[1]), (keys[2].address, nothing_listening())]
    attestations = gather_attestations(claim, attesters, threshold=2, timeout=10)
    assert sorted(a.signer for a in attestations) == sorted(k.address for k in keys[:2])
    # Sorted by strictly increasing signer address, as the contract takes them.
    signers = [int(a.signer, 16) for a in attestations]
    assert signers == sorted(signers) and len(set(signers)) == len(signers)
    assert all(recover_signer(claim, a.signature) == a.signer for a in attestations)


def test_two_of_three_down_fails_with_each_reason(
    claim: ObservationClaim, keys: list[LocalAccount], urls: list[str]
) -> None:
    down = [nothing_listening(), nothing_listening()]
    attesters = [(keys[0].address, urls[0]), (keys[1].address, down[0]), (keys[2].address, down[1])]
    with pytest.raises(AttestationError) as caught:
        gather_attestations(claim, attesters, threshold=2, timeout=10)
    error = caught.value
    assert (error.feed, error.kind, error.signed, error.needed) == ("demo", AttestationFailure.TOO_FEW_SIGNATURES, 1, 2)
    assert sorted((r.attester, r.url, r.kind) for r in error.refusals) == sorted(
        [(keys[1].address, down[0], RefusalKind.UNREACHABLE), (keys[2].address, down[1], RefusalKind.UNREACHABLE)]
    )
    assert "1 of 3 attesters signed, 2 needed" in str(error)


def test_refusals_come_back_as_their_kind(demo: FeedSpec, keys: list[LocalAccount], urls: list[str]) -> None:
    stale = claim_for(demo, int(time.time()) - demo.onchain.max_observation_age_seconds - 30)
    with pytest.raises(AttestationError) as caught:
        gather_attestations(stale, [(keys[0].address, urls[0]), (keys[1].address, urls[1])], threshold=1)
    assert [r.kind for r in caught.value.refusals] == [RefusalKind.TOO_OLD, RefusalKind.TOO_OLD]
    assert all("allows 120 s" in r.detail for r in caught.value.refusals)


def test_a_signature_by_an_unregistered_key_is_dropped(
    claim: ObservationClaim, keys: list[LocalAccount], urls: list[str]
) -> None:
    # The attester registered as keys[2] answers with keys[1]'s signature (say, a misconfigured key).
    attesters = [(keys[0].address, urls[0]), (keys[2].address, urls[1])]
    with pytest.raises(AttestationError) as caught:
        gather_attestations(claim, attesters, threshold=2, timeout=10)
    (refusal,) = caught.value.refusals
    assert (refusal.attester, refusal.kind) == (keys[2].address, RefusalKind.WRONG_SIGNER)
    assert keys[1].address in refusal.detail
    (kept,) = gather_attestations(claim, attesters, threshold=1, timeout=10)
    assert kept.signer == keys[0].address


def test_a_threshold_above_the_registered_attesters_fails_before_asking(
    claim: ObservationClaim, keys: list[LocalAccount], urls: list[str]
) -> None:
    with pytest.raises(AttestationError) as caught:
        gather_attestations(claim, [(keys[0].address, urls[0]), (keys[0].address.lower(), urls[0])], threshold=2)
    assert caught.value.kind == AttestationFailure.TOO_FEW_ATTESTERS
