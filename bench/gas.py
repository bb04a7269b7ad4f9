"""The oracle's gas table: registration, submit per input policy, bare verification, reads.

Run from the repository root::

    python -m bench.gas [--out PATH]

Every figure is the gas of a real transaction (or, for reads, ``eth_estimateGas`` of a
call, which includes the 21,000 intrinsic gas) on a fresh Anvil. For each feed kind a
proof is verified once by calling the feed's Halo2Verifier directly and then submitted
to ZkOracle, so "overhead" is exactly what the oracle adds to verification: the input
policy's checks (allow-list; attester signatures; AggregatorV3 rounds read back),
observation-time ordering, answer derivation and bounds, storage and the event. Each
overhead is split by where it goes (``bench.gas_trace``: calldata, storage reads and writes,
the event, the verifier call, the policy's calls, hashing, memory, compute), from Anvil's
opcode traces of the two transactions. ``ratios.submit_over_verify`` is the demo feed's
(operator policy, one answer): the issue's acceptance figure.

Each feed keeps its latest ROUNDS_RETAINED rounds (``rounds_retained``) and lands three rounds,
each with a fresh proof: the figures above are the third's, which rewrites the first round's
storage slot, as every round does once a feed's ring is full. ``new_slot`` (and
``ratios.submit_over_verify_new_slot``) is the first round's, which fills a new slot, as every
round of a feed retaining all its rounds does.

``bundles`` is the curve of feed bundles (``bench.bundle_gas``): 1, 2, 4, 8 and 16 demo-sized
feeds proven together and posted with ``submitAnswers``, their instances, verification and
submission gas, gas per answer and prove time per answer against a single demo feed's;
``ratios.bundle8_gas_per_answer`` is the 8-feed bundle's gas per answer over the single
feed's submit gas of issue 14 (670,798); ``bundle8_gas_per_answer_over_submit`` divides by
this run's demo submit instead.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from rich.console import Console
from rich.table import Table
from web3 import Web3

from bench.bundle_gas import SINGLE_FEED_SUBMIT_GAS, cheapest_size, measure_bundles, timed_prove
from bench.gas_trace import overhead_breakdown
from bench.skeleton import DEMO_FEED, machine_info, write_results
from oracle.attestation.checks import decode_observed_at
from oracle.attestation.typed_data import ObservationClaim, sign_observation
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.deployments.contracts import (
    aggregator_decimals,
    circuit_config,
    deploy_consumer,
    deploy_oracle,
    deploy_proxy,
    deploy_verifier,
    feed_params,
)
from oracle.deployments.keys import sender_for
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.contracts import CONSUMER, PROXY, bind, contract_factory, feed_key
from oracle.evm.zkoracle import InputEvidence, ZkOracle
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import AttestationSpec, AttesterSpec, FeedSpec
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.provers import LocalProver
from relayer.sender import TransactionSender

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "gas.json"
VALUE_DECIMALS = 8
AGGREGATOR = "ExampleAggregator"


def write_weighted_sum_model(path: Path) -> None:
    """A 2-input linear model: small enough that its on-chain inputs stay on EZKL's exact grid."""
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
        "weighted_sum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        [
            numpy_helper.from_array(np.array([[0.5, 0.25]], dtype=np.float32), "w"),
            numpy_helper.from_array(np.array([1.0], dtype=np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def write_aggregator_feed(folder: Path, aggregators: list[str]) -> FeedSpec:
    """A permissionless onchain-policy feed whose two inputs are AggregatorV3 rounds, read back by ZkOracle.submit."""
    write_weighted_sum_model(folder / "model.onnx")
    (folder / "samples.json").write_text(json.dumps([[0.0, 0.0], [100.0, 50.0], [12.5, 31.25], [63.0, 7.0]]))
    feeds = "\n".join(f'[[source.feeds]]\naddress = "{address}"\n' for address in aggregators)
    (folder / "feed.toml").write_text(
        'id = "aggregated"\ndescription = "weighted sum of two AggregatorV3 rounds"\nmodel = "model.onnx"\n'
        f'samples = "samples.json"\ndecimals = 6\n\n[source]\nkind = "evm_aggregator"\n\n{feeds}\n'
        '[schedule]\ninterval_seconds = 10\n\n[onchain]\ninput_policy = "onchain"\npermissionless = true\n'
    )
    return load_feed(folder)


def write_onchain_feed(folder: Path, value_sources: list[str]) -> FeedSpec:
    """A feed whose two inputs are ExampleValueSource contracts, read again by ZkOracle.submit."""
    write_weighted_sum_model(folder / "model.onnx")
    (folder / "samples.json").write_text(json.dumps([[0.0, 0.0], [100.0, 50.0], [12.5, 31.25], [63.0, 7.0]]))
    views = "\n".join(
        f'[[source.views]]\naddress = "{address}"\ndecimals = {VALUE_DECIMALS}\n' for address in value_sources
    )
    (folder / "feed.toml").write_text(
        'id = "onchain"\ndescription = "weighted sum of two on-chain values"\nmodel = "model.onnx"\n'
        f'samples = "samples.json"\ndecimals = 6\n\n[source]\nkind = "evm_view"\n\n{views}\n'
        "[schedule]\ninterval_seconds = 10\n"
    )
    return load_feed(folder)


# The bench's feeds keep their latest 2 rounds (any number gives the same steady state): each is
# submitted 3 times, and the third round, which rewrites the first one's slot, is the one measured.
ROUNDS_RETAINED = 2


def retaining(spec: FeedSpec) -> FeedSpec:
    return spec.model_copy(update={"onchain": spec.onchain.model_copy(update={"rounds_retained": ROUNDS_RETAINED})})


# Anvil's dev accounts 5, 6 and 7 attest the attested kind's inputs; 2 of them sign each round.
ATTESTER_ACCOUNTS = (5, 6, 7)
ATTESTATION_THRESHOLD = 2


@dataclass(frozen=True)
class FeedKind:
    label: str
    spec: FeedSpec
    circuit: CircuitArtifacts
    inputs: Callable[[], list[float]]  # called right before proving, so observation times are fresh
    # What the input policy needs besides the proof, from the proof's instances and the oracle.
    evidence: Callable[[list[int], ZkOracle], InputEvidence] = lambda _instances, _oracle: InputEvidence()


def attested_evidence(spec: FeedSpec, circuit: CircuitArtifacts) -> Callable[[list[int], ZkOracle], InputEvidence]:
    """Signatures of the first ATTESTATION_THRESHOLD attesters over the proof's inputs, as the node gathers them."""

    def evidence(instances: list[int], oracle: ZkOracle) -> InputEvidence:
        inputs = instances[: circuit.manifest.input_instances]
        observed_at = decode_observed_at(
            inputs, index=len(inputs) - OBSERVED_AT_LIMBS, scale=circuit.manifest.input_scales[0]
        )
        claim = ObservationClaim(
            chain_id=oracle.w3.eth.chain_id,
            oracle=oracle.address,
            feed_id=spec.id,
            phase_id=oracle.circuit(spec.id)[0],
            observed_at=observed_at,
            input_instances=tuple(inputs),
        )
        signers = [dev_account(index) for index in ATTESTER_ACCOUNTS[:ATTESTATION_THRESHOLD]]
        attestations = [sign_observation(account, claim) for account in signers]
        return InputEvidence(attestations=tuple(attestations))

    return evidence


def aggregator_evidence(aggregators: list[str]) -> Callable[[list[int], ZkOracle], InputEvidence]:
    """The aggregators' latest rounds: those the proof's inputs were read from."""

    def evidence(_instances: list[int], oracle: ZkOracle) -> InputEvidence:
        rounds = [int(bind(oracle.w3, AGGREGATOR, a).functions.latestRound().call()) for a in aggregators]
        return InputEvidence(source_rounds=tuple(rounds))

    return evidence


def _gas(sender: TransactionSender, call: Any, what: str) -> int:
    return sender.transact(call, what=what).gas_used


def measure_kind(kind: FeedKind, oracle_address: str, deployer: TransactionSender, relayer: TransactionSender) -> dict:
    w3 = deployer.w3
    oracle = ZkOracle(w3, oracle_address)
    feed_id = kind.spec.id
    verifier = deploy_verifier(deployer, kind.circuit, feed_id=feed_id)
    config = circuit_config(
        kind.spec, FeedCircuit.whole(kind.circuit), [verifier], aggregator_decimals=aggregator_decimals(w3, kind.spec)
    )
    register = _gas(deployer, oracle.register_feed(feed_id, feed_params(kind.spec), config), "registerFeed")
    if not kind.spec.onchain.permissionless:
        _gas(deployer, oracle.set_submitter(feed_id, relayer.account.address, True), "setSubmitter")
    if kind.spec.attestation is not None:
        attesters = [attester.address for attester in kind.spec.attestation.attesters]
        _gas(deployer, oracle.set_attesters(feed_id, attesters, kind.spec.attestation.threshold), "setAttesters")
    abi, _ = kind.circuit.verifier_abi_and_bytecode()
    bare = w3.eth.contract(address=Web3.to_checksum_address(verifier), abi=abi)
    rounds = []
    # The feed keeps ROUNDS_RETAINED rounds: the last round rewrites the first one's slot.
    for _ in range(ROUNDS_RETAINED + 1):
        w3.provider.make_request("evm_increaseTime", [1])  # type: ignore[arg-type]  # a later second each round
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        proof = LocalProver().prove(kind.circuit, kind.inputs())
        instances = [felt_to_uint(felt) for felt in proof.instances]
        verified = relayer.transact(bare.functions.verifyProof(proof.proof_bytes, instances), what="bare verifyProof")
        evidence = kind.evidence(instances, oracle)
        submitted = relayer.transact(oracle.submit(feed_id, proof.proof_bytes, instances, evidence), what="submit")
        rounds.append((verified, submitted))
    (first_verified, first_submitted), (verified, submitted) = rounds[0], rounds[-1]
    verify, submit = verified.gas_used, submitted.gas_used
    return {
        "kind": kind.label,
        "input_policy": kind.spec.onchain.input_policy,
        "permissionless": kind.spec.onchain.permissionless,
        "instances": len(instances),
        "register_feed": register,
        "verify_proof": verify,
        "submit": submit,
        "overhead": submit - verify,
        "submit_over_verify": submit / verify,
        "overhead_breakdown": overhead_breakdown(w3, submit_tx=submitted.tx_hash, verify_tx=verified.tx_hash),
        # The feed's first round fills a new slot, as every round of a feed retaining every round does.
        "new_slot": {
            "verify_proof": first_verified.gas_used,
            "submit": first_submitted.gas_used,
            "overhead": first_submitted.gas_used - first_verified.gas_used,
            "submit_over_verify": first_submitted.gas_used / first_verified.gas_used,
        },
    }


def measure_reads(w3: Web3, oracle_address: str, spec: FeedSpec, deployer: TransactionSender) -> dict[str, int]:
    proxy = bind(w3, PROXY, deploy_proxy(deployer, oracle_address, spec.id))
    consumer = bind(w3, CONSUMER, deploy_consumer(deployer, oracle_address, spec.id))
    oracle = ZkOracle(w3, oracle_address)
    latest = oracle.latest_round_id(spec.id)
    assert latest is not None, "the reads are measured after the feeds' submissions"
    key, round_id, views = feed_key(spec.id), int(latest), oracle.contract.functions
    calls = {  # raw calls: what is measured is the gas of each view, not its decoded result
        "ZkOracle.latestRoundData": views.latestRoundData(key),
        "ZkOracle.getRound": views.getRound(key, round_id),
        "ZkFeedProxy.latestRoundData": proxy.functions.latestRoundData(),
        "ZkFeedProxy.getRoundData": proxy.functions.getRoundData(round_id),
        "ZkFeedProxy.latestRoundDataNoOlderThan": proxy.functions.latestRoundDataNoOlderThan(3600),
        "ExampleConsumer.readLatest": consumer.functions.readLatest(),
    }
    return {name: call.estimate_gas() for name, call in calls.items()}


def attested_spec(demo: FeedSpec) -> FeedSpec:
    """The demo feed under the attested policy, relayed by anyone."""
    attesters = tuple(
        AttesterSpec(address=dev_account(i).address, url=f"http://127.0.0.1:{8093 + n}")
        for n, i in enumerate(ATTESTER_ACCOUNTS)
    )
    return demo.model_copy(
        update={
            "id": "demo-attested",
            "onchain": demo.onchain.model_copy(update={"input_policy": "attested", "permissionless": True}),
            "attestation": AttestationSpec(attesters=attesters, threshold=ATTESTATION_THRESHOLD),
        }
    )


def run() -> dict[str, Any]:
    demo = retaining(load_feed(DEMO_FEED))
    demo_circuit = build_circuit(demo.model_path, demo.model_samples(), build_root=build_dir()).artifacts
    attested = attested_spec(demo)
    prices = demo.load_samples()[0]
    with tempfile.TemporaryDirectory(prefix="zkoracle-gas-") as tmp, AnvilNode(steps_tracing=True) as anvil:
        w3 = connect(anvil.rpc_url)
        deployer, relayer = sender_for(w3, "deployer"), sender_for(w3, "relayer")

        def now() -> int:
            return int(w3.eth.get_block("latest")["timestamp"])

        def deploy_example(name: str, *args: object) -> str:
            factory = contract_factory(w3, name)
            return deployer.transact(factory.constructor(*args), what=name).receipt["contractAddress"]

        sources = [deploy_example("ExampleValueSource", v * 10**VALUE_DECIMALS) for v in (12, 30)]
        aggregators = [deploy_example(AGGREGATOR, VALUE_DECIMALS, "bench", v * 10**VALUE_DECIMALS) for v in (12, 30)]
        (Path(tmp) / "views").mkdir()
        (Path(tmp) / "rounds").mkdir()
        getters = retaining(write_onchain_feed(Path(tmp) / "views", sources))
        rounds = retaining(write_aggregator_feed(Path(tmp) / "rounds", aggregators))
        # One circuit serves both on-chain feeds: the same model and samples.
        onchain_circuit = build_circuit(
            getters.model_path, getters.model_samples(), build_root=build_dir(), observation_time=True
        ).artifacts
        kinds = [
            FeedKind(
                "operator: allow-listed submitter (demo)",
                demo,
                demo_circuit,
                lambda: demo.model_input(prices, observed_at=now()),
            ),
            FeedKind(
                f"attested: {ATTESTATION_THRESHOLD} of {len(ATTESTER_ACCOUNTS)} attesters, permissionless",
                attested,
                demo_circuit,
                lambda: attested.model_input(prices, observed_at=now()),
                attested_evidence(attested, demo_circuit),
            ),
            FeedKind(
                "onchain: 2 AggregatorV3 rounds, permissionless",
                rounds,
                onchain_circuit,
                lambda: rounds.model_input([12.0, 30.0], observed_at=now()),
                aggregator_evidence(aggregators),
            ),
            FeedKind(
                "operator: 2 on-chain getters",
                getters,
                onchain_circuit,
                lambda: getters.model_input([12.0, 30.0], observed_at=now()),
                lambda _instances, _oracle: InputEvidence(source_rounds=(0, 0)),  # a getter names no round
            ),
        ]
        oracle_address = deploy_oracle(deployer)
        feeds = [measure_kind(kind, oracle_address, deployer, relayer) for kind in kinds]
        reads = measure_reads(w3, oracle_address, demo, deployer)
        _, single_prove_seconds = timed_prove(demo_circuit, demo.model_input(prices, observed_at=now()))
        bundles = measure_bundles(
            ZkOracle(w3, oracle_address),
            deployer,
            relayer,
            prices=prices,
            now=now,
            single_prove_seconds=single_prove_seconds,
        )
    demo_feed = feeds[0]  # the operator demo feed, one answer per proof
    bundle8 = next(row for row in bundles if row["members"] == 8)
    return {
        "benchmark": "gas",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "ratios": {
            "submit_over_verify": demo_feed["submit_over_verify"],
            "submit_over_verify_new_slot": demo_feed["new_slot"]["submit_over_verify"],
            "bundle8_gas_per_answer": bundle8["gas_per_answer"] / SINGLE_FEED_SUBMIT_GAS,
            "bundle8_gas_per_answer_over_submit": bundle8["gas_per_answer"] / demo_feed["submit"],
            "bundle8_gas_per_answer_rewriting": bundle8["rewriting"]["gas_per_answer"] / SINGLE_FEED_SUBMIT_GAS,
        },
        "feeds": feeds,
        "reads_estimate_gas": reads,
        "single_feed_prove_seconds_median": round(single_prove_seconds, 3),
        "bundle_cheapest_size": cheapest_size(bundles),
        "bundles": bundles,
    }


def render(results: dict[str, Any], console: Console) -> None:
    writes = Table(title="ZkOracle gas: writes (real transactions; submit: a round rewriting a retained slot)")
    columns = ("feed kind", "registerFeed", "bare verifyProof", "submit", "overhead", "submit/verify")
    for column in (*columns, "new slot: submit", "submit/verify"):
        writes.add_column(column, justify="left" if column == "feed kind" else "right")
    for feed in results["feeds"]:
        writes.add_row(
            feed["kind"],
            f"{feed['register_feed']:,}",
            f"{feed['verify_proof']:,}",
            f"{feed['submit']:,}",
            f"{feed['overhead']:,}",
            f"{feed['submit_over_verify']:.3f}",
            f"{feed['new_slot']['submit']:,}",
            f"{feed['new_slot']['submit_over_verify']:.3f}",
        )
    reads = Table(title="reads (eth_estimateGas, incl. 21,000 intrinsic)")
    reads.add_column("call")
    reads.add_column("gas", justify="right")
    for name, gas in results["reads_estimate_gas"].items():
        reads.add_row(name, f"{gas:,}")
    breakdown = Table(title="where the overhead goes (gas; opcode traces of submit vs bare verifyProof)")
    breakdown.add_column("class")
    feeds = results["feeds"]
    for feed in feeds:
        label = feed["kind"].split(":")[0] + (" (getters)" if "getters" in feed["kind"] else "")
        breakdown.add_column(label, justify="right")
    for name in feeds[0]["overhead_breakdown"]["gas"]:
        breakdown.add_row(name, *(f"{feed['overhead_breakdown']['gas'][name]:,}" for feed in feeds))
    for count in ("cold_slots_read", "slots_written"):
        breakdown.add_row(count.replace("_", " "), *(str(feed["overhead_breakdown"][count]) for feed in feeds))
    curve = Table(title="feed bundles: one proof, one submitAnswers for every member (demo-sized members)")
    for column in (
        "members",
        "instances",
        "logrows",
        "bare verifyProof",
        "submitAnswers",
        "gas / answer",
        "vs single submit",
        "2nd round / answer",
        "prove s",
        "prove s / answer",
        "vs single prove",
    ):
        curve.add_column(column, justify="right")
    for row in results["bundles"]:
        curve.add_row(
            str(row["members"]),
            str(row["instances"]),
            str(row["logrows"]),
            f"{row['verify_proof']:,}",
            f"{row['submit_answers']:,}",
            f"{row['gas_per_answer']:,.0f}",
            f"{row['gas_per_answer_over_single_submit']:.3f}",
            f"{row['rewriting']['gas_per_answer']:,.0f}",
            f"{row['prove_seconds_median']:.2f}",
            f"{row['prove_seconds_per_answer']:.2f}",
            f"{row['prove_per_answer_over_single']:.3f}",
        )
    console.print(writes)
    console.print(breakdown)
    console.print(reads)
    console.print(curve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default: {DEFAULT_OUT})")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run()
    console = Console(width=130)
    render(results, console)
    write_results(results, args.out, console)
    try:
        from bench.plots import plot_bundles
    except ModuleNotFoundError:  # matplotlib comes with the bench extra
        console.print("no plot of the bundle curve: install the bench extra (pip install -e '.[bench]')")
    else:
        plot = args.out.with_name("gas-bundles.png")
        plot_bundles(results["bundles"], plot)
        console.print(f"bundle curve plotted in {plot}")
    console.print(f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
