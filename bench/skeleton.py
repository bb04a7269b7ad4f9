"""What one round of the demo feed costs: off-chain (build, prove, verify) and on-chain (gas).

Run from the repository root::

    python -m bench.skeleton [--out PATH] [--prove-runs N]

The gas figures come from real transactions on a fresh Anvil: the feed's generated
Halo2Verifier called directly with a proof, then ``ZkOracle.submit`` with the same proof
and instances, so their difference is what the oracle adds on top of verification. The
bare call goes first because ZkOracle rejects a replayed proof and the verifier does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.table import Table
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.folders import EZKL_VERSION
from oracle.circuits.quantize import felt_to_uint
from oracle.circuits.verify import verify_document
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.zkoracle import ZkOracle
from oracle.exceptions import RemoteProverError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.provers import LocalProver, Proof
from oracle.provers.remote import RemoteProver
from oracle.store import Deployment, RoundStatus, Store

DEMO_FEED = PROJECT_ROOT / "feeds" / "demo"
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "skeleton.json"

T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def demo_feed_template(substitutions: dict[str, str], *, bench: str) -> str:
    """The demo feed's feed.toml with each pattern replaced exactly once: a reshaped demo feed stops the bench."""
    template = (DEMO_FEED / "feed.toml").read_text()
    for pattern, line in substitutions.items():
        template, n = re.subn(pattern, line, template)
        if n != 1:
            raise RuntimeError(f"the demo feed.toml changed shape ({pattern!r} matched {n} times); update {bench}")
    return template


def demo_feed_copies(root: Path, template: str, ids: Sequence[str]) -> list[Path]:
    """One copy of the demo feed's folder per id under ``root``, its feed.toml ``template`` with that id."""
    folders = []
    for feed_id in ids:
        folder = root / feed_id
        shutil.copytree(DEMO_FEED, folder)
        toml, n = re.subn(r'(?m)^id = ".*"$', f'id = "{feed_id}"', template)
        assert n == 1
        (folder / "feed.toml").write_text(toml)
        folders.append(folder)
    return folders


async def until_healthy(
    remote: RemoteProver, *, within: float, exited: Callable[[], str | None] = lambda: None
) -> None:
    """Poll a prover's /health until it answers; ``exited`` (why its process is gone, or None) ends the wait early."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            reason = exited()
            if reason is not None:
                raise RuntimeError(reason)
            try:
                await remote.health(client)
                return
            except RemoteProverError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


def write_results(results: dict[str, Any], path: Path, console: Console) -> None:
    """Every benchmark's JSON output: indented, newline-terminated, its folder created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"results written to {path}")


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "ezkl": EZKL_VERSION,
        # Timings on a shared 2-core box are only comparable at similar load.
        "load_average_1m_at_start": os.getloadavg()[0],
    }


def measure_build(spec: FeedSpec, samples: list[list[float]]) -> dict[str, Any]:
    """A cold build (dev SRS included) into an empty root, then the same build again from its cache."""
    with tempfile.TemporaryDirectory(prefix="zkoracle-bench-build-") as tmp:
        cold = build_circuit(spec.model_path, samples, build_root=Path(tmp))
        cached = build_circuit(spec.model_path, samples, build_root=Path(tmp))
    if cold.cached or not cached.cached:
        raise RuntimeError(f"expected a cold then a cached build, got cached={cold.cached} then cached={cached.cached}")
    return {
        "cold_seconds": cold.seconds,
        "cached_seconds": cached.seconds,
        "cached_over_cold": cached.seconds / cold.seconds,
        "cold_steps_seconds": cold.artifacts.manifest.timings,
    }


@dataclass(frozen=True)
class Proving:
    proof: Proof
    prove_seconds: list[float]
    verify_seconds: list[float]


def measure_proving(circuit: CircuitArtifacts, inputs: Sequence[float], runs: int) -> Proving:
    """``runs`` proofs of the same inputs, each verified locally; the last one is kept for the chain."""
    prover = LocalProver()
    prove_seconds: list[float] = []
    verify_seconds: list[float] = []
    for _ in range(runs):
        proof, seconds = timed(partial(prover.prove, circuit, inputs))
        prove_seconds.append(seconds)
        _, seconds = timed(partial(verify_document, circuit, proof.document))
        verify_seconds.append(seconds)
    return Proving(proof=proof, prove_seconds=prove_seconds, verify_seconds=verify_seconds)


def measure_gas(
    w3: Web3, spec: FeedSpec, circuit: CircuitArtifacts, deployment: Deployment, proof: Proof
) -> dict[str, Any]:
    sender = sender_for(w3, "relayer")
    instances = [felt_to_uint(felt) for felt in proof.instances]
    abi, _bytecode = circuit.verifier_abi_and_bytecode()
    verifier = w3.eth.contract(address=Web3.to_checksum_address(deployment.verifier_address), abi=abi)
    oracle = ZkOracle(w3, deployment.oracle_address)
    verify = sender.transact(verifier.functions.verifyProof(proof.proof_bytes, instances), what="bare verifyProof")
    submit_call = oracle.submit(spec.id, proof.proof_bytes, instances)
    submit = sender.transact(submit_call, what="ZkOracle.submit")
    return {
        "verify": verify.gas_used,
        "submit": submit.gas_used,
        "submit_over_verify": submit.gas_used / verify.gas_used,
        "oracle_overhead": submit.gas_used - verify.gas_used,
    }


def measure_tick(node: FeedNode) -> dict[str, Any]:
    """One full round (fetch, infer, prove, verify, relay, consumer read), after the feed's first round."""
    report, seconds = timed(node.tick)
    row = report.round
    if row.status is not RoundStatus.LANDED:
        raise RuntimeError(f"the benchmark tick did not land: {row.status.value} ({row.failure_reason})")
    return {
        "seconds": seconds,
        "prove_seconds": row.prove_seconds,
        "verify_seconds": row.verify_seconds,
        # A later round rewrites storage the first one initialised, so it costs less than the first submit.
        "submit_gas": row.gas_used,
        "onchain_round_id": row.onchain_round_id,
    }


def run_chain(
    spec: FeedSpec, circuit: CircuitArtifacts, proof: Proof, workdir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    with AnvilNode(log_path=workdir / "anvil.log") as anvil:
        w3 = connect(anvil.rpc_url)
        store = Store.sqlite(workdir / "zkoracle.db")
        deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit), with_consumer=True)
        gas = measure_gas(w3, spec, circuit, deployment, proof)
        proofs_dir = workdir / "proofs"
        node = FeedNode(
            spec, FeedCircuit.whole(circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=proofs_dir
        )
        return gas, measure_tick(node)


def summary(seconds: list[float]) -> dict[str, Any]:
    return {"runs_seconds": seconds, "median_seconds": statistics.median(seconds)}


def run(prove_runs: int) -> dict[str, Any]:
    machine = machine_info()
    spec = load_feed(DEMO_FEED)
    samples = spec.model_samples()
    main_build = build_circuit(spec.model_path, samples, build_root=build_dir())
    circuit = main_build.artifacts
    build = measure_build(spec, samples)
    # Observed now: the oracle refuses observations older than the feed's window.
    inputs = spec.model_input(spec.load_samples()[0], observed_at=int(time.time()))
    proving = measure_proving(circuit, inputs, prove_runs)
    with tempfile.TemporaryDirectory(prefix="zkoracle-bench-") as tmp:
        gas, tick = run_chain(spec, circuit, proving.proof, Path(tmp))
    return {
        "benchmark": "skeleton",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "feed": spec.id,
        "circuit": {
            "key": circuit.manifest.key,
            "logrows": circuit.manifest.logrows,
            "instances": circuit.manifest.instance_count,
            "verifier_deployed_bytes": circuit.manifest.verifier_deployed_size,
            "build_root": str(build_dir()),
            "was_cached": main_build.cached,
            "build_seconds": main_build.seconds,
        },
        "build": build,
        "prove": summary(proving.prove_seconds),
        "local_verify": summary(proving.verify_seconds),
        "proof_bytes": len(proving.proof.proof_bytes),
        "gas": gas,
        "tick": tick,
    }


def _runs(values: Sequence[float], *, unit: str, factor: float = 1.0) -> str:
    return "median of " + ", ".join(f"{v * factor:.3g}" for v in values) + f" {unit}"


def render(results: dict[str, Any], console: Console) -> None:
    build, gas, tick, circuit = results["build"], results["gas"], results["tick"], results["circuit"]
    prove, verify = results["prove"], results["local_verify"]
    table = Table(title=f"skeleton benchmark: feed '{results['feed']}', logrows {circuit['logrows']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("detail")
    table.add_row("build, cold", f"{build['cold_seconds']:.2f} s", "empty build root, dev SRS included")
    cached_note = f"cached/cold {build['cached_over_cold']:.1e}"
    table.add_row("build, cached", f"{build['cached_seconds'] * 1000:.2f} ms", cached_note)
    table.add_row("prove", f"{prove['median_seconds']:.3f} s", _runs(prove["runs_seconds"], unit="s"))
    verify_runs = _runs(verify["runs_seconds"], unit="ms", factor=1000)
    table.add_row("local verify", f"{verify['median_seconds'] * 1000:.1f} ms", verify_runs)
    table.add_row("proof size", f"{results['proof_bytes']:,} B", "Proof.proof_bytes")
    table.add_row("verifyProof gas", f"{gas['verify']:,}", "bare Halo2Verifier tx")
    table.add_row("submit gas", f"{gas['submit']:,}", "ZkOracle.submit, same proof")
    table.add_row("submit / verify", f"{gas['submit_over_verify']:.3f}", "")
    table.add_row("oracle overhead", f"{gas['oracle_overhead']:,}", "gas, submit - verify")
    table.add_row("tick", f"{tick['seconds']:.2f} s", "FeedNode.tick, end to end")
    table.add_row("tick submit gas", f"{tick['submit_gas']:,}", "a later round (warm slots)")
    console.print(table)
    machine = results["machine"]
    console.print(
        f"{machine['cpu_count']} CPUs (load {machine['load_average_1m_at_start']:.2f}), {machine['platform']}, "
        f"Python {machine['python']}, ezkl {machine['ezkl']}; main circuit {circuit['key'][:12]} "
        f"{'found cached' if circuit['was_cached'] else 'built'} in {circuit['build_seconds']:.2f} s"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.skeleton", description="Time and gas of a demo-feed round.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results file (default {DEFAULT_OUT})")
    parser.add_argument("--prove-runs", type=int, default=3, help="how many proofs to time (default 3)")
    args = parser.parse_args(argv)
    if args.prove_runs < 1:
        parser.error("--prove-runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    with console.status("running the skeleton benchmark (build, prove, Anvil)..."):
        results = run(args.prove_runs)
    render(results, console)
    write_results(results, args.out, console)


if __name__ == "__main__":
    main()
