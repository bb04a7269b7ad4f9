"""Sliced rounds on the read API and `zkoracle verify`: every slice served, verified, and tampering refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.slicing.links import POINT_BYTES
from oracle.exceptions import VerificationError
from oracle.provers.feed_proof import FeedProof
from oracle.store import Deployment, Round
from oracle.verify_remote import verify_round
from tests.api.conftest import SlicedFeeds, assert_tampered_round_refused, copy_store, serve

FULL, TARGETED = "sliced", "sliced-targeted"


@pytest.fixture(scope="module")
def sliced_client(sliced_feeds: SlicedFeeds) -> Iterator[httpx.Client]:
    with (
        serve(sliced_feeds.store, build_root=sliced_feeds.build_root) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        yield http


def _document(row: Round) -> dict:
    return json.loads(Path(str(row.proof_path)).read_text())


def test_a_sliced_round_is_served_slice_by_slice(sliced_client: httpx.Client, sliced_feeds: SlicedFeeds) -> None:
    row = sliced_feeds.landed(FULL)
    circuit = sliced_feeds.circuits[FULL]
    evidence = sliced_client.get(f"/api/rounds/{row.id}").json()
    assert sliced_client.get(f"/api/feeds/{FULL}/rounds/latest").json() == evidence

    sliced = evidence["circuit"]
    assert sliced["key"] == circuit.key and sliced["scale"] == circuit.input_scale
    assert sliced["coverage"] == {"proven": 3, "total": 3}
    assert sliced["quantization_error"] == circuit.quantization_error
    commitment = circuit.model_commitment
    assert sliced["model_commitment"] == commitment == evidence["deployment"]["model_commitment"]
    registration = evidence["registration"]
    assert registration["source"] == "chain" and registration["model_commitment"] == commitment
    assert registration["coverage"] == {"proven": 3, "total": 3}
    assert registration["instance_count"] == circuit.first.manifest.instance_count
    assert registration["output_index"] == circuit.answer_index(0)
    assert sliced_client.get(sliced["model"]["url"]).content == circuit.model.read_bytes()

    document = _document(row)
    proof = evidence["proof"]
    assert proof["digest"] == row.proof_digest == evidence["proof_digest"]
    assert [s["index"] for s in evidence["pieces"]] == [0, 1, 2] and all(s["proven"] for s in evidence["pieces"])
    for piece, served, stored, built in zip(evidence["pieces"], proof["pieces"], document["slices"], circuit.pieces):
        assert built.circuit is not None
        assert piece["circuit"]["key"] == built.circuit.manifest.key
        assert piece["circuit"]["model_commitment"] == built.circuit.manifest.model_commitment
        assert served["document"] == stored and served["hex_proof"] == stored["hex_proof"]
        raw = bytes.fromhex(stored["hex_proof"].removeprefix("0x"))
        assert served["digest"] == "0x" + hashlib.sha256(raw).hexdigest()
        assert served["instances"] == [str(felt_to_uint(felt)) for group in stored["instances"] for felt in group]
        for name, path in (("settings", built.circuit.settings), ("vk", built.circuit.vk), ("srs", built.circuit.srs)):
            ref = piece["artifacts"][name]
            body = sliced_client.get(ref["url"]).content
            assert body == path.read_bytes() and hashlib.sha256(body).hexdigest() == ref["sha256"], name
        assert piece["artifacts"]["srs"]["logrows"] == built.circuit.manifest.logrows


def test_an_unproven_slice_is_served_as_its_plain_model(sliced_client: httpx.Client, sliced_feeds: SlicedFeeds) -> None:
    row = sliced_feeds.landed(TARGETED)
    evidence = sliced_client.get(f"/api/rounds/{row.id}").json()
    middle = evidence["pieces"][1]
    assert not middle["proven"] and middle["circuit"] is None and evidence["proof"]["pieces"][1] is None
    assert (middle["input_tensor"], middle["output_tensor"]) == (
        sliced_feeds.circuits[TARGETED].boundaries[1].input_tensor,
        sliced_feeds.circuits[TARGETED].boundaries[1].output_tensor,
    )
    assert {name for name, ref in middle["artifacts"].items() if ref} == {"model"}
    model = sliced_client.get(middle["artifacts"]["model"]["url"]).content
    assert model == sliced_feeds.circuits[TARGETED].pieces[1].model.read_bytes()
    assert evidence["circuit"]["coverage"] == evidence["registration"]["coverage"] == {"proven": 2, "total": 3}

    feeds = {feed["id"]: feed for feed in sliced_client.get("/api/feeds").json()}
    assert feeds[FULL]["coverage"] == {"proven": 3, "total": 3}
    assert feeds[TARGETED]["coverage"] == {"proven": 2, "total": 3}
    page = sliced_client.get("/?refresh=0").text
    assert '<b data-stat="coverage">2/3</b>' in page and '<b data-stat="coverage">3/3</b>' in page


def test_sliced_rounds_verify_from_the_api_alone(sliced_client: httpx.Client, sliced_feeds: SlicedFeeds) -> None:
    api = str(sliced_client.base_url)
    full, targeted = sliced_feeds.landed(FULL), sliced_feeds.landed(TARGETED)
    verified = verify_round(str(full.id), api=api)
    assert verified.feed_id == FULL and verified.status == "landed" and verified.coverage == (3, 3)
    assert str(verified.answer) == full.onchain_answer == full.expected_answer
    assert verified.registration_source == "chain"
    assert any("link 0 → 1" in check for check in verified.checks)
    assert any("link 1 → 2" in check for check in verified.checks)
    assert any("each of the 3 proven pieces" in check for check in verified.checks)

    partial = verify_round(str(targeted.id), api=api)
    assert partial.coverage == (2, 3) and str(partial.answer) == targeted.onchain_answer
    assert not any(check.startswith("link") for check in partial.checks)
    assert any("slices [1] run unproven" in check for check in partial.checks)


def _rewrite(row: Round, document: dict) -> None:
    """Store ``document`` as the round's proof, with the digest the store would have recorded for it."""
    Path(str(row.proof_path)).write_text(json.dumps(document))
    row.proof_digest = FeedProof.from_json(document).digest


def _flip_byte(piece: dict) -> None:
    raw = bytearray(bytes.fromhex(piece["hex_proof"].removeprefix("0x")))
    raw[100] ^= 1
    piece["hex_proof"], piece["proof"] = "0x" + raw.hex(), list(raw)


def _flip_a_slice_proof_byte(row: Round) -> None:
    document = _document(row)
    _flip_byte(document["slices"][2])
    _rewrite(row, document)


def _flip_a_slice_proof_byte_keeping_the_digest(row: Round) -> None:
    document = _document(row)
    _flip_byte(document["slices"][1])
    Path(str(row.proof_path)).write_text(json.dumps(document))


def _alter_an_instance(row: Round) -> None:
    document = _document(row)
    outputs = document["slices"][2]["instances"][0]
    outputs[0] = document["slices"][0]["instances"][0][0]  # the answer becomes the first input
    _rewrite(row, document)


def _change_the_answer(row: Round) -> None:
    row.onchain_answer = str(int(str(row.onchain_answer)) + 1)


def _change_an_input(row: Round) -> None:
    row.inputs_json = json.dumps([row.inputs[0] + 1.0, *row.inputs[1:]])


TAMPERS: dict[str, tuple[Callable[[Round], None], str]] = {
    "slice proof byte": (_flip_a_slice_proof_byte, r"round \d+, slice 2: ezkl.verify rejects the proof"),
    "slice proof byte, digest kept": (
        _flip_a_slice_proof_byte_keeping_the_digest,
        r"round \d+: the proofs hash to 0x[0-9a-f]+, the proof says",
    ),
    "answer instance": (_alter_an_instance, r"round \d+, slice 2: ezkl.verify rejects the proof"),
    "answer": (_change_the_answer, r"answer \d+ is not the one slice 2's instance \d+ gives"),
    "round input": (_change_an_input, r"round \d+, slice 0: input 0 is [\d.]+, the proof's instance is"),
}


def _full_round(sliced_feeds: SlicedFeeds) -> int:
    return int(sliced_feeds.landed(FULL).id)  # type: ignore[arg-type]


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_a_tampered_sliced_round_is_refused(sliced_feeds: SlicedFeeds, tmp_path: Path, what: str) -> None:
    assert_tampered_round_refused(sliced_feeds, tmp_path, _full_round(sliced_feeds), *TAMPERS[what])


def test_a_valid_slice_proof_of_other_activations_breaks_a_link(
    sliced_feeds: SlicedFeeds, sliced_proof: FeedProof, tmp_path: Path
) -> None:
    """Slice 1 proven on another round's activations verifies on its own; only the links expose it."""
    other = sliced_proof.proofs[1]
    assert other is not None

    def swap(row: Round) -> None:
        document = _document(row)
        assert other.proof_bytes[:POINT_BYTES] != bytes.fromhex(document["slices"][1]["hex_proof"][2:])[:POINT_BYTES]
        document["slices"][1] = other.parsed
        _rewrite(row, document)

    assert_tampered_round_refused(
        sliced_feeds,
        tmp_path,
        _full_round(sliced_feeds),
        swap,
        r"round \d+, slice 1: link broken: the input commitment in its proof 0x[0-9a-f]+… differs",
    )


def test_an_unproven_slice_other_than_the_committed_one_is_refused(sliced_feeds: SlicedFeeds, tmp_path: Path) -> None:
    """An API serving another plain model for the slice that runs unproven: the sliced commitment breaks."""
    circuit = sliced_feeds.circuits[TARGETED]
    build_root = tmp_path / "build"
    folder = circuit.model.parent  # the sliced build's own folder: the whole model and every slice's ONNX
    shutil.copytree(folder, build_root / folder.name)
    for piece in circuit.pieces:
        if piece.circuit is not None:
            shutil.copytree(
                piece.circuit.root, build_root / piece.circuit.root.name, ignore=shutil.ignore_patterns("pk.key")
            )
    middle = build_root / folder.name / circuit.pieces[1].model.name
    middle.write_bytes(middle.read_bytes() + b"\0")
    with (
        serve(sliced_feeds.store, build_root=build_root) as url,
        pytest.raises(VerificationError, match=r"model commitment of the served model and pieces is 0x"),
    ):
        verify_round(str(sliced_feeds.landed(TARGETED).id), api=url)


def test_cli_verify_reports_the_coverage_of_a_sliced_round(sliced_feeds: SlicedFeeds, tmp_path: Path) -> None:
    # The verifying side has an empty state dir and build folder: all it knows comes over HTTP.
    env = {
        **os.environ,
        "ZKORACLE_HOME": str(tmp_path),
        "ZKORACLE_BUILD_DIR": str(tmp_path / "build"),
        "COLUMNS": "300",
    }
    round_id = sliced_feeds.landed(TARGETED).id
    with serve(sliced_feeds.store, build_root=sliced_feeds.build_root) as url:
        verified = subprocess.run(
            [sys.executable, "-m", "oracle", "verify", "--round", str(round_id), "--api", url],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{TARGETED} round {round_id} (landed)" in verified.stdout
    assert "coverage 2/3 pieces proven, as registered" in verified.stdout
    assert "(registration from the chain), 2/3 slices proven" in verified.stdout


def test_a_sliced_registration_comes_from_the_feed_spec_when_the_chain_is_gone(
    sliced_feeds: SlicedFeeds, tmp_path: Path, unused_port: int
) -> None:
    store = copy_store(sliced_feeds, tmp_path)
    with store.session() as session:
        for deployment in session.exec(select(Deployment)):
            deployment.rpc_url = f"http://127.0.0.1:{unused_port}"  # nothing listens there
            session.add(deployment)
        session.commit()
    circuit = sliced_feeds.circuits[TARGETED]
    round_id = sliced_feeds.landed(TARGETED).id
    with serve(store, build_root=sliced_feeds.build_root, specs=sliced_feeds.specs) as url:
        registration = httpx.get(f"{url}/api/rounds/{round_id}", timeout=30).json()["registration"]
        verified = verify_round(str(round_id), api=url)
    assert registration["source"] == "feed-spec" and registration["coverage"] == {"proven": 2, "total": 3}
    assert registration["instance_count"] == circuit.first.manifest.instance_count
    assert registration["output_index"] == circuit.answer_index(0)
    assert registration["output_scale"] == circuit.output_scale
    assert verified.registration_source == "feed-spec" and verified.coverage == (2, 3)
