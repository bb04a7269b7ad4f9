"""The attester over real HTTP: it signs the demo feed's honest observation and refuses every other, saying why."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from oracle.attestation.kinds import RefusalKind
from oracle.attestation.typed_data import ObservationClaim, recover_signer
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from tests.attestation.harness import attester_server, claim_for, demo_chain, honest_values, with_limbs
from tests.conftest import DEMO_FEED


@pytest.fixture(scope="module")
def demo() -> FeedSpec:
    return load_feed(DEMO_FEED)


@pytest.fixture(scope="module")
def account() -> LocalAccount:
    return Account.create()


@pytest.fixture(scope="module")
def http(demo: FeedSpec, account: LocalAccount) -> Iterator[httpx.Client]:
    with (
        attester_server(account, {"demo": demo}, chain=demo_chain()) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def _now() -> int:
    return int(time.time())


def _refused(http: httpx.Client, claim: ObservationClaim, kind: RefusalKind, status: int) -> str:
    response = http.post("/attest", json=claim.to_json())
    assert response.status_code == status, response.text
    body = response.json()
    assert body["kind"] == kind
    return str(body["detail"])


def test_health_is_open(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}


def test_an_honest_claim_is_signed(http: httpx.Client, demo: FeedSpec, account: LocalAccount) -> None:
    claim = claim_for(demo, _now() - 3)
    response = http.post("/attest", json=claim.to_json())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["signer"] == account.address
    assert recover_signer(claim, bytes.fromhex(body["signature"].removeprefix("0x"))) == account.address


def test_an_input_moved_by_five_percent_is_refused(
    http: httpx.Client, demo: FeedSpec, caplog: pytest.LogCaptureFixture
) -> None:
    observed_at = _now() - 3
    values = honest_values(demo, observed_at)
    values[1] *= 1.05
    with caplog.at_level(logging.WARNING, logger="oracle.attestation.server"):
        detail = _refused(http, claim_for(demo, observed_at, values=values), RefusalKind.OBSERVATION_DIFFERS, 409)
    assert "input 1" in detail and "this attester observed" in detail
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "demo" in line and "OBSERVATION_DIFFERS" in line and "\n" not in line


def test_a_move_within_tolerance_is_signed(http: httpx.Client, demo: FeedSpec) -> None:
    observed_at = _now() - 3
    values = honest_values(demo, observed_at)
    values[0] *= 1.004  # the demo feed allows the default 0.5 %
    assert http.post("/attest", json=claim_for(demo, observed_at, values=values).to_json()).status_code == 200


def test_limbs_not_encoding_observed_at_are_refused(http: httpx.Client, demo: FeedSpec) -> None:
    observed_at = _now() - 3
    values = with_limbs(honest_values(demo, observed_at), observed_at - 60)  # a minute-old proof, relabelled
    detail = _refused(http, claim_for(demo, observed_at, values=values), RefusalKind.TIME_MISMATCH, 422)
    assert str(observed_at - 60) in detail


def test_a_limb_off_the_quantisation_grid_is_refused(http: httpx.Client, demo: FeedSpec) -> None:
    observed_at = _now() - 3
    claim = claim_for(demo, observed_at)
    instances = list(claim.input_instances)
    instances[4] += 1
    odd = ObservationClaim(**{**claim.__dict__, "input_instances": tuple(instances)})
    _refused(http, odd, RefusalKind.TIME_MISMATCH, 422)


def test_too_old_is_refused(http: httpx.Client, demo: FeedSpec) -> None:
    observed_at = _now() - demo.onchain.max_observation_age_seconds - 30
    detail = _refused(http, claim_for(demo, observed_at), RefusalKind.TOO_OLD, 409)
    assert f"allows {demo.onchain.max_observation_age_seconds} s" in detail


def test_from_the_future_is_refused(http: httpx.Client, demo: FeedSpec) -> None:
    _refused(http, claim_for(demo, _now() + 60), RefusalKind.FROM_FUTURE, 409)


def test_wrong_chain_is_refused(http: httpx.Client, demo: FeedSpec) -> None:
    detail = _refused(http, claim_for(demo, _now() - 3, chain_id=1), RefusalKind.WRONG_CHAIN, 409)
    assert "chain 1" in detail and "chain 31337" in detail
    _refused(http, claim_for(demo, _now() - 3, oracle="0x" + "22" * 20), RefusalKind.WRONG_CHAIN, 409)


def test_unknown_feed_phase_and_bad_documents_are_refused(http: httpx.Client, demo: FeedSpec) -> None:
    claim = claim_for(demo, _now() - 3)
    _refused(http, ObservationClaim(**{**claim.__dict__, "feed_id": "other"}), RefusalKind.UNKNOWN_FEED, 409)
    _refused(http, ObservationClaim(**{**claim.__dict__, "phase_id": 9}), RefusalKind.UNKNOWN_PHASE, 409)
    short = ObservationClaim(**{**claim.__dict__, "input_instances": claim.input_instances[:-1]})
    _refused(http, short, RefusalKind.BAD_INSTANCES, 422)
    response = http.post("/attest", json={"feed_id": "demo", "chain_id": "x"})
    assert response.status_code == 422 and response.json()["kind"] == RefusalKind.BAD_CLAIM
