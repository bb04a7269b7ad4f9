"""The gas and proving curve of feed bundles: 1, 2, 4, 8 and 16 demo-sized feeds in one proof.

Part of ``python -m bench.gas`` (its ``bundles`` list and ``ratios.bundle8_gas_per_answer``).
Each bundle is written by :func:`oracle.feeds.bundle.write_bundle` from copies of the demo
feed under different ids, built, proven once on the same input and observation time, its
verifier called bare, then posted with ``submitAnswers`` listing every member; a second
round (``rewriting``) then rewrites each member's one retained round slot. More
members mean more public instances (each member's 4 prices and answer, plus the one
shared time) and a larger verifier; the fixed costs of a submission (the proof's pairing
checks, the observation time, the transaction itself) are shared among the members.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from web3 import Web3

from bench.gas_trace import overhead_breakdown
from bench.skeleton import demo_feed_copies, demo_feed_template
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_uint
from oracle.deployments.contracts import answer_params, circuit_config, deploy_verifier, feed_params
from oracle.evm.zkoracle import ZkOracle
from oracle.feed_circuit import build_feed_circuit, feed_answers
from oracle.feeds.bundle import write_bundle
from oracle.feeds.schema import FeedSpec
from oracle.paths import build_dir
from oracle.provers import LocalProver, Proof
from relayer.sender import TransactionSender

# 16 shows where the curve goes past the acceptance figure's 8.
BUNDLE_SIZES = (1, 2, 4, 8, 16)
# The demo feed's submit gas when issue 14 was written: the acceptance figure's denominator.
SINGLE_FEED_SUBMIT_GAS = 670_798
PROVE_RUNS = 3


def register_bundle(
    deployer: TransactionSender, oracle: ZkOracle, spec: FeedSpec, circuit: FeedCircuit, *, submitter: str
) -> str:
    """Deploy the bundle's verifier, register it and each member as its answer, allow ``submitter``; the verifier."""
    verifier = deploy_verifier(deployer, circuit.first, feed_id=spec.id)
    deployer.transact(
        oracle.register_feed(spec.id, feed_params(spec), circuit_config(spec, circuit, [verifier])),
        what=f"registerFeed {spec.id}",
    )
    for answer in feed_answers(spec, circuit):
        deployer.transact(
            oracle.register_answer(spec.id, answer.id, answer_params(answer)), what=f"registerAnswer {answer.id}"
        )
    deployer.transact(oracle.set_submitter(spec.id, submitter, True), what="setSubmitter")
    return verifier


def write_demo_bundle(root: Path, size: int, *, bundle: str) -> FeedSpec:
    """A bundle of ``size`` copies of the demo feed (ids ``<bundle>-m0``...), written under ``root``."""
    # Proving is timed several times before the round is submitted: the observation must stay fresh.
    # Each member keeps its latest round only, so the bundle's second round rewrites every member's slot.
    template = demo_feed_template(
        {
            r"max_observation_age_seconds = 120": "max_observation_age_seconds = 3600",
            r"rounds_retained = \d+": "rounds_retained = 1",
        },
        bench="bench.bundle_gas",
    )
    members = demo_feed_copies(root / "members", template, [f"{bundle}-m{i}" for i in range(size)])
    return write_bundle(members, bundle=bundle, out=root / bundle)


def bundle_input(spec: FeedSpec, prices: Sequence[float], *, observed_at: int) -> list[float]:
    """Every member given ``prices``, then the shared observation time."""
    return spec.model_input(list(prices) * len(spec.answers), observed_at=observed_at)


def timed_prove(circuit: CircuitArtifacts, inputs: list[float], *, runs: int = PROVE_RUNS) -> tuple[Proof, float]:
    """A proof of ``inputs`` and the median seconds of ``runs`` provings (one alone is noisy on a shared box)."""
    proofs, seconds = [], []
    for _ in range(runs):
        started = time.perf_counter()
        proofs.append(LocalProver().prove(circuit, inputs))
        seconds.append(time.perf_counter() - started)
    return proofs[0], statistics.median(seconds)


def measure_bundles(
    oracle: ZkOracle,
    deployer: TransactionSender,
    relayer: TransactionSender,
    *,
    prices: Sequence[float],
    now: Any,
    single_prove_seconds: float,
    sizes: Sequence[int] = BUNDLE_SIZES,
) -> list[dict[str, Any]]:
    """Per bundle size: instances, bare verifyProof and submitAnswers gas, gas and prove time per answer."""
    w3 = deployer.w3
    rows = []
    with tempfile.TemporaryDirectory(prefix="zkoracle-bundles-") as tmp:
        for size in sizes:
            bundle = f"bundle{size}"
            spec = write_demo_bundle(Path(tmp) / bundle, size, bundle=bundle)
            built = build_feed_circuit(spec, build_root=build_dir())
            circuit = built.circuit
            verifier = register_bundle(deployer, oracle, spec, circuit, submitter=relayer.account.address)
            proof, prove_seconds = timed_prove(circuit.first, bundle_input(spec, prices, observed_at=now()))
            instances = [felt_to_uint(felt) for felt in proof.instances]
            abi, _ = circuit.first.verifier_abi_and_bytecode()
            bare = w3.eth.contract(address=Web3.to_checksum_address(verifier), abi=abi)
            verified = relayer.transact(bare.functions.verifyProof(proof.proof_bytes, instances), what="bare verify")
            members = [answer.id for answer in spec.answers]
            submitted = relayer.transact(
                oracle.submit_answers(spec.id, proof.proof_bytes, instances, members), what="submitAnswers"
            )
            landed = [oracle.latest_round_id(member) is not None for member in members]
            assert all(landed), f"{bundle}: a member got no round"
            w3.provider.make_request("evm_increaseTime", [1])  # type: ignore[arg-type]  # the next round's second
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            again = LocalProver().prove(circuit.first, bundle_input(spec, prices, observed_at=now()))
            again_instances = [felt_to_uint(felt) for felt in again.instances]
            again_verified = relayer.transact(
                bare.functions.verifyProof(again.proof_bytes, again_instances), what="bare verify"
            )
            rewritten = relayer.transact(
                oracle.submit_answers(spec.id, again.proof_bytes, again_instances, members), what="submitAnswers"
            )
            rows.append(
                {
                    "members": size,
                    "instances": len(instances),
                    "logrows": circuit.first.manifest.logrows,
                    "build_seconds": round(built.seconds, 2),
                    "build_cached": built.cached,
                    "verify_proof": verified.gas_used,
                    "submit_answers": submitted.gas_used,
                    "gas_per_answer": submitted.gas_used / size,
                    "gas_per_answer_over_single_submit": submitted.gas_used / size / SINGLE_FEED_SUBMIT_GAS,
                    # The second round, every member's slot rewritten (as once a member's ring is full).
                    "rewriting": {
                        "verify_proof": again_verified.gas_used,
                        "submit_answers": rewritten.gas_used,
                        "gas_per_answer": rewritten.gas_used / size,
                        "gas_per_answer_over_single_submit": rewritten.gas_used / size / SINGLE_FEED_SUBMIT_GAS,
                    },
                    "prove_seconds_median": round(prove_seconds, 3),
                    "prove_runs": PROVE_RUNS,
                    "prove_seconds_per_answer": round(prove_seconds / size, 3),
                    "prove_per_answer_over_single": prove_seconds / size / single_prove_seconds,
                    "overhead_breakdown": overhead_breakdown(
                        w3, submit_tx=submitted.tx_hash, verify_tx=verified.tx_hash
                    ),
                }
            )
    return rows


def cheapest_size(rows: Sequence[dict[str, Any]]) -> int:
    """The bundle size whose gas per answer is lowest among those measured."""
    return min(rows, key=lambda row: row["gas_per_answer"])["members"]
