"""The benchmark suite: what a round costs for models of three sizes, from build to a consumer's read.

Run from the repository root (``make bench``)::

    python -m bench.suite [--sizes tiny small medium] [--prove-runs N] [--ticks N] [--out DIR]

For each model (built by ``bench/models/mlp.py``): a cold build into an empty build
folder (SRS and keys included), proofs each in a fresh process (bare ``ezkl.prove``
time and the process's peak RSS), proof size, local verification, the gas of a bare
``verifyProof`` and of ``ZkOracle.submit`` with the same proof on a real Anvil, and the
end-to-end latency of a node tick: input fetched → value readable by the consumer
contract. Ratios are taken between figures of the same run. Results: ``suite.json`` and
PNG plots in the output folder.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from web3 import Web3

from bench.models.mlp import SIZES, ModelSize, write_feed
from bench.skeleton import machine_info, measure_gas, summary, timed, write_results
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.native_log import native_stderr_to
from oracle.circuits.verify import verify_document
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.feeds.source import feed_source
from oracle.inference import split_by_shapes
from oracle.node import FeedNode
from oracle.paths import PROJECT_ROOT
from oracle.provers import LocalProver, Proof
from oracle.store import RoundStatus, Store

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "suite"


def describe_machine() -> dict[str, Any]:
    """The skeleton's machine facts plus what a reader needs to compare figures: CPU model and memory."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
    )
    return {**machine_info(), "cpu_model": cpu, "memory_gib": round(memory_kib / 2**20, 1)}


def measure_build(spec: FeedSpec, build_root: Path) -> tuple[CircuitArtifacts, dict[str, Any]]:
    """A cold build, as the node builds the feed's circuit: ``build_root`` is empty, so the dev SRS
    and the keys are made too."""
    result = build_feed_circuit(spec, build_root=build_root)
    if result.cached:
        raise RuntimeError(f"{build_root} already held circuit {result.circuit.key}: not a cold build")
    circuit = result.circuit.first  # the benchmark's feeds are whole models: one piece
    steps = circuit.manifest.timings
    return circuit, {
        "seconds": result.seconds,
        "steps_seconds": steps,
        "srs_seconds": steps["srs"],
        "setup_seconds": steps["setup"],
        "pk_bytes": circuit.pk.stat().st_size,
        "vk_bytes": circuit.vk.stat().st_size,
        "srs_bytes": circuit.srs.stat().st_size,
    }


def prove_in_child(circuit: CircuitArtifacts, inputs: Sequence[float], workdir: Path) -> tuple[Proof, dict[str, Any]]:
    """One proof in a fresh process (``bench.proving``): its bare prove time and peak RSS."""
    data, proof_path = workdir / "input.json", workdir / "proof.json"
    data.write_text(json.dumps({"input_data": split_by_shapes(inputs, circuit.manifest.input_shapes)}))
    command = [sys.executable, "-m", "bench.proving", "--compiled", str(circuit.compiled), "--pk", str(circuit.pk)]
    command += ["--srs", str(circuit.srs), "--input", str(data), "--proof", str(proof_path)]
    completed, seconds = timed(
        lambda: subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT, check=False)
    )
    if completed.returncode != 0:
        raise RuntimeError(f"proving in a child process failed: {completed.stderr.strip()[-2000:]}")
    figures = json.loads(completed.stdout)
    figures["process_seconds"] = seconds
    proof = Proof(document=proof_path.read_bytes(), prover="bench-child", prove_seconds=figures["prove_seconds"])
    return proof, figures


def measure_proving(circuit: CircuitArtifacts, inputs: Sequence[float], runs: int, workdir: Path) -> dict[str, Any]:
    proofs, figures = [], []
    for _ in range(runs):
        proof, run = prove_in_child(circuit, inputs, workdir)
        proofs.append(proof)
        figures.append(run)
    verify_seconds = [timed(lambda p=p: verify_document(circuit, p.document))[1] for p in proofs]
    return {
        "proof": proofs[-1],
        "prove": {
            "runs": figures,
            "median_seconds": statistics.median(r["prove_seconds"] for r in figures),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in figures),
            "baseline_rss_bytes": max(r["baseline_rss_bytes"] for r in figures),
        },
        "local_verify": summary(verify_seconds),
        "proof_bytes": len(proofs[-1].proof_bytes),
    }


def measure_ticks(node: FeedNode, ticks: int) -> dict[str, Any]:
    """End-to-end latency: a node tick starts by fetching the input and ends with the consumer's read."""
    runs = []
    for _ in range(ticks):
        report, seconds = timed(node.tick)
        row = report.round
        if row.status is not RoundStatus.LANDED or report.reading is None:
            raise RuntimeError(f"feed '{row.feed_id}': a benchmark tick did not land ({row.failure_reason})")
        if int(report.reading.round_id) != int(str(row.onchain_round_id)):
            raise RuntimeError(
                f"the consumer read round {report.reading.round_id}, the tick landed {row.onchain_round_id}"
            )
        parts = [row.fetch_seconds, row.infer_seconds, row.prove_seconds, row.verify_seconds]
        runs.append(
            {
                "seconds": seconds,
                "fetch_seconds": row.fetch_seconds,
                "infer_seconds": row.infer_seconds,
                "prove_seconds": row.prove_seconds,  # in process: witness + proof
                "verify_seconds": row.verify_seconds,
                "relay_and_read_seconds": seconds - sum(p or 0.0 for p in parts),
                "submit_gas": row.gas_used,
            }
        )
    return {"runs": runs, "median_seconds": statistics.median(r["seconds"] for r in runs)}


def bench_model(
    size: ModelSize, *, w3: Web3, rpc_url: str, workdir: Path, prove_runs: int, ticks: int
) -> dict[str, Any]:
    folder = workdir / "feeds" / size.name
    spec = load_feed(write_feed(size, folder))
    circuit, build = measure_build(spec, workdir / "build" / size.name)
    inputs = spec.model_input(list(feed_source(spec).fetch()), observed_at=int(time.time()))
    proving = measure_proving(circuit, inputs, prove_runs, folder)
    store = Store.sqlite(folder / "node.db")
    deployment = ensure_deployment(store, w3, rpc_url, spec, FeedCircuit.whole(circuit), with_consumer=True)
    gas = measure_gas(w3, spec, circuit, deployment, proving["proof"])
    node = FeedNode(
        spec, FeedCircuit.whole(circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=folder / "proofs"
    )
    end_to_end = measure_ticks(node, ticks)
    manifest = circuit.manifest
    return {
        "shape": " → ".join(str(w) for w in (size.window, *size.hidden, 1)),
        "macs": size.macs,
        "circuit_key": manifest.key,
        "logrows": manifest.logrows,
        "instances": manifest.instance_count,
        "verifier_deployed_bytes": manifest.verifier_deployed_size,
        "build": build,
        "prove": proving["prove"],
        "proof_bytes": proving["proof_bytes"],
        "local_verify": proving["local_verify"],
        "gas": gas,
        "end_to_end": end_to_end,
        "ratios": {
            "pipeline_overhead": end_to_end["median_seconds"] / proving["prove"]["median_seconds"],
            "oracle_gas_overhead": gas["submit_over_verify"],
        },
    }


def run(sizes: Sequence[str], *, prove_runs: int, ticks: int, console: Console) -> dict[str, Any]:
    started = time.perf_counter()
    machine = describe_machine()
    models: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zkoracle-bench-suite-") as tmp:
        workdir = Path(tmp)
        with AnvilNode(log_path=workdir / "anvil.log") as anvil:
            w3 = connect(anvil.rpc_url)
            for name in sizes:
                with (
                    console.status(f"benchmarking '{name}' (build, {prove_runs} proofs, chain, {ticks} ticks)"),
                    native_stderr_to(workdir / "ezkl.log"),
                ):
                    models[name] = bench_model(
                        SIZES[name], w3=w3, rpc_url=anvil.rpc_url, workdir=workdir, prove_runs=prove_runs, ticks=ticks
                    )
                console.print(f"{name}: done after {time.perf_counter() - started:.0f} s")
    return {
        "benchmark": "suite",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "prove_runs": prove_runs,
        "ticks": ticks,
        "total_seconds": time.perf_counter() - started,
        "models": models,
    }


def render(results: dict[str, Any], console: Console) -> None:
    models = results["models"]
    table = Table(title="zkoracle benchmark suite (medians)")
    table.add_column("measure")
    for name in models:
        table.add_column(name, justify="right")

    def row(label: str, fmt: Any) -> None:
        table.add_row(label, *(fmt(m) for m in models.values()))

    row("model", lambda m: m["shape"])
    row("logrows", lambda m: str(m["logrows"]))
    row("build, cold (s)", lambda m: f"{m['build']['seconds']:.1f}")
    row("  of which SRS / setup (s)", lambda m: f"{m['build']['srs_seconds']:.1f} / {m['build']['setup_seconds']:.1f}")
    row("bare ezkl.prove (s)", lambda m: f"{m['prove']['median_seconds']:.2f}")
    row("prover peak RSS (MiB)", lambda m: f"{m['prove']['peak_rss_bytes'] / 2**20:,.0f}")
    row("proof (bytes)", lambda m: f"{m['proof_bytes']:,}")
    row("local verify (ms)", lambda m: f"{m['local_verify']['median_seconds'] * 1000:.0f}")
    row("bare verifyProof gas", lambda m: f"{m['gas']['verify']:,}")
    row("submit gas", lambda m: f"{m['gas']['submit']:,}")
    row("end to end (s)", lambda m: f"{m['end_to_end']['median_seconds']:.2f}")
    row("pipeline overhead (e2e / prove)", lambda m: f"{m['ratios']['pipeline_overhead']:.2f}×")
    row("oracle gas overhead (submit / verify)", lambda m: f"{m['ratios']['oracle_gas_overhead']:.3f}×")
    console.print(table)
    machine = results["machine"]
    console.print(
        f"{machine['cpu_model']}, {machine['cpu_count']} CPUs, {machine['memory_gib']} GiB "
        f"(load {machine['load_average_1m_at_start']:.2f} at start); "
        f"Python {machine['python']}, ezkl {machine['ezkl']}; {results['total_seconds']:.0f} s in all"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help=f"any of {', '.join(SIZES)} (default: all)")
    parser.add_argument("--prove-runs", type=int, default=3, help="proofs per model, each in its own process")
    parser.add_argument("--ticks", type=int, default=2, help="end-to-end node ticks per model")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    unknown = set(args.sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown size(s) {', '.join(sorted(unknown))}; choose from {', '.join(SIZES)}")
    if args.prove_runs < 1 or args.ticks < 1:
        parser.error("--prove-runs and --ticks must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    results = run(args.sizes, prove_runs=args.prove_runs, ticks=args.ticks, console=console)
    render(results, console)
    write_results(results, args.out / "suite.json", console)
    # matplotlib comes with the bench extra; the measurement itself (and its test) runs without it.
    from bench.plots import write_plots

    for path in write_plots(results, args.out):
        console.print(f"plot written to {path}")


if __name__ == "__main__":
    main()
