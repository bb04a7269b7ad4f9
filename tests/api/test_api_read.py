"""The read API over real rounds: feeds, history, round evidence, artifacts by hash, the OpenAPI spec."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
from sqlmodel import select

from oracle.api.evidence import circuit_out
from oracle.circuits.artifacts import model_commitment
from oracle.circuits.build import build_circuit
from oracle.circuits.quantize import felt_to_uint
from oracle.store import Deployment, RoundStatus
from tests.api.conftest import LiveFeed, copy_store, serve
from tests.conftest import pytorch_converted


def test_feeds_list_counts_and_the_latest_landed_round(client: httpx.Client, live_feed: LiveFeed) -> None:
    feeds = client.get("/api/feeds").json()
    assert [feed["id"] for feed in feeds] == ["demo"]
    demo = feeds[0]
    rows = live_feed.store.rounds(feed_id="demo")
    landed = [r for r in rows if r.status is RoundStatus.LANDED]
    assert demo["rounds"]["landed"] == len(landed) >= 2
    assert demo["rounds"]["failed"] == sum(r.status is RoundStatus.FAILED for r in rows) >= 1
    assert demo["rounds"]["in_flight"] == sum(r.status is RoundStatus.PROVEN for r in rows) >= 1
    assert demo["decimals"] == 8 and demo["description"] == live_feed.spec.description
    latest = demo["latest"]
    assert latest["id"] == landed[-1].id and latest["answer"] == landed[-1].onchain_answer
    assert latest["value"] == int(landed[-1].onchain_answer) / 1e8  # type: ignore[arg-type]
    assert demo["deployments"][0]["oracle_address"] == live_feed.node.deployment.oracle_address
    deployment = live_feed.node.deployment
    assert (latest["chain_id"], latest["oracle_address"], latest["proof_round_id"]) == (
        deployment.chain_id,
        deployment.oracle_address,
        None,
    )
    (chain,) = demo["chains"]  # one chain: its latest is the feed's
    assert chain["chain_id"] == deployment.chain_id and chain["latest"] == latest and chain["rounds"] == demo["rounds"]
    assert client.get("/api/feeds/demo").json() == demo


def test_round_history_is_newest_first_and_pages(client: httpx.Client, live_feed: LiveFeed) -> None:
    ids = sorted((int(r.id) for r in live_feed.store.rounds(feed_id="demo")), reverse=True)  # type: ignore[arg-type]
    everything = client.get("/api/feeds/demo/rounds").json()
    assert [r["id"] for r in everything["rounds"]] == ids and everything["next"] is None

    seen, url = [], "/api/feeds/demo/rounds?limit=2"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["rounds"]]
        url = page["next"]
    assert seen == ids

    failed = client.get("/api/feeds/demo/rounds", params={"status": "failed"}).json()["rounds"]
    assert failed and all(r["status"] == "failed" and "returned 2 values" in r["failure_reason"] for r in failed)
    assert client.get("/api/feeds/nope/rounds").status_code == 404


def test_round_evidence_carries_the_proof_and_content_addressed_artifacts(
    client: httpx.Client, live_feed: LiveFeed
) -> None:
    row = live_feed.store.rounds(feed_id="demo", status=RoundStatus.LANDED)[-1]
    evidence = client.get(f"/api/rounds/{row.id}").json()
    assert client.get("/api/feeds/demo/rounds/latest").json() == evidence

    (document,) = json.loads(Path(str(row.proof_path)).read_text())["slices"]  # a whole model: one piece
    (proof,) = evidence["proof"]["pieces"]
    assert proof["document"] == document
    assert evidence["proof"]["digest"] == row.proof_digest == evidence["proof_digest"]
    raw = bytes.fromhex(document["hex_proof"][2:])
    assert proof["digest"] == "0x" + hashlib.sha256(raw).hexdigest()
    assert row.proof_digest == "0x" + hashlib.sha256(hashlib.sha256(raw).digest()).hexdigest()
    felts = [felt for group in document["instances"] for felt in group]
    assert proof["instances"] == [str(felt_to_uint(felt)) for felt in felts]
    assert evidence["answer"] == row.onchain_answer and evidence["inputs"] == row.inputs

    (piece,) = evidence["pieces"]
    assert piece["index"] == 0 and piece["proven"] and piece["input_tensor"] is None
    assert evidence["circuit"]["coverage"] == evidence["registration"]["coverage"] == {"proven": 1, "total": 1}
    served = {}
    for name, ref in piece["artifacts"].items():
        body = client.get(ref["url"]).content
        assert hashlib.sha256(body).hexdigest() == ref["sha256"] and len(body) == ref["size"], name
        served[name] = body
    circuit = live_feed.circuit
    assert served["vk"] == circuit.vk.read_bytes() and served["srs"] == circuit.srs.read_bytes()
    assert piece["artifacts"]["srs"]["logrows"] == circuit.manifest.logrows
    assert evidence["circuit"]["model"] == piece["artifacts"]["model"]  # the whole model is the one piece's
    commitment = model_commitment(onnx_bytes=served["model"], settings_bytes=served["settings"], vk_bytes=served["vk"])
    registration = evidence["registration"]
    assert registration["source"] == "chain"
    assert commitment == registration["model_commitment"] == evidence["deployment"]["model_commitment"]
    assert registration["decimals"] == 8
    assert registration["output_index"] == circuit.manifest.answer_index(0)
    assert evidence["circuit"]["intake"] is None  # the demo model is committed byte for byte as built
    assert evidence["circuit"]["model_commitment"] == piece["circuit"]["model_commitment"] == commitment
    assert (piece["circuit"]["verifier_kind"], piece["circuit"]["vka_words"]) == ("dedicated", 0)
    assert registration["verifier_address"] == live_feed.node.deployment.verifier_address


def test_unknown_things_are_404_with_a_reason(client: httpx.Client) -> None:
    assert client.get("/api/rounds/999999").json() == {"detail": "no round 999999 in the store"}
    assert client.get("/api/feeds/nope").status_code == 404
    assert client.get(f"/api/artifacts/{'0' * 64}").status_code == 404
    assert client.get("/api/artifacts/not-a-hash").status_code == 422


def test_openapi_spec_describes_every_endpoint(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/api/feeds",
        "/api/feeds/{feed_id}",
        "/api/feeds/{feed_id}/rounds",
        "/api/feeds/{feed_id}/rounds/latest",
        "/api/rounds/{round_id}",
        "/api/artifacts/{sha256}",
        "/metrics",
        "/",
    } <= set(spec["paths"])
    evidence = spec["components"]["schemas"]["RoundEvidence"]["properties"]
    assert {"proof", "pieces", "registration", "circuit", "deployment"} <= set(evidence)
    assert "intake" in spec["components"]["schemas"]["CircuitOut"]["properties"]


def test_a_circuit_shows_how_its_committed_model_was_prepared(build_root: Path) -> None:
    model = pytorch_converted("PReLU_1d")  # opset 6: upgraded before it is built (as tests/circuits/test_build.py)
    samples = [[-1.0] * 24, [1.0] * 24, [0.25 * (i % 8 - 4) for i in range(24)]]
    built = build_circuit(model, samples, build_root=build_root, feed="prelu").artifacts
    intake = circuit_out(built).model_dump()["intake"]
    assert intake == {
        "original_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "original_opset": 6,
        "opset": 13,
        "changes": ["opset 6 -> 13", "IR version 3 -> 7"],
    }


def test_registration_comes_from_the_feed_spec_when_the_chain_is_gone(
    live_feed: LiveFeed, tmp_path: Path, unused_port: int
) -> None:
    store = copy_store(live_feed, tmp_path)
    with store.session() as session:
        for deployment in session.exec(select(Deployment)):
            deployment.rpc_url = f"http://127.0.0.1:{unused_port}"  # nothing listens there
            session.add(deployment)
        session.commit()
    round_id = live_feed.landed_ids()[-1]
    with serve(store, build_root=live_feed.build_root, specs={"demo": live_feed.spec}) as url:
        registration = httpx.get(f"{url}/api/rounds/{round_id}", timeout=30).json()["registration"]
    assert registration["source"] == "feed-spec" and registration["decimals"] == live_feed.spec.decimals
    with serve(store, build_root=live_feed.build_root) as url:
        evidence = httpx.get(f"{url}/api/rounds/{round_id}", timeout=30).json()
    assert evidence["registration"] is None and evidence["value"] == evidence["proven_output"]
