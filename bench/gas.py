"""The oracle's gas table: registration, submit per feed kind, bare verification, reads.

Run from the repository root::

    python -m bench.gas [--out PATH]

Every figure is the gas of a real transaction (or, for reads, ``eth_estimateGas`` of a
call, which includes the 21,000 intrinsic gas) on a fresh Anvil. For each feed kind a
proof is verified once by calling the feed's Halo2Verifier directly and then submitted
to ZkOracle, so "overhead" is exactly what the oracle adds to verification: access
control, freshness and on-chain-input checks, answer derivation, storage and the event.
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

from bench.skeleton import DEMO_FEED, machine_info, write_results
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.quantize import felt_to_uint
from oracle.deployments.contracts import (
    circuit_config,
    deploy_consumer,
    deploy_oracle,
    deploy_proxy,
    deploy_verifier,
    feed_params,
)
from oracle.deployments.keys import sender_for
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.contracts import CONSUMER, PROXY, bind, contract_factory, feed_key
from oracle.evm.zkoracle import ZkOracle
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.provers import LocalProver
from relayer.sender import TransactionSender

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "gas.json"
VALUE_DECIMALS = 8


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


@dataclass(frozen=True)
class FeedKind:
    label: str
    spec: FeedSpec
    circuit: CircuitArtifacts
    inputs: Callable[[], list[float]]  # called right before proving, so observation times are fresh


def _gas(sender: TransactionSender, call: Any, what: str) -> int:
    return sender.transact(call, what=what).gas_used


def measure_kind(kind: FeedKind, oracle_address: str, deployer: TransactionSender, relayer: TransactionSender) -> dict:
    w3 = deployer.w3
    oracle = ZkOracle(w3, oracle_address)
    feed_id = kind.spec.id
    verifier = deploy_verifier(deployer, kind.circuit, feed_id=feed_id)
    config = circuit_config(kind.spec, kind.circuit, [verifier])
    register = _gas(deployer, oracle.register_feed(feed_id, feed_params(kind.spec), config), "registerFeed")
    if not kind.spec.onchain.permissionless:
        _gas(deployer, oracle.set_submitter(feed_id, relayer.account.address, True), "setSubmitter")
    proof = LocalProver().prove(kind.circuit, kind.inputs())
    instances = [felt_to_uint(felt) for felt in proof.instances]
    abi, _ = kind.circuit.verifier_abi_and_bytecode()
    bare = w3.eth.contract(address=Web3.to_checksum_address(verifier), abi=abi)
    verify = _gas(relayer, bare.functions.verifyProof(proof.proof_bytes, instances), "bare verifyProof")
    submit = _gas(relayer, oracle.submit(feed_id, proof.proof_bytes, instances), "submit")
    return {
        "kind": kind.label,
        "instances": len(instances),
        "register_feed": register,
        "verify_proof": verify,
        "submit": submit,
        "overhead": submit - verify,
        "submit_over_verify": submit / verify,
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


def run() -> dict[str, Any]:
    demo = load_feed(DEMO_FEED)
    demo_circuit = build_circuit(demo.model_path, demo.model_samples(), build_root=build_dir()).artifacts
    open_feed = demo.model_copy(
        update={"id": "demo-open", "onchain": demo.onchain.model_copy(update={"permissionless": True})}
    )
    prices = demo.load_samples()[0]
    with tempfile.TemporaryDirectory(prefix="zkoracle-gas-") as tmp, AnvilNode() as anvil:
        w3 = connect(anvil.rpc_url)
        deployer, relayer = sender_for(w3, "deployer"), sender_for(w3, "relayer")
        factory = contract_factory(w3, "ExampleValueSource")
        sources = [
            deployer.transact(factory.constructor(v * 10**VALUE_DECIMALS), what="value source").receipt[
                "contractAddress"
            ]
            for v in (12, 30)
        ]
        onchain = write_onchain_feed(Path(tmp), sources)
        onchain_circuit = build_circuit(onchain.model_path, onchain.model_samples(), build_root=build_dir()).artifacts
        kinds = [
            FeedKind(
                "allow-listed, proven observation time (demo)",
                demo,
                demo_circuit,
                lambda: demo.model_input(prices, observed_at=int(w3.eth.get_block("latest")["timestamp"])),
            ),
            FeedKind(
                "permissionless, proven observation time",
                open_feed,
                demo_circuit,
                lambda: demo.model_input(prices, observed_at=int(w3.eth.get_block("latest")["timestamp"])),
            ),
            FeedKind("allow-listed, 2 on-chain inputs", onchain, onchain_circuit, lambda: [12.0, 30.0]),
        ]
        oracle_address = deploy_oracle(deployer)
        feeds = [measure_kind(kind, oracle_address, deployer, relayer) for kind in kinds]
        reads = measure_reads(w3, oracle_address, demo, deployer)
    return {
        "benchmark": "gas",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "feeds": feeds,
        "reads_estimate_gas": reads,
    }


def render(results: dict[str, Any], console: Console) -> None:
    writes = Table(title="ZkOracle gas: writes (real transactions)")
    for column in ("feed kind", "registerFeed", "bare verifyProof", "submit", "overhead", "submit/verify"):
        writes.add_column(column, justify="left" if column == "feed kind" else "right")
    for feed in results["feeds"]:
        writes.add_row(
            feed["kind"],
            f"{feed['register_feed']:,}",
            f"{feed['verify_proof']:,}",
            f"{feed['submit']:,}",
            f"{feed['overhead']:,}",
            f"{feed['submit_over_verify']:.3f}",
        )
    reads = Table(title="reads (eth_estimateGas, incl. 21,000 intrinsic)")
    reads.add_column("call")
    reads.add_column("gas", justify="right")
    for name, gas in results["reads_estimate_gas"].items():
        reads.add_row(name, f"{gas:,}")
    console.print(writes)
    console.print(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default: {DEFAULT_OUT})")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run()
    console = Console(width=130)
    render(results, console)
    write_results(results, args.out, console)
    console.print(f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
