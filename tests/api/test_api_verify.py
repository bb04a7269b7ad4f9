"""`zkoracle verify`: a round re-verified from the API's answers alone, and refused when they were tampered with."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from oracle.evm.anvil import free_port
from oracle.exceptions import ApiError, VerificationError
from oracle.provers.feed_proof import FeedProof
from oracle.store import Round, RoundStatus
from oracle.verify_remote import verify_round
from tests.api.conftest import LiveFeed, assert_tampered_round_refused, copy_store, serve


def test_a_landed_round_verifies_from_the_api_alone(api_url: str, live_feed: LiveFeed) -> None:
    row = live_feed.store.rounds(feed_id="demo", status=RoundStatus.LANDED)[0]
    verified = verify_round(str(row.id), api=api_url)
    assert verified.round_id == row.id and verified.feed_id == "demo" and verified.status == "landed"
    assert str(verified.answer) == row.onchain_answer == row.expected_answer
    assert verified.registration_source == "chain" and verified.decimals == 8
    assert any("ezkl.verify accepts" in check for check in verified.checks)
    assert verify_round(f"{api_url}/api/feeds/demo/rounds/latest").round_id == live_feed.landed_ids()[-1]


def test_a_proven_round_not_yet_landed_verifies_against_its_expected_answer(api_url: str, live_feed: LiveFeed) -> None:
    proven = live_feed.store.rounds(feed_id="demo", status=RoundStatus.PROVEN)[0]
    assert verify_round(str(proven.id), api=api_url).answer == int(str(proven.expected_answer))


def test_a_failed_round_has_nothing_to_verify(api_url: str, live_feed: LiveFeed) -> None:
    failed = live_feed.store.rounds(feed_id="demo", status=RoundStatus.FAILED)[0]
    with pytest.raises(VerificationError, match=rf"round {failed.id} has no proof \(status failed: .*2 values"):
        verify_round(str(failed.id), api=api_url)


def _document(row: Round) -> dict:
    return json.loads(Path(str(row.proof_path)).read_text())


def _write(row: Round, document: dict) -> None:
    Path(str(row.proof_path)).write_text(json.dumps(document))


def _flip_proof_byte(row: Round) -> None:
    document = _document(row)
    (proof,) = document["slices"]  # a whole model: the chain of one piece
    raw = bytearray(bytes.fromhex(proof["hex_proof"][2:]))
    raw[100] ^= 1
    proof["hex_proof"], proof["proof"] = "0x" + raw.hex(), list(raw)
    _write(row, document)


def _flip_proof_byte_and_digest(row: Round) -> None:
    _flip_proof_byte(row)
    row.proof_digest = FeedProof.from_json(_document(row)).digest


def _change_an_input_instance(row: Round) -> None:
    document = _document(row)
    instances = document["slices"][0]["instances"]
    instances[0][0] = instances[0][1]
    _write(row, document)


def _change_the_answer(row: Round) -> None:
    row.onchain_answer = str(int(str(row.onchain_answer)) + 1)


def _change_an_input(row: Round) -> None:
    row.inputs_json = json.dumps([row.inputs[0] + 1.0, *row.inputs[1:]])


def _garble_the_proof_hex(row: Round) -> None:
    document = _document(row)
    document["slices"][0]["hex_proof"] = "0xnot-hex"
    _write(row, document)


TAMPERS: dict[str, tuple[Callable[[Round], None], str]] = {
    "proof bytes": (_flip_proof_byte, r"the proofs hash to 0x[0-9a-f]+, the proof says"),
    "proof bytes and digest": (_flip_proof_byte_and_digest, "ezkl.verify rejects the proof"),
    "input instance": (_change_an_input_instance, "ezkl.verify rejects the proof"),
    "answer": (_change_the_answer, r"answer \d+ is not the one instance \d+ gives"),
    "round input": (_change_an_input, r"input 0 is [\d.]+, the proof's instance is"),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_a_tampered_round_is_refused(live_feed: LiveFeed, tmp_path: Path, what: str) -> None:
    assert_tampered_round_refused(live_feed, tmp_path, live_feed.landed_ids()[-1], *TAMPERS[what])


def test_a_proof_file_that_is_not_hex_is_refused_by_the_api_itself(live_feed: LiveFeed, tmp_path: Path) -> None:
    store = copy_store(live_feed, tmp_path)
    round_id = live_feed.landed_ids()[-1]
    with store.session() as session:
        row = session.get(Round, round_id)
        assert row is not None
        _garble_the_proof_hex(row)
    with serve(store, build_root=live_feed.build_root) as url:
        with pytest.raises(ApiError, match=rf"answered 503: round {round_id}: proof 0 in .* is not hex"):
            verify_round(str(round_id), api=url)


def test_a_verifying_key_other_than_the_committed_one_is_refused(live_feed: LiveFeed, tmp_path: Path) -> None:
    """An API serving another circuit's key under this round: the model commitment no longer matches."""
    circuit = live_feed.circuit
    build_root = tmp_path / "build"
    shutil.copytree(circuit.root, build_root / circuit.manifest.key, ignore=shutil.ignore_patterns("pk.key"))
    vk = build_root / circuit.manifest.key / "vk.key"
    vk.write_bytes(vk.read_bytes()[:-1] + bytes([vk.read_bytes()[-1] ^ 1]))
    with serve(live_feed.store, build_root=build_root) as url:
        with pytest.raises(VerificationError, match=r"model commitment of the served model, settings and vk is 0x"):
            verify_round(str(live_feed.landed_ids()[-1]), api=url)


@contextmanager
def _api_process(db: Path, home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ZKORACLE_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "oracle", "api", "--db", f"sqlite:///{db}", "--port", str(port), "--refresh", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`zkoracle api` did not come up: {process.communicate()[0]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_cli_verify_accepts_a_round_and_refuses_a_tampered_one(live_feed: LiveFeed, tmp_path: Path) -> None:
    store = copy_store(live_feed, tmp_path / "served")
    good, bad = live_feed.landed_ids()[:2]
    with store.session() as session:
        row = session.get(Round, bad)
        assert row is not None
        _change_the_answer(row)
        session.add(row)
        session.commit()
    # The verifying side has an empty state dir and build folder: all it knows comes over HTTP.
    bare = tmp_path / "bare"
    bare.mkdir()
    env = {**os.environ, "ZKORACLE_HOME": str(bare), "ZKORACLE_BUILD_DIR": str(bare / "build"), "COLUMNS": "300"}

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "oracle", "verify", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=bare,
            timeout=120,
            check=False,
        )

    with _api_process(tmp_path / "served" / "node.db", tmp_path / "api-home") as url:
        accepted = verify("--round", f"{url}/api/rounds/{good}")
        refused = verify("--round", str(bad), "--api", url)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert f"demo round {good} (landed)" in accepted.stdout and "verified: value " in accepted.stdout
    assert re.search(r"verified: value \d+\.\d{8} \(registration from the chain\)", accepted.stdout)
    assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr
    assert refused.stdout.strip().startswith(f"error: round {bad}: answer ")


def test_round_reference_must_be_an_id_or_url_of_a_reachable_api() -> None:
    with pytest.raises(ApiError, match="neither a round id nor an http"):
        verify_round("round-seven")
    with pytest.raises(ApiError, match=r"cannot reach the API at http://127\.0\.0\.1:\d+/api/rounds/1"):
        verify_round("1", api=f"http://127.0.0.1:{free_port()}")
