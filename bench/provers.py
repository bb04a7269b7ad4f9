"""Rounds per minute of the demo feed with 1, 2 and 3 prover processes, as ratios to one prover,
and a remote proof's time against a local one's (:mod:`bench.remote_vs_local`).

Run from the repository root::

    python -m bench.provers [--rounds N] [--compare-rounds M] [--part all|scaling|remote-vs-local] [--out PATH]

Each prover is a real ``zkoracle prover serve`` process on 127.0.0.1 with its own
hotkey; the node signs its requests with its own. Two ways of using n provers are
measured, each after an untimed warm-up that sends the circuit's recipe (the provers derive its keys).
They are started as an operator starts one, through the ``zkoracle`` console script:
how the process was started decides what its proving workers import.

- ``hedged``: what ``zkoracle run`` does for one feed. Rounds run one after another
  (fetch, infer, prove, verify, post on a real Anvil, read back), each sent to all n
  provers; the first acceptable proof wins, the others are cancelled.
- ``spread``: n rounds of the feed in flight at once (proven and checked, not posted:
  ZkOracle takes one feed's rounds in order), each sent to one prover, the least
  busy first; inputs are the feed's samples.

A round that gets no remote proof fails (there is no local fallback here), so every
counted round was proven by the network. Ratios are rounds per minute over the
same mode's rate with one prover, from the same run. ``ratios.remote_over_local`` is the
median remote prove time over the median local one, from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bittensor.keyfiles import Keypair
from rich.console import Console
from rich.table import Table

from bench import remote_vs_local
from bench.skeleton import machine_info, until_healthy, write_results
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode, free_port
from oracle.evm.chains import connect
from oracle.exceptions import ProverError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec, TriggerSpec
from oracle.node import FeedNode
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.provers import Proof
from oracle.provers.discovery import StaticDiscovery
from oracle.provers.dispatch import NetworkProver
from oracle.provers.factory import PipelineAcceptance
from oracle.provers.identity import load_hotkey
from oracle.provers.pool import PoolProver
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver
from oracle.provers.scoring import Scoreboard
from oracle.store import RoundStatus, Store

DEMO_FEED = PROJECT_ROOT / "feeds" / "demo"
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "provers.json"
PROVER_COUNTS = (1, 2, 3)
TIMEOUT_SECONDS = 300.0
PARTS = ("all", "scaling", "remote-vs-local")
# The installed ``zkoracle`` script, written out: the installed one imports whichever checkout is installed.
CONSOLE_SCRIPT = "import sys\nfrom oracle.cli import app\nif __name__ == '__main__':\n    sys.exit(app())\n"


class NoFallback:
    """Counts a round the network did not prove as failed, instead of proving it here."""

    name = "no-fallback"

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        raise ProverError("no remote prover delivered an acceptable proof")


@dataclass(frozen=True)
class Measured:
    provers: int
    rounds: int
    succeeded: int
    seconds: float
    prove_seconds: list[float]

    @property
    def rounds_per_minute(self) -> float:
        return 60.0 * self.succeeded / self.seconds


@contextmanager
def prover_processes(
    count: int, *, workdir: Path, wallets: Path, node: Keypair, prefix: str = "prover"
) -> Iterator[list[ProverEndpoint]]:
    """``count`` prover processes, each with its own hotkey, port and recipe cache; stopped on exit."""
    script = workdir / "zkoracle"
    script.write_text(CONSOLE_SCRIPT)
    with ExitStack() as stack:
        endpoints = []
        for index in range(count):
            name, port = f"{prefix}{index}", free_port()
            hotkey = load_hotkey(f"bench/{name}", path=wallets, create=True)
            log = stack.enter_context((workdir / f"{name}.log").open("wb"))
            process = subprocess.Popen(
                [sys.executable, str(script), "prover", "serve", "--port", str(port), "--wallet", f"bench/{name}"]
                + ["--wallet-path", str(wallets), "--cache-dir", str(workdir / name), "--allow", node.ss58_address],
                cwd=PROJECT_ROOT,
                env={**os.environ, "ZKORACLE_HOME": str(workdir / name), "PYTHONPATH": str(PROJECT_ROOT)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, process)
            endpoints.append(ProverEndpoint(hotkey=hotkey.ss58_address, url=f"http://127.0.0.1:{port}"))
        asyncio.run(_until_healthy(endpoints, node))
        yield endpoints


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _until_healthy(endpoints: Sequence[ProverEndpoint], node: Keypair, *, within: float = 180.0) -> None:
    await asyncio.gather(
        *(until_healthy(RemoteProver(e, signer=node, recipes=NodeRecipes()), within=within) for e in endpoints)
    )


def network(
    endpoints: Sequence[ProverEndpoint], *, redundancy: int, store: Store, node: Keypair, spec: FeedSpec
) -> NetworkProver:
    return NetworkProver(
        discovery=StaticDiscovery(endpoints),
        scoreboard=Scoreboard(store),
        signer=node,
        accept=PipelineAcceptance(spec),
        fallback=NoFallback(),
        redundancy=redundancy,
        timeout=TIMEOUT_SECONDS,
    )


def measure_hedged(
    endpoints: Sequence[ProverEndpoint],
    *,
    rounds: int,
    spec: FeedSpec,
    circuit: CircuitArtifacts,
    rpc_url: str,
    node: Keypair,
    workdir: Path,
) -> Measured:
    store = Store.sqlite(workdir / f"hedged-{len(endpoints)}.db")
    w3 = connect(rpc_url)
    feed = FeedNode(
        spec,
        FeedCircuit.whole(circuit),
        store=store,
        w3=w3,
        deployment=ensure_deployment(store, w3, rpc_url, spec, FeedCircuit.whole(circuit)),
        prover=network(endpoints, redundancy=len(endpoints), store=store, node=node, spec=spec),
        proofs_dir=workdir / "proofs",
    )
    feed.tick()  # warm-up: every prover receives the recipe and derives the keys
    started = time.perf_counter()
    reports = [feed.tick() for _ in range(rounds)]
    seconds = time.perf_counter() - started
    landed = [r.round for r in reports if r.round.status is RoundStatus.LANDED]
    return Measured(len(endpoints), rounds, len(landed), seconds, [float(r.prove_seconds or 0.0) for r in landed])


def measure_spread(
    endpoints: Sequence[ProverEndpoint],
    *,
    rounds: int,
    spec: FeedSpec,
    circuit: CircuitArtifacts,
    node: Keypair,
    workdir: Path,
) -> Measured:
    store = Store.sqlite(workdir / f"spread-{len(endpoints)}.db")
    prover = network(endpoints, redundancy=1, store=store, node=node, spec=spec)
    samples, now = spec.load_samples(), int(time.time())
    inputs = [spec.model_input(samples[i % len(samples)], observed_at=now) for i in range(rounds + len(endpoints))]
    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        list(pool.map(lambda values: prover.prove(circuit, values), inputs[: len(endpoints)]))  # warm-up
        started = time.perf_counter()
        outcomes = list(pool.map(lambda values: _proven(prover, circuit, values), inputs[len(endpoints) :]))
        seconds = time.perf_counter() - started
    proofs = [proof for proof in outcomes if proof is not None]
    return Measured(len(endpoints), rounds, len(proofs), seconds, [proof.prove_seconds for proof in proofs])


def _proven(prover: NetworkProver, circuit: CircuitArtifacts, inputs: list[float]) -> Proof | None:
    try:
        return prover.prove(circuit, inputs)
    except ProverError:
        return None


def run(rounds: int, *, compare_rounds: int, part: str = "all") -> dict[str, Any]:
    machine = machine_info()
    # Every tick becomes a round: the demo feed's deviation trigger would skip some.
    spec = load_feed(DEMO_FEED).model_copy(update={"trigger": TriggerSpec()})
    circuit = build_circuit(spec.model_path, spec.model_samples(), build_root=build_dir()).artifacts
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="zkoracle-bench-provers-") as tmp,
        AnvilNode(log_path=Path(tmp) / "anvil.log") as anvil,
    ):
        workdir = Path(tmp)
        wallets = workdir / "wallets"
        node = load_hotkey("bench/node", path=wallets, create=True)
        if part in ("all", "remote-vs-local"):
            results.update(
                measure_remote_vs_local(compare_rounds, spec=spec, circuit=circuit, node=node, workdir=workdir)
            )
        if part in ("all", "scaling"):
            results.update(measure_scaling(rounds, spec=spec, circuit=circuit, node=node, workdir=workdir, anvil=anvil))
    return {
        "benchmark": "provers",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "feed": spec.id,
        "circuit": circuit.manifest.key,
        "rounds_per_measure": rounds,
        # Provers share this machine's cores with the node (and anything else running): see the load.
        "load_average_1m_at_end": os.getloadavg()[0],
        **results,
    }


def measure_remote_vs_local(
    rounds: int, *, spec: FeedSpec, circuit: CircuitArtifacts, node: Keypair, workdir: Path
) -> dict[str, Any]:
    """One fresh prover: the bytes it is sent before its first proof, then remote rounds alternated with local ones."""
    with prover_processes(1, workdir=workdir, wallets=workdir / "wallets", node=node, prefix="solo") as endpoints:
        first_inputs = spec.model_input(spec.load_samples()[0], observed_at=int(time.time()))
        sent = remote_vs_local.bytes_to_new_prover(endpoints[0], node=node, circuit=circuit, inputs=first_inputs)
        store = Store.sqlite(workdir / "remote-vs-local.db")
        local = PoolProver(workers=1)  # what policy = "local" proves with, for a feed of one slice
        try:
            remote = network(endpoints, redundancy=1, store=store, node=node, spec=spec)
            compared = remote_vs_local.measure(local=local, remote=remote, rounds=rounds, spec=spec, circuit=circuit)
        finally:
            local.close()
    return {
        "remote_vs_local": compared,
        "ratios": {
            "remote_over_local": compared["remote_over_local"],
            "recorded_remote_over_local": compared["recorded_remote_over_local"],
        },
        "bytes_to_new_prover": sent,
    }


def measure_scaling(
    rounds: int, *, spec: FeedSpec, circuit: CircuitArtifacts, node: Keypair, workdir: Path, anvil: AnvilNode
) -> dict[str, Any]:
    results: dict[str, list[Measured]] = {"hedged": [], "spread": []}
    with prover_processes(max(PROVER_COUNTS), workdir=workdir, wallets=workdir / "wallets", node=node) as endpoints:
        for count in PROVER_COUNTS:
            chosen = endpoints[:count]
            results["hedged"].append(
                measure_hedged(
                    chosen, rounds=rounds, spec=spec, circuit=circuit, rpc_url=anvil.rpc_url, node=node, workdir=workdir
                )
            )
            results["spread"].append(
                measure_spread(chosen, rounds=rounds, spec=spec, circuit=circuit, node=node, workdir=workdir)
            )
    return {mode: _summarise(measured) for mode, measured in results.items()}


def _summarise(measured: list[Measured]) -> list[dict[str, Any]]:
    base = measured[0].rounds_per_minute
    return [
        {
            "provers": m.provers,
            "rounds": m.rounds,
            "succeeded": m.succeeded,
            "seconds": round(m.seconds, 3),
            "rounds_per_minute": round(m.rounds_per_minute, 3),
            "ratio_to_one_prover": round(m.rounds_per_minute / base, 3) if base else None,
            "prove_seconds": [round(s, 3) for s in m.prove_seconds],
        }
        for m in measured
    ]


def render(results: dict[str, Any], console: Console) -> None:
    if "remote_vs_local" in results:
        for line in remote_vs_local.render_lines(results["remote_vs_local"], results["bytes_to_new_prover"]):
            console.print(line)
    if "hedged" not in results:
        return
    table = Table(title=f"prover network: feed '{results['feed']}', {results['rounds_per_measure']} rounds per measure")
    for column in ("mode", "provers", "succeeded", "seconds", "rounds/min", "ratio to 1 prover"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode in ("hedged", "spread"):
        for row in results.get(mode, []):
            ratio = row["ratio_to_one_prover"]
            table.add_row(
                mode,
                str(row["provers"]),
                f"{row['succeeded']}/{row['rounds']}",
                f"{row['seconds']:.1f}",
                f"{row['rounds_per_minute']:.2f}",
                f"{ratio:.2f}" if ratio is not None else "-",
            )
    console.print(table)


def render_machine(results: dict[str, Any], console: Console) -> None:
    machine = results["machine"]
    console.print(
        f"{machine['cpu_count']} CPUs (load {machine['load_average_1m_at_start']:.2f} at start, "
        f"{results['load_average_1m_at_end']:.2f} at end), {machine['platform']}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.provers", description="Rounds per minute with 1-3 provers; remote vs local proving."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results file (default {DEFAULT_OUT})")
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds per measure (default 6)")
    parser.add_argument(
        "--compare-rounds", type=int, default=8, help="timed rounds each way, remote vs local (default 8)"
    )
    parser.add_argument(
        "--part", choices=PARTS, default="all", help="scaling with 1-3 provers, remote vs local, or both (default)"
    )
    args = parser.parse_args(argv)
    if min(args.rounds, args.compare_rounds) < 1:
        parser.error("--rounds and --compare-rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    with console.status("running the prover network benchmark (prover processes, Anvil)..."):
        results = run(args.rounds, compare_rounds=args.compare_rounds, part=args.part)
    render(results, console)
    render_machine(results, console)
    write_results(results, args.out, console)


if __name__ == "__main__":
    main()
