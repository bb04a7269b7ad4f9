"""Slicing against proving whole: time, CPU and memory of one proof of a model too big to prove comfortably.

Run from the repository root (``make bench`` runs it after the suite)::

    python -m bench.slicing [--slices 4 5] [--runs N] [--out DIR] [--plan-only] [--skip-beyond]

The model is an MLP forecaster 64 → 512 → 512 → 256 → 1 (``bench/models/mlp.py``'s
recipe), which needs logrows 18 whole. It is built whole and cut into N slices for each
N, planned with the smallest ``max_logrows`` that yields exactly N slices (its wide
layers split into pieces; see ``oracle/circuits/slicing/split.py``), so each N's slices
are as small as N slices can be (content-addressed builds under ``DIR/slicing/build``, so
a rerun skips them). ``--plan-only`` prints those plans and builds nothing. Then one model input is proven by every configuration, each proof in a
fresh ``bench.proving`` process: whole, one process; sliced, one process per slice, all
started at once, then again one slice at a time. Measured per configuration: wall time from starting the first process
to the end of the last, CPU time (user + sys of the processes, from ``wait4``), each
process's peak RSS (``VmHWM``) and bare ``ezkl.prove`` seconds. Every proof is
verified, and consecutive slice proofs must carry the same boundary commitment (the
KZG commitment in both proofs' bytes), so a broken proof is never timed. Ratios to
whole come from the same run. Results: ``DIR/slicing.json`` (``ratios``: 4 slices, each alone, against
whole; ``ratios_by_slices``: every N; ``beyond_one_machine``: a model too big to prove whole here, MLP
64 → 1024 × 5 → 1, with the memory proving it whole would need, estimated from this run's per-logrow growth,
and its slices under ``max_logrows`` 18 built, proven one at a time for a real node on a fresh Anvil, landed
and read by the example consumer; ``--skip-beyond`` only plans and estimates it) and ``DIR/slicing.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.models.mlp import ModelSize, write_feed
from bench.models.mlp import samples as model_samples
from bench.plots import plot_slicing
from bench.skeleton import write_results
from bench.suite import describe_machine
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.intake import prepare_model
from oracle.circuits.native_log import native_stderr_to
from oracle.circuits.quantize import felt_to_float
from oracle.circuits.slicing import ModelGraph, SlicedCircuit, SlicingPlan, build_sliced_circuit, run_chain
from oracle.circuits.slicing.links import commitment_layout, linked
from oracle.circuits.slicing.rows import logrows_for
from oracle.circuits.slicing_plan import MAX_LOGROWS, RANGE_CHECK_LOGROWS
from oracle.circuits.verify import verify_document
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.contracts import CONSUMER, bind
from oracle.evm.zkoracle import ZkOracle
from oracle.exceptions import SlicePlanError
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.loader import load_feed
from oracle.inference import OnnxModel, split_by_shapes
from oracle.node import FeedNode
from oracle.paths import PROJECT_ROOT
from oracle.provers import Proof
from oracle.sources.synthetic import price_window
from oracle.store import Store

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results"
MODEL = ModelSize("slicing", window=64, hidden=(512, 512, 256))
HEADLINE_SLICES = 4
# Too big to prove whole on a 24 GiB machine (logrows 22 whole), planned as slices a modest prover can take.
BIG_MODEL = ModelSize("beyond", window=64, hidden=(1024, 1024, 1024, 1024, 1024))
BIG_MODEL_MAX_LOGROWS = 18
BIG_MODEL_OBSERVATION_AGE = 3600
# Inside the calibration samples' range (ticks 200..4040) but none of them.
INPUT_TICK = 1234


@dataclass(frozen=True)
class Job:
    """One proof to make in a process of its own."""

    circuit: CircuitArtifacts
    inputs: list[float]
    folder: Path


@dataclass(frozen=True)
class Finished:
    job: Job
    proof: Proof
    figures: dict[str, Any]  # bench.proving's JSON plus this process's CPU seconds


def prove_at_once(jobs: Sequence[Job]) -> tuple[list[Finished], float]:
    """Start one ``bench.proving`` process per job, all at once; return them and the wall seconds until the last ends."""
    processes = []
    started = time.perf_counter()
    for job in jobs:
        job.folder.mkdir(parents=True, exist_ok=True)
        data, proof_path = job.folder / "input.json", job.folder / "proof.json"
        data.write_text(json.dumps({"input_data": split_by_shapes(job.inputs, job.circuit.manifest.input_shapes)}))
        proof_path.unlink(missing_ok=True)
        command = [sys.executable, "-m", "bench.proving", "--compiled", str(job.circuit.compiled)]
        command += ["--pk", str(job.circuit.pk), "--srs", str(job.circuit.srs)]
        command += ["--input", str(data), "--proof", str(proof_path)]
        with (job.folder / "stdout.json").open("wb") as out, (job.folder / "stderr.log").open("wb") as err:
            processes.append(subprocess.Popen(command, stdout=out, stderr=err, cwd=PROJECT_ROOT))
    usages = []
    for process in processes:
        # wait4 reaps the process and hands back its own rusage: CPU per process, nothing else counted.
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        usages.append(usage)
    wall = time.perf_counter() - started
    finished = []
    for job, process, usage in zip(jobs, processes, usages, strict=True):
        if process.returncode != 0:
            tail = (job.folder / "stderr.log").read_text(errors="replace").strip()[-2000:]
            raise RuntimeError(f"proving circuit {job.circuit.manifest.key} failed (exit {process.returncode}): {tail}")
        figures = json.loads((job.folder / "stdout.json").read_text())
        figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        document = (job.folder / "proof.json").read_bytes()
        proof = Proof(document=document, prover="bench-child", prove_seconds=figures["prove_seconds"])
        verify_document(job.circuit, document)  # raises unless the proof verifies
        finished.append(Finished(job, proof, figures))
    return finished, wall


class OneSliceAtATime:
    """The node's prover for the too-big model: every slice alone in a fresh ``bench.proving`` process, in turn.

    The node asks for all slices at once; taking them one at a time is what one modest prover
    per slice sees (only that slice's memory resident), and lets this machine hold the model at
    all. Each process's figures are kept by circuit key.
    """

    name = "bench-one-slice-at-a-time"

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self.figures: dict[str, dict[str, Any]] = {}

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        key = circuit.manifest.key
        with self._lock:
            finished, wall = prove_at_once([Job(circuit, list(inputs), self._folder / key)])
        self.figures[key] = {**finished[0].figures, "wall_seconds": wall}
        return finished[0].proof


def check_links(circuits: Sequence[CircuitArtifacts], proofs: Sequence[Proof]) -> None:
    """The output commitment in each slice proof must be, byte for byte, the input commitment in the next one."""
    for index in range(1, len(proofs)):
        before = commitment_layout(circuits[index - 1].manifest).output_point(proofs[index - 1].proof_bytes)
        after = commitment_layout(circuits[index].manifest).input_point(proofs[index].proof_bytes)
        if not linked(before, after):
            raise RuntimeError(f"slice {index - 1}'s output commitment is not slice {index}'s input commitment")


def configuration_figures(runs: list[tuple[list[Finished], float]]) -> dict[str, Any]:
    """Medians over runs of the wall and CPU seconds; peak RSS is the worst seen in any run."""
    per_run = []
    for finished, wall in runs:
        prove = [f.figures["prove_seconds"] for f in finished]
        per_run.append(
            {
                "wall_seconds": wall,
                "cpu_seconds": sum(f.figures["cpu_seconds"] for f in finished),
                "prove_seconds": prove,
                "witness_seconds": [f.figures["witness_seconds"] for f in finished],
                "process_cpu_seconds": [f.figures["cpu_seconds"] for f in finished],
                "peak_rss_bytes": [f.figures["peak_rss_bytes"] for f in finished],
                "baseline_rss_bytes": [f.figures["baseline_rss_bytes"] for f in finished],
                "sequential_prove_seconds": sum(prove),
                "process_wall_seconds": [f.figures.get("wall_seconds") for f in finished],
            }
        )
    return {
        "runs": per_run,
        "wall_seconds": statistics.median(r["wall_seconds"] for r in per_run),
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in per_run),
        "max_prove_seconds": statistics.median(max(r["prove_seconds"]) for r in per_run),
        # A process's own wall time is known when it ran alone: the slowest is the critical path.
        "max_process_wall_seconds": (
            statistics.median(max(r["process_wall_seconds"]) for r in per_run)
            if all(None not in r["process_wall_seconds"] for r in per_run)
            else None
        ),
        "sequential_prove_seconds": statistics.median(r["sequential_prove_seconds"] for r in per_run),
        "max_peak_rss_bytes": max(max(r["peak_rss_bytes"]) for r in per_run),
        # Slices proven side by side hold their memory at the same time: at most this much together.
        "sum_peak_rss_bytes": max(sum(r["peak_rss_bytes"]) for r in per_run),
    }


def build_figures(seconds: float, cached: bool, cold_seconds: float) -> dict[str, Any]:
    # A cached build's cold cost is the sum of the step timings its manifest recorded.
    return {"seconds": seconds, "cached": cached, "cold_seconds": cold_seconds}


def answer(proof: Proof, circuit: CircuitArtifacts) -> float:
    manifest = circuit.manifest
    return felt_to_float(proof.instances[manifest.answer_index(0)], manifest.output_scale)


def plan_for(model_path: Path, samples: Sequence[Sequence[float]], count: int) -> SlicingPlan:
    """The plan with the smallest ``max_logrows`` that cuts the model into exactly ``count`` slices."""
    graph = _model_graph(model_path, len(samples[0]))
    for max_logrows in range(RANGE_CHECK_LOGROWS, MAX_LOGROWS + 1):
        plan = SlicingPlan(slices=count, max_logrows=max_logrows)
        try:
            _graph, cuts = plan.layout(graph)
        except SlicePlanError:
            continue
        if len(cuts) + 1 == count:
            return plan
    raise RuntimeError(f"no max_logrows cuts {model_path.name} into exactly {count} slices")


def write_big_feed(folder: Path) -> Path:
    """The too-big model's feed folder: the bench MLP feed, proven as slices of at most BIG_MODEL_MAX_LOGROWS."""
    write_feed(BIG_MODEL, folder)
    with (folder / "feed.toml").open("a") as toml:
        toml.write(f"\n[slicing]\nmax_logrows = {BIG_MODEL_MAX_LOGROWS}\n")
        # Here one machine proves every slice in turn, so the round's observation ages by all their proofs.
        toml.write(f"\n[onchain]\nmax_observation_age_seconds = {BIG_MODEL_OBSERVATION_AGE}\n")
    return folder


def _model_graph(model_path: Path, input_size: int) -> ModelGraph:
    """The graph the planner cuts: the model as the build prepares it."""
    return ModelGraph.load(model_path, onnx_bytes=prepare_model(model_path, input_size=input_size).onnx_bytes)


def describe_plan(model_path: Path, samples: Sequence[Sequence[float]], plan: SlicingPlan) -> list[str]:
    graph, cuts = plan.layout(_model_graph(model_path, len(samples[0])), samples=samples)
    lines = [f"{len(cuts) + 1} slices under max_logrows {plan.max_logrows}"]
    lines += [f"  split: {s.name} ({s.op_type}) in {s.pieces}" for s in graph.splits]
    lines += [
        f"  slice {index}: {' '.join(e.ops)}; ~{e.rows:,} rows, logrows {e.logrows}; in {e.input_width} → out "
        f"{e.output_width}"
        for index, e in enumerate(graph.estimates(cuts))
    ]
    return lines


def run(
    slice_counts: Sequence[int],
    *,
    runs: int,
    out: Path,
    console: Console,
    plan_only: bool = False,
    skip_beyond: bool = False,
) -> dict[str, Any] | None:
    started = time.perf_counter()
    machine = describe_machine()
    workdir = out / "slicing"
    build_root = workdir / "build"
    folder = write_feed(MODEL, workdir / "feed")
    model_path = folder / "model.onnx"
    samples = model_samples(MODEL)
    plans = {count: plan_for(model_path, samples, count) for count in slice_counts}
    for plan in plans.values():
        for line in describe_plan(model_path, samples, plan):
            console.print(line)
    if plan_only:
        return None
    inputs = [round(p, 6) for p in price_window(INPUT_TICK, MODEL.window)]
    log = workdir / "ezkl.log"
    workdir.mkdir(parents=True, exist_ok=True)

    def progress(label: str) -> Any:
        return lambda step: console.print(f"  {label}: {step}")

    with native_stderr_to(log):
        console.print(f"building the whole model {MODEL.window} → {' → '.join(map(str, MODEL.hidden))} → 1")
        whole_build = build_circuit(model_path, samples, build_root=build_root, progress=progress("whole"))
        whole = whole_build.artifacts
        sliced: dict[int, tuple[SlicedCircuit, dict[str, Any]]] = {}
        for count in slice_counts:
            console.print(f"building {count} slices")
            result = build_sliced_circuit(
                model_path, samples, plans[count], build_root=build_root, progress=progress(f"N={count}")
            )
            cold = sum(result.circuit.manifest.timings.values())
            sliced[count] = (result.circuit, build_figures(result.seconds, result.cached, cold))
    whole_cold = sum(whole.manifest.timings.values())
    if whole.manifest.logrows < 18:
        console.print(f"[yellow]the whole model needs only logrows {whole.manifest.logrows}, not ≥ 18[/yellow]")

    float_answer = OnnxModel(model_path).run(inputs)[0]
    configurations: dict[str, Any] = {}
    whole_runs = []
    for number in range(runs):
        console.print(f"proving whole (run {number + 1}/{runs})")
        with native_stderr_to(log):
            finished, wall = prove_at_once([Job(whole, inputs, workdir / "proofs" / "whole")])
        whole_runs.append((finished, wall))
    whole_proof = whole_runs[-1][0][0].proof
    configurations["whole"] = {
        "slices": 1,
        "logrows": [whole.manifest.logrows],
        "circuit_keys": [whole.manifest.key],
        "build": build_figures(whole_build.seconds, whole_build.cached, whole_cold),
        "answer": answer(whole_proof, whole),
        **configuration_figures(whole_runs),
    }
    for count, (circuit, build) in sliced.items():
        with native_stderr_to(log):
            chain, chain_seconds = _timed_chain(circuit, inputs)
        circuits = [piece.circuit for piece in circuit.slices]
        assert all(c is not None for c in circuits)  # every slice is proven: SlicingPlan(slices=N)
        jobs = [
            Job(c, step.inputs, workdir / "proofs" / f"n{count}" / f"slice-{index}")
            for index, (c, step) in enumerate(zip(circuits, chain.steps, strict=True))
            if c is not None
        ]
        config_runs = []
        for number in range(runs):
            console.print(f"proving {count} slices in parallel (run {number + 1}/{runs})")
            with native_stderr_to(log):
                finished, wall = prove_at_once(jobs)
            check_links([job.circuit for job in jobs], [f.proof for f in finished])
            config_runs.append((finished, wall))
        one_by_one = []
        for number in range(runs):
            console.print(f"proving {count} slices one after another (run {number + 1}/{runs})")
            alone = []
            for job in jobs:
                with native_stderr_to(log):
                    finished_alone, wall_alone = prove_at_once([job])
                finished_alone[0].figures["wall_seconds"] = wall_alone
                alone.append((finished_alone, wall_alone))
            check_links([job.circuit for job in jobs], [finished[0].proof for finished, _wall in alone])
            one_by_one.append(([finished[0] for finished, _wall in alone], sum(wall for _finished, wall in alone)))
        last_proof = config_runs[-1][0][-1].proof
        configurations[f"sliced-{count}"] = {
            "slices": count,
            "max_logrows": plans[count].max_logrows,
            "logrows": [c.manifest.logrows for c in circuits if c is not None],
            "circuit_keys": [c.manifest.key for c in circuits if c is not None],
            "estimated_rows": [entry.estimated_cost for entry in circuit.manifest.slices],
            "boundaries": [entry.output_tensor for entry in circuit.manifest.slices[:-1]],
            "scale": circuit.manifest.scale,
            "build": build,
            "chain_seconds": chain_seconds,
            "answer": answer(last_proof, circuit.last),
            **configuration_figures(config_runs),
            # Each slice alone on the machine: no contention between slices, wall is the sum of the processes'.
            "one_after_another": configuration_figures(one_by_one),
        }

    base = configurations["whole"]
    for config in configurations.values():
        config["ratios_to_whole"] = {
            "wall": config["wall_seconds"] / base["wall_seconds"],
            "cpu": config["cpu_seconds"] / base["cpu_seconds"],
            "max_peak_rss": config["max_peak_rss_bytes"] / base["max_peak_rss_bytes"],
            "sum_peak_rss": config["sum_peak_rss_bytes"] / base["max_peak_rss_bytes"],
            "sequential_prove": config["sequential_prove_seconds"] / base["sequential_prove_seconds"],
        }
        if "one_after_another" in config:
            alone = config["one_after_another"]
            config["ratios_to_whole"]["one_after_another"] = {
                "wall": alone["wall_seconds"] / base["wall_seconds"],
                "cpu": alone["cpu_seconds"] / base["cpu_seconds"],
                "max_peak_rss": alone["max_peak_rss_bytes"] / base["max_peak_rss_bytes"],
            }
    whole_gib = base["max_peak_rss_bytes"] / 2**30
    landing = None if skip_beyond else land_beyond_one_machine(workdir, console)
    headline = HEADLINE_SLICES if HEADLINE_SLICES in slice_counts else None
    cores = machine["cpu_count"]
    return {
        "benchmark": "slicing",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine, "load_average_1m_at_end": os.getloadavg()[0]},
        "model": {
            "shape": " → ".join(str(w) for w in (MODEL.window, *MODEL.hidden, 1)),
            "macs": MODEL.macs,
            "input_tick": INPUT_TICK,
            "float_answer": float_answer,
        },
        "runs": runs,
        "total_seconds": time.perf_counter() - started,
        "configurations": configurations,
        # The figures: N slices each proven alone (one prover per slice) against the whole model.
        "ratios": headline_ratios(configurations, headline) if headline is not None else {},
        "ratios_by_slices": {str(count): headline_ratios(configurations, count) for count in slice_counts},
        "beyond_one_machine": beyond_one_machine(
            write_feed(BIG_MODEL, workdir / "big-feed") / "model.onnx",
            whole.manifest.logrows,
            whole_gib,
            configurations,
            memory_gib=machine["memory_gib"],
            landing=landing,
        ),
        "notes": [
            (
                f"{cores} CPU cores. ezkl.prove is multi-threaded, so the whole proof already keeps every core "
                "busy; the N slice provers run side by side on the same cores, so parallel wall time here can only "
                "gain from the slices' smaller circuits (less work in all), not from more cores working at once. "
                "On a machine with at least N times the cores, parallel slices would also gain from parallelism."
            ),
            (
                "wall_seconds: first prover process started → last one ended (interpreter start, key loading, "
                "witness and proof included); cpu_seconds: user + sys of those processes (wait4)."
            ),
            (
                "max_peak_rss_bytes: the largest prover process's VmHWM; sum_peak_rss_bytes: the slices' peaks "
                "added up, an upper bound on what N parallel provers hold together on one machine."
            ),
            (
                "sequential_prove_seconds: bare ezkl.prove seconds added over the slices (what proving them one "
                "after another would cost, less process start-up); measured while they ran in parallel, so on few "
                "cores each is inflated by contention."
            ),
            (
                "Slice inputs come from running the chain first (one gen_witness per slice, chain_seconds, not "
                "in the wall time): a real round pays it before the slices can be proven side by side."
            ),
            (
                "build.cold_seconds of a cached build is the sum of its recorded step timings; the dev SRS of a "
                "logrows is generated once per build root, so builds after the first reuse it."
            ),
            (
                "Load average at start and end is in machine: figures taken on a shared machine under load "
                "are slower and noisier than on an idle one."
            ),
        ],
    }


def headline_ratios(configurations: dict[str, Any], count: int) -> dict[str, float | int]:
    """Sliced over whole for ``count`` slices, each slice proven alone (no slice competing with another)."""
    whole = configurations["whole"]
    config = configurations[f"sliced-{count}"]
    alone = config["one_after_another"]
    return {
        "slices": count,
        "largest_slice_rss": alone["max_peak_rss_bytes"] / whole["max_peak_rss_bytes"],
        "total_cpu": alone["cpu_seconds"] / whole["cpu_seconds"],
        "critical_path": alone["max_process_wall_seconds"] / whole["wall_seconds"],
        "pool_wall": config["wall_seconds"] / whole["wall_seconds"],
    }


def beyond_one_machine(
    model_path: Path,
    whole_logrows: int,
    whole_gib: float,
    configurations: dict[str, Any],
    *,
    memory_gib: float,
    landing: dict[str, Any] | None,
) -> dict[str, Any]:
    """The model too big to prove whole here: what proving it whole would need, from this run's growth, and
    its plan; with ``landing`` (see :func:`land_beyond_one_machine`), the slices as built, proven and landed.

    Peak RSS per logrow comes from this run's own proofs (the slices' logrows and the whole
    model's), fitted as a constant factor per logrow; the model itself is never built whole.
    """
    points = [(whole_logrows, whole_gib)]
    for name, config in configurations.items():
        if name.startswith("sliced-"):
            alone = config["one_after_another"]["runs"][-1]
            points += [(lr, rss / 2**30) for lr, rss in zip(config["logrows"], alone["peak_rss_bytes"], strict=True)]
    growth = _per_logrow_growth(points)
    graph = _model_graph(model_path, BIG_MODEL.window)
    whole_rows = graph.estimates([])[0].rows
    big_logrows = logrows_for(whole_rows)
    split, cuts = SlicingPlan(slices=2, max_logrows=BIG_MODEL_MAX_LOGROWS).layout(graph)
    estimates = split.estimates(cuts)
    planned = {
        "landed": False,
        "model": " → ".join(str(w) for w in (BIG_MODEL.window, *BIG_MODEL.hidden, 1)),
        "macs": BIG_MODEL.macs,
        "whole_estimated_rows": whole_rows,
        "whole_logrows": big_logrows,
        "growth_per_logrow": growth,
        "whole_estimate_gib": whole_gib * growth ** (big_logrows - whole_logrows),
        "machine_memory_gib": memory_gib,
        "slices": len(estimates),
        "max_logrows": BIG_MODEL_MAX_LOGROWS,
        "slice_logrows": [e.logrows for e in estimates],
        "slice_estimate_gib": [whole_gib * growth ** (e.logrows - whole_logrows) for e in estimates],
    }
    return planned if landing is None else {**planned, **landing}


def land_beyond_one_machine(workdir: Path, console: Console) -> dict[str, Any]:
    """Build the too-big model as slices, prove them one at a time for a real node and land its round on Anvil.

    The node ticks once on a fresh Anvil with the example consumer deployed; the round must
    land, and the consumer's fully-proven read must return it.
    """
    spec = load_feed(write_big_feed(workdir / "beyond-feed"))
    console.print(
        f"building the too-big model {BIG_MODEL.window} → {' → '.join(map(str, BIG_MODEL.hidden))} → 1 as slices"
    )
    with native_stderr_to(workdir / "ezkl.log"):
        build = build_feed_circuit(
            spec, build_root=workdir / "build", progress=lambda step: console.print(f"  beyond: {step}")
        )
    circuit = build.circuit
    assert len(circuit.pieces) > 1  # write_big_feed gives the feed its [slicing]
    prover = OneSliceAtATime(workdir / "proofs" / "beyond")
    database = workdir / "beyond.db"
    database.unlink(missing_ok=True)
    store = Store.sqlite(database)
    with AnvilNode(log_path=workdir / "beyond-anvil.log") as anvil:
        w3 = connect(anvil.rpc_url)
        deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, circuit, with_consumer=True)
        node = FeedNode(
            spec,
            circuit,
            store=store,
            w3=w3,
            deployment=deployment,
            prover=prover,
            proofs_dir=workdir / "proofs" / "beyond-rounds",
        )
        console.print(f"proving {len(circuit.pieces)} slices one at a time and landing the round")
        started = time.perf_counter()
        with native_stderr_to(workdir / "ezkl.log"):
            report = node.tick(now=time.time())
        round_seconds = time.perf_counter() - started
        if not report.landed:
            raise RuntimeError(f"the too-big model's round did not land: {report.round.failure_reason}")
        consumer = bind(w3, CONSUMER, str(deployment.consumer_address))
        consumer_answer, consumer_round = consumer.functions.readFullyProven().call()
        proven, total = ZkOracle(w3, deployment.oracle_address).coverage(spec.id, consumer_round)
    if str(consumer_answer) != report.round.expected_answer:
        raise RuntimeError(f"the consumer read {consumer_answer}, the round proved {report.round.expected_answer}")
    proven_slices = [piece.circuit for piece in circuit.pieces if piece.circuit is not None]
    figures = [prover.figures[slice_circuit.manifest.key] for slice_circuit in proven_slices]
    cold = sum(circuit.timings.values())
    return {
        "landed": True,
        "slices": len(circuit.pieces),
        "slice_logrows": [slice_circuit.manifest.logrows for slice_circuit in proven_slices],
        "slice_peak_rss_bytes": [f["peak_rss_bytes"] for f in figures],
        "max_slice_peak_rss_gib": max(f["peak_rss_bytes"] for f in figures) / 2**30,
        "slice_prove_seconds": [f["prove_seconds"] for f in figures],
        "total_prove_seconds": sum(f["prove_seconds"] for f in figures),
        "total_prover_wall_seconds": sum(f["wall_seconds"] for f in figures),
        "total_cpu_seconds": sum(f["cpu_seconds"] for f in figures),
        "round_seconds": round_seconds,
        "submit_gas": report.round.gas_used,
        "onchain_round_id": consumer_round,
        "consumer_answer": consumer_answer,
        "coverage": [proven, total],
        "build": build_figures(build.seconds, build.cached, cold),
    }


def _per_logrow_growth(points: Sequence[tuple[int, float]]) -> float:
    """The factor peak RSS grows by per logrow: a least-squares line through log2(RSS) against logrows."""
    xs = [float(x) for x, _ in points]
    ys = [math.log2(y) for _, y in points]
    if len(set(xs)) < 2:
        return 2.0  # one logrows measured: a row count doubling doubles the polynomials
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    return 2**slope


def _timed_chain(circuit: SlicedCircuit, inputs: Sequence[float]) -> tuple[Any, float]:
    started = time.perf_counter()
    chain = run_chain(circuit.slices, inputs)
    if chain.broken_links():
        raise RuntimeError(f"the chain of sliced circuit {circuit.manifest.key} breaks at {chain.broken_links()}")
    return chain, time.perf_counter() - started


def render(results: dict[str, Any], console: Console) -> None:
    configs = results["configurations"]
    base_wall = configs["whole"]["wall_seconds"]
    table = Table(title=f"slicing benchmark: MLP {results['model']['shape']}, one proof (median of {results['runs']})")
    table.add_column("measure")
    for name in configs:
        table.add_column(name, justify="right")

    def row(label: str, fmt: Any) -> None:
        table.add_row(label, *(fmt(c) for c in configs.values()))

    def mib(value: float) -> str:
        return f"{value / 2**20:,.0f}"

    row("logrows", lambda c: " / ".join(map(str, c["logrows"])))
    row(
        "build, cold (s)", lambda c: f"{c['build']['cold_seconds']:.0f}" + (" (cached)" if c["build"]["cached"] else "")
    )
    row("wall, parallel (s)", lambda c: f"{c['wall_seconds']:.1f}")
    row("CPU, user+sys (s)", lambda c: f"{c['cpu_seconds']:.1f}")
    row("bare prove per slice (s)", lambda c: " / ".join(f"{s:.1f}" for s in c["runs"][-1]["prove_seconds"]))
    row("sum of bare proves (s)", lambda c: f"{c['sequential_prove_seconds']:.1f}")
    row("wall, one after another (s)", lambda c: _alone(c, lambda a: f"{a['wall_seconds']:.1f}"))
    row("CPU, one after another (s)", lambda c: _alone(c, lambda a: f"{a['cpu_seconds']:.1f}"))
    row(
        "bare prove alone per slice (s)",
        lambda c: _alone(c, lambda a: " / ".join(f"{s:.1f}" for s in a["runs"][-1]["prove_seconds"])),
    )
    row("max peak RSS (MiB)", lambda c: mib(c["max_peak_rss_bytes"]))
    row("sum of peak RSS (MiB)", lambda c: mib(c["sum_peak_rss_bytes"]))
    row("wall / whole", lambda c: f"{c['ratios_to_whole']['wall']:.2f}×")
    row("CPU / whole", lambda c: f"{c['ratios_to_whole']['cpu']:.2f}×")
    row("max peak RSS / whole", lambda c: f"{c['ratios_to_whole']['max_peak_rss']:.2f}×")
    row("sum peak RSS / whole", lambda c: f"{c['ratios_to_whole']['sum_peak_rss']:.2f}×")
    row("one after another: wall / whole", lambda c: _alone(c, lambda a: f"{a['wall_seconds'] / base_wall:.2f}×"))
    row("proven answer", lambda c: f"{c['answer']:.4f}")
    console.print(table)
    machine = results["machine"]
    console.print(
        f"{machine['cpu_model']}, {machine['cpu_count']} CPUs, {machine['memory_gib']} GiB (load "
        f"{machine['load_average_1m_at_start']:.2f} at start, {machine['load_average_1m_at_end']:.2f} at end); "
        f"float model answer {results['model']['float_answer']:.4f}; {results['total_seconds']:.0f} s in all"
    )
    render_beyond(results["beyond_one_machine"], console)


def render_beyond(beyond: dict[str, Any], console: Console) -> None:
    console.print(
        f"too big for one machine: MLP {beyond['model']}, whole logrows {beyond['whole_logrows']}, estimated "
        f"{beyond['whole_estimate_gib']:.1f} GiB to prove whole against {beyond['machine_memory_gib']} GiB here"
    )
    if not beyond["landed"]:
        console.print(f"  planned as {beyond['slices']} slices of logrows {beyond['slice_logrows']}; not built")
        return
    console.print(
        f"  landed as {beyond['slices']} slices (logrows {', '.join(map(str, beyond['slice_logrows']))}), each at "
        f"most {beyond['max_slice_peak_rss_gib']:.2f} GiB peak RSS; {beyond['total_prove_seconds']:.0f} s of proving "
        f"in all, submit gas {beyond['submit_gas']:,}; the consumer read round {beyond['onchain_round_id']} "
        f"(coverage {beyond['coverage'][0]}/{beyond['coverage'][1]})"
    )


def _alone(config: dict[str, Any], fmt: Any) -> str:
    return fmt(config["one_after_another"]) if "one_after_another" in config else "–"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.slicing", description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, nargs="+", default=[4, 5], help="slice counts to compare (default 4 5)")
    parser.add_argument("--runs", type=int, default=1, help="proofs per configuration (default 1; medians)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"writes slicing.json and slicing/ there (default {DEFAULT_OUT})"
    )
    parser.add_argument("--plan-only", action="store_true", help="print each slice count's plan and build nothing")
    parser.add_argument(
        "--skip-beyond",
        action="store_true",
        help="only plan the too-big model and estimate it whole (its build alone takes most of an hour)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or any(count < 2 for count in args.slices):
        parser.error("--runs must be at least 1 and every slice count at least 2")
    args.slices = sorted(set(args.slices))
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    results = run(
        args.slices,
        runs=args.runs,
        out=args.out,
        console=console,
        plan_only=args.plan_only,
        skip_beyond=args.skip_beyond,
    )
    if results is None:
        return
    render(results, console)
    write_results(results, args.out / "slicing.json", console)
    plot = args.out / "slicing.png"
    plot_slicing(results["ratios_by_slices"], plot)
    console.print(f"plot: {plot}")


if __name__ == "__main__":
    main()
