"""btauth/1 at a real prover process: who may ask, what a refusal looks like, who signs the answers."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import bittensor as bt
import httpx
import pytest
from bittensor.keyfiles import Keypair

from oracle.provers.uploads import CONTENT_SHA256, sign_upload
from oracle.provers.wire import CAPACITY, HEALTH, PROVE, Capacity, Missing, ProveRequest, Recipe, recipe_path, srs_path
from tests.provers.conftest import ProverProcess, ProverTrio, hotkey


@pytest.fixture(scope="module")
def honest(trio: ProverTrio) -> ProverProcess:
    return trio.honest


def _send(
    prover: ProverProcess, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.request(method, prover.url + path, content=body, headers=headers or {}, timeout=30.0)


def _signed(signer: Keypair, receiver: str, method: str, path: str, body: bytes = b"", **kwargs: int) -> dict[str, str]:
    return bt.http_auth.sign(signer, method=method, path=path, body=body, receiver_ss58=receiver, **kwargs)


def test_a_signed_request_is_answered_and_the_answer_is_signed_by_the_prover(
    honest: ProverProcess, node_signer: Keypair
) -> None:
    response = _send(honest, "GET", CAPACITY, headers=_signed(node_signer, honest.hotkey, "GET", CAPACITY))
    assert response.status_code == 200, response.text
    signer = bt.http_auth.verify(
        response.headers, response.content, method="GET", path=CAPACITY, self_hotkey_ss58=node_signer.ss58_address
    )
    assert signer.hotkey_ss58 == honest.hotkey
    assert Capacity.model_validate_json(response.content).hotkey == honest.hotkey


def test_health_is_open_to_anyone_and_tells_nothing_but_ok(honest: ProverProcess) -> None:
    response = _send(honest, "GET", HEALTH)  # no signature, and the prover allows only the node's hotkey
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # no hotkey, version, recipes or queue
    assert not [name for name in response.headers if name.lower().startswith("x-bittensor")]


def test_missing_signature_is_401(honest: ProverProcess) -> None:
    response = _send(honest, "GET", CAPACITY)
    assert response.status_code == 401
    assert "X-Bittensor-Version" in response.json()["detail"]


def test_request_signed_for_another_hotkey_is_401(trio: ProverTrio, node_signer: Keypair) -> None:
    headers = _signed(node_signer, trio.slow.hotkey, "GET", CAPACITY)  # meant for the slow prover
    response = _send(trio.honest, "GET", CAPACITY, headers=headers)
    assert response.status_code == 401
    assert "different receiving hotkey" in response.json()["detail"]


def test_replayed_nonce_is_401(honest: ProverProcess, node_signer: Keypair) -> None:
    headers = _signed(node_signer, honest.hotkey, "GET", CAPACITY)
    assert _send(honest, "GET", CAPACITY, headers=headers).status_code == 200
    replay = _send(honest, "GET", CAPACITY, headers=headers)
    assert replay.status_code == 401
    assert "already accepted" in replay.json()["detail"]


def test_stale_signature_is_401(honest: ProverProcess, node_signer: Keypair) -> None:
    headers = _signed(node_signer, honest.hotkey, "GET", CAPACITY, nonce_ns=time.time_ns() - 60 * 10**9)
    response = _send(honest, "GET", CAPACITY, headers=headers)
    assert response.status_code == 401
    assert "freshness window" in response.json()["detail"]


def test_body_other_than_the_signed_one_is_401(honest: ProverProcess, node_signer: Keypair) -> None:
    signed = ProveRequest(recipe="0" * 64, inputs=[[1.0]]).model_dump_json().encode()
    sent = ProveRequest(recipe="0" * 64, inputs=[[2.0]]).model_dump_json().encode()
    response = _send(honest, "POST", PROVE, sent, headers=_signed(node_signer, honest.hotkey, "POST", PROVE, signed))
    assert response.status_code == 401
    assert "signature does not verify" in response.json()["detail"]


def test_validly_signed_caller_outside_the_allow_list_is_403(honest: ProverProcess, wallets: Path) -> None:
    stranger = hotkey(wallets, "stranger")
    response = _send(honest, "GET", CAPACITY, headers=_signed(stranger, honest.hotkey, "GET", CAPACITY))
    assert response.status_code == 403
    assert stranger.ss58_address in response.json()["detail"]


def test_unknown_recipe_is_a_signed_404_naming_it(honest: ProverProcess, node_signer: Keypair) -> None:
    body = ProveRequest(recipe="ab" * 32, inputs=[[1.0, 2.0]]).model_dump_json().encode()
    response = _send(honest, "POST", PROVE, body, headers=_signed(node_signer, honest.hotkey, "POST", PROVE, body))
    assert response.status_code == 404
    bt.http_auth.verify(
        response.headers, response.content, method="POST", path=PROVE, self_hotkey_ss58=node_signer.ss58_address
    )
    assert Missing.model_validate_json(response.content) == Missing(recipe="ab" * 32)


def _put(
    prover: ProverProcess, signer: Keypair, path: str, body: bytes, *, signed_body: bytes | None = None
) -> httpx.Response:
    sha256 = hashlib.sha256(body if signed_body is None else signed_body).hexdigest()
    headers = sign_upload(signer, method="PUT", path=path, sha256=sha256, receiver=prover.hotkey)
    return _send(prover, "PUT", path, body, headers=headers)


def _held(prover: ProverProcess, signer: Keypair) -> Capacity:
    response = _send(prover, "GET", CAPACITY, headers=_signed(signer, prover.hotkey, "GET", CAPACITY))
    return Capacity.model_validate_json(response.content)


def test_recipe_upload_that_does_not_match_its_digest_is_refused(honest: ProverProcess, node_signer: Keypair) -> None:
    digest = "cd" * 32
    body = Recipe(compiled=b"circuit", srs="01" * 32, vk="02" * 32).model_dump_json().encode()
    response = _put(honest, node_signer, recipe_path(digest), body)
    assert response.status_code == 400
    assert "hashes to" in response.json()["detail"]
    assert digest not in _held(honest, node_signer).recipes


def test_srs_upload_that_does_not_match_its_hash_is_refused(honest: ProverProcess, node_signer: Keypair) -> None:
    sha256 = "ef" * 32
    response = _put(honest, node_signer, srs_path(sha256), b"not the SRS")
    assert response.status_code == 400
    assert "hashes to" in response.json()["detail"]
    assert sha256 not in _held(honest, node_signer).srs


def test_an_upload_whose_body_was_swapped_after_signing_is_refused(honest: ProverProcess, node_signer: Keypair) -> None:
    srs = b"an SRS the node signed"
    sha256 = hashlib.sha256(srs).hexdigest()
    response = _put(honest, node_signer, srs_path(sha256), b"another body on the wire", signed_body=srs)
    assert response.status_code == 400
    assert "signed" in response.json()["detail"]
    assert sha256 not in _held(honest, node_signer).srs


def test_an_upload_signed_over_its_body_without_its_digest_header_is_refused(
    honest: ProverProcess, node_signer: Keypair
) -> None:
    srs = b"an SRS signed the way small requests are"
    sha256 = hashlib.sha256(srs).hexdigest()
    headers = _signed(node_signer, honest.hotkey, "PUT", srs_path(sha256), srs)
    response = _send(honest, "PUT", srs_path(sha256), srs, headers=headers)
    assert response.status_code == 401
    assert CONTENT_SHA256 in response.json()["detail"]
