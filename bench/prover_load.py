"""Several nodes, several feeds each, two small provers, one of them killed mid-proof: does every round land once?

Run from the repository root::

    python -m bench.prover_load [--nodes 3] [--feeds 2] [--rounds 6] [--out PATH]

Everything is a real process on 127.0.0.1: one Anvil, two ``zkoracle prover serve`` (one
worker and no queue each, so a second job at the same time is answered 429), and
``--nodes`` ``zkoracle run`` processes, each with its own hotkey, store, deployer and
relayer accounts (Anvil's funded ones) and ``--feeds`` copies of the demo feed (one
model, so one circuit build) posting every tick, proven by the network of both provers
(one prover per round, so a busy answer has to be taken to the other). Each node stops
after ``--rounds`` rounds (its feeds together).

Once prover ``a`` holds a job (its signed ``/capacity`` says one is running), its whole
process group is SIGKILLed, as a machine dying would end it, and it is started again on
the same port with the same cache folder. Memory is sampled from /proc every
``SAMPLE_SECONDS``: each service's process tree (its proving children included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bittensor.keyfiles import Keypair
from rich.console import Console

from bench.skeleton import demo_feed_copies, demo_feed_template, machine_info, until_healthy, write_results
from bench.soak import process_tree
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode, free_port
from oracle.evm.chains import connect
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.provers.identity import load_hotkey
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver
from oracle.provers.wire import Capacity
from oracle.store import RoundStatus, Store
from oracle.store.provers import load_prover_records

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "prover_load.json"
PROVERS = ("a", "b")
VICTIM = "a"
SAMPLE_SECONDS = 0.25
# A service's memory bound: its process tree's RSS summed at one instant (pages shared with forked
# children counted twice, so it errs high). Nothing in zkoracle configures a memory limit, so the bound
# is what the parts need, measured here (bench/results/prover_load.json): a prover or node process with
# EZKL, bittensor and web3 imported ~0.35 GB, a proving child ~0.35 GB (one demo proof; FIELD-NOTES
# has 0.35-0.7 GB). A prover runs one proof at a time (peak 0.64 GB); a node proves only when the
# network fails a round, at most one proof per feed at once (two feeds: ~1.05 GB). 1.5 GiB holds
# that with room, and fails anything that grows with the rounds.
PROVER_MEMORY_BOUND_MIB = 1536
NODE_MEMORY_BOUND_MIB = 1536
START_TIMEOUT_SECONDS = 60.0
# The nodes build (cached), deploy and prove their rounds through 2 shared cores.
RUN_TIMEOUT_SECONDS = 900.0
KILL_WAIT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 30.0
# Long enough for a round that waited out the network timeout and was then proven locally: the demo's
# 120 s would expire rounds on a loaded box.
MAX_OBSERVATION_AGE_SECONDS = 900


@dataclass(frozen=True)
class LoadShape:
    nodes: int = 3
    feeds: int = 2  # per node
    rounds: int = 6  # per node, its feeds together
    kill: bool = True
    # A round's whole time with the network before it is proven locally: busy provers are waited for within it.
    network_timeout: float = 240.0


@dataclass
class Service:
    """A process we started, in a session of its own so that its whole group (its children) can be signalled."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    peak_tree_mib: float = 0.0
    peak_process_hwm_mib: float = 0.0  # the largest VmHWM of any one process of its tree

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL to its whole process group, children included; reaped."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


@dataclass
class Prover:
    service: Service
    hotkey: str
    port: int
    cache: Path

    @property
    def endpoint(self) -> ProverEndpoint:
        return ProverEndpoint(hotkey=self.hotkey, url=f"http://127.0.0.1:{self.port}")


@dataclass
class Node:
    service: Service
    index: int
    hotkey: str
    db: Path
    feeds: list[str]


@dataclass
class Kill:
    """What the victim held when it was killed, and what it had after its restart."""

    at_seconds: float
    running: int
    busy_answers_before: int
    recipes_before: list[str]
    recipes_after_restart: list[str] = field(default_factory=list)
    restarted_at_seconds: float = 0.0


class MemorySampler:
    """Every ``SAMPLE_SECONDS``, each service's tree RSS (summed) and its processes' high-water marks."""

    def __init__(self, services: list[Service]) -> None:
        self._services = services
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            for service in self._services:
                if service.process is None or service.process.poll() is not None:
                    continue
                figures = [_status_kib(pid) for pid in process_tree(service.pid)]
                service.peak_tree_mib = max(service.peak_tree_mib, sum(rss for rss, _ in figures) / 1024)
                service.peak_process_hwm_mib = max(
                    service.peak_process_hwm_mib, max((hwm for _, hwm in figures), default=0) / 1024
                )


def _status_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; zeros when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    return int(values.get("VmRSS", 0)), int(values.get("VmHWM", 0))


def write_feeds(
    root: Path, node: int, count: int, provers: list[ProverEndpoint], *, network_timeout: float
) -> list[Path]:
    """``count`` copies of the demo feed (ids load-<node>-<n>) posting every tick, proven by ``provers``."""
    substitutions = {
        r"(?m)^interval_seconds = .*$": "interval_seconds = 1",
        r"(?ms)^\[trigger\]\n.*?(?=^\[|\Z)": "",  # no trigger: every tick posts
        r"(?m)^max_observation_age_seconds = .*$": f"max_observation_age_seconds = {MAX_OBSERVATION_AGE_SECONDS}",
    }
    # One prover per round: a busy one must be taken to the other, not raced beside it.
    template = demo_feed_template(substitutions, bench="bench.prover_load")
    template += f'\n[prover]\npolicy = "network"\nredundancy = 1\ntimeout_seconds = {network_timeout:g}\n' + "".join(
        f'\n[[prover.provers]]\nhotkey = "{p.hotkey}"\nurl = "{p.url}"\n' for p in provers
    )
    return demo_feed_copies(root, template, [f"load-{node}-{index}" for index in range(1, count + 1)])


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "ZKORACLE_HOME": str(home), "ZKORACLE_BUILD_DIR": str(build_dir()), "COLUMNS": "400"}


def _prover(workdir: Path, wallets: Path, name: str, allowed: list[str]) -> Prover:
    port = free_port()
    cache = workdir / f"prover-{name}" / "recipes"
    command = [
        *(sys.executable, "-m", "oracle", "prover", "serve"),
        *("--port", str(port), "--workers", "1", "--queue", "0", "--cache-dir", str(cache)),
        *("--wallet", f"load/prover-{name}", "--wallet-path", str(wallets)),
        *(arg for hotkey in allowed for arg in ("--allow", hotkey)),
    ]
    service = Service(f"prover-{name}", command, _env(workdir / f"prover-{name}"), workdir / f"prover-{name}.log")
    hotkey = load_hotkey(f"load/prover-{name}", path=wallets, create=True).ss58_address
    return Prover(service=service, hotkey=hotkey, port=port, cache=cache)


def _node(workdir: Path, wallets: Path, index: int, shape: LoadShape, rpc_url: str, provers: list[Prover]) -> Node:
    home = workdir / f"node-{index}"
    feeds = write_feeds(
        workdir / "feeds", index, shape.feeds, [p.endpoint for p in provers], network_timeout=shape.network_timeout
    )
    db = home / "node.db"
    hotkey = load_hotkey(f"load/node-{index}", path=wallets, create=True).ss58_address
    # Anvil's accounts 2.. : two per node, so no two processes share a nonce sequence.
    deployer, relayer = dev_account(2 + 2 * index), dev_account(3 + 2 * index)
    env = {
        **_env(home),
        "ZKORACLE_HOTKEY": f"load/node-{index}",
        "ZKORACLE_WALLET_PATH": str(wallets),
        "ZKORACLE_DEPLOYER_KEY": deployer.key.hex(),
        "ZKORACLE_RELAYER_KEY": relayer.key.hex(),
    }
    command = [
        *(sys.executable, "-m", "oracle", "--verbose", "run", *map(str, feeds)),
        *("--rounds", str(shape.rounds), "--rpc-url", rpc_url, "--db", f"sqlite:///{db}"),
    ]
    home.mkdir(parents=True, exist_ok=True)
    service = Service(f"node-{index}", command, env, workdir / f"node-{index}.log")
    return Node(service=service, index=index, hotkey=hotkey, db=db, feeds=[f.name for f in feeds])


async def _capacity(prover: Prover, observer: Keypair, client: httpx.AsyncClient) -> Capacity:
    return await RemoteProver(prover.endpoint, signer=observer, recipes=NodeRecipes()).capacity(client)


def capacity(prover: Prover, observer: Keypair) -> Capacity:
    async def once() -> Capacity:
        async with httpx.AsyncClient(timeout=10.0) as client:
            return await _capacity(prover, observer, client)

    return asyncio.run(once())


def wait_healthy(prover: Prover, observer: Keypair) -> None:
    def exited() -> str | None:
        process = prover.service.process
        if process is None or process.poll() is None:
            return None
        return f"{prover.service.name} exited:\n{prover.service.log.read_text()[-4000:]}"

    remote = RemoteProver(prover.endpoint, signer=observer, recipes=NodeRecipes())
    asyncio.run(until_healthy(remote, within=START_TIMEOUT_SECONDS, exited=exited))


def kill_mid_proof(victim: Prover, observer: Keypair, nodes: list[Node], started: float) -> Kill:
    """Wait until the victim runs a proof, SIGKILL its process group, start it again on its port and cache."""
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while True:
        if all(node.service.process is not None and node.service.process.poll() is not None for node in nodes):
            raise RuntimeError(f"every node finished before {victim.service.name} was seen proving")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{victim.service.name} held no job within {KILL_WAIT_SECONDS:.0f}s")
        held = capacity(victim, observer)
        if held.running:
            break
        time.sleep(0.1)
    victim.service.kill()
    kill = Kill(
        at_seconds=round(time.time() - started, 1),
        running=held.running,
        busy_answers_before=held.busy_answers,
        recipes_before=held.recipes,
    )
    victim.service.start()
    wait_healthy(victim, observer)
    kill.restarted_at_seconds = round(time.time() - started, 1)
    kill.recipes_after_restart = capacity(victim, observer).recipes
    return kill


def wait_nodes(nodes: list[Node]) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    for node in nodes:
        assert node.service.process is not None
        try:
            node.service.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{node.service.name} did not finish in {RUN_TIMEOUT_SECONDS:.0f}s") from None


def node_report(node: Node, rpc_url: str, hotkeys: dict[str, str]) -> dict[str, Any]:
    """The node's rounds per feed (from its store) against the chain's round counter, and its provers' records."""
    store = Store(f"sqlite:///{node.db}")
    w3 = connect(rpc_url)
    feeds: dict[str, Any] = {}
    for feed in node.feeds:
        rows = store.rounds(feed_id=feed)
        landed = [row for row in rows if row.status is RoundStatus.LANDED]
        deployments = {row.deployment_id for row in rows}
        on_chain = 0
        if deployments:
            (deployment,) = deployments
            latest = ZkOracle(w3, store.deployment(deployment).oracle_address).latest_round_id(feed)
            on_chain = 0 if latest is None else latest.n
        feeds[feed] = {
            "rounds": len(rows),
            "status": dict(Counter(row.status.value for row in rows)),
            "failures": sorted({f"{row.failure_kind}: {row.failure_reason}" for row in rows if row.failure_reason}),
            "landed": len(landed),
            "on_chain": on_chain,
            "onchain_round_numbers": sorted(RoundId.decode(int(str(row.onchain_round_id))).n for row in landed),
            "distinct_tx": len({row.tx_hash for row in landed}),
            "proven_by": dict(Counter(hotkeys.get(str(row.prover), str(row.prover)) for row in rows)),
        }
    records = {
        hotkeys.get(record.hotkey, record.hotkey): {
            "valid": record.valid,
            "invalid": record.invalid,
            "failed": record.failed,
            "lost": record.lost,
        }
        for record in load_prover_records(store)
    }
    return {
        "exit_code": node.service.process.returncode if node.service.process else None,
        "feeds": feeds,
        "prover_records": records,
        "peak_tree_rss_mib": round(node.service.peak_tree_mib, 1),
        "peak_process_hwm_mib": round(node.service.peak_process_hwm_mib, 1),
    }


def run_load(shape: LoadShape, *, rpc_url: str, workdir: Path, console: Console | None = None) -> dict[str, Any]:
    """The load run against the chain at ``rpc_url``; every figure the acceptance checks, as data."""
    say = console.print if console else (lambda *_: None)
    wallets = workdir / "wallets"
    observer = load_hotkey("load/observer", path=wallets, create=True)
    node_hotkeys = [load_hotkey(f"load/node-{i}", path=wallets, create=True).ss58_address for i in range(shape.nodes)]
    allowed = [*node_hotkeys, observer.ss58_address]
    provers = {name: _prover(workdir, wallets, name, allowed) for name in PROVERS}
    nodes = [_node(workdir, wallets, i, shape, rpc_url, list(provers.values())) for i in range(shape.nodes)]
    services = [p.service for p in provers.values()] + [n.service for n in nodes]
    hotkeys = {p.hotkey: f"prover-{name}" for name, p in provers.items()}
    started = time.time()
    kill: Kill | None = None
    with ExitStack() as stack:
        for service in services:
            stack.callback(service.stop)
        stack.enter_context(MemorySampler(services))
        for prover in provers.values():
            prover.service.start()
        for prover in provers.values():
            wait_healthy(prover, observer)
        say(f"provers up after {time.time() - started:.1f}s; starting {shape.nodes} node(s)")
        for node in nodes:
            node.service.start()
        if shape.kill:
            kill = kill_mid_proof(provers[VICTIM], observer, nodes, started)
            say(
                f"prover-{VICTIM} killed at {kill.at_seconds}s holding {kill.running} job(s), back at "
                f"{kill.restarted_at_seconds}s with {len(kill.recipes_after_restart)} recipe(s) cached"
            )
        wait_nodes(nodes)
        finished = time.time()
        capacities = {name: capacity(p, observer) for name, p in provers.items()}
    busy_answers = {name: c.busy_answers for name, c in capacities.items()}
    if kill is not None:
        busy_answers[VICTIM] += kill.busy_answers_before  # its counter restarted with it
    return {
        "benchmark": "prover_load",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "setup": {
            "nodes": shape.nodes,
            "feeds_per_node": shape.feeds,
            "rounds_per_node": shape.rounds,
            "provers": {name: {"workers": 1, "queue": 0} for name in PROVERS},
            "redundancy": 1,
            "network_timeout_seconds": shape.network_timeout,
            "kill": shape.kill,
            "memory_bound_mib": {"prover": PROVER_MEMORY_BOUND_MIB, "node": NODE_MEMORY_BOUND_MIB},
        },
        "seconds": round(finished - started, 1),
        "kill": None if kill is None else kill.__dict__,
        "provers": {
            name: {
                "hotkey": p.hotkey,
                "busy_answers": busy_answers[name],
                "recent_prove_seconds": capacities[name].recent_prove_seconds,
                "peak_tree_rss_mib": round(p.service.peak_tree_mib, 1),
                "peak_process_hwm_mib": round(p.service.peak_process_hwm_mib, 1),
            }
            for name, p in provers.items()
        },
        "nodes": {f"node-{n.index}": node_report(n, rpc_url, hotkeys) for n in nodes},
    }


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The figures the acceptance reads, totalled over nodes and feeds."""
    feeds = [feed for node in results["nodes"].values() for feed in node["feeds"].values()]
    proven_by: Counter[str] = Counter()
    for feed in feeds:
        proven_by.update(feed["proven_by"])
    records = [record for node in results["nodes"].values() for record in node["prover_records"].values()]
    return {
        "rounds": sum(feed["rounds"] for feed in feeds),
        "landed": sum(feed["landed"] for feed in feeds),
        "on_chain": sum(feed["on_chain"] for feed in feeds),
        "landed_twice_or_missing": sum(
            feed["onchain_round_numbers"] != list(range(1, feed["on_chain"] + 1))
            or feed["distinct_tx"] != feed["landed"]
            for feed in feeds
        ),
        "proven_by": dict(proven_by),
        "busy_answers": sum(prover["busy_answers"] for prover in results["provers"].values()),
        "failed_requests": sum(record["failed"] for record in records),
        "invalid_proofs": sum(record["invalid"] for record in records),
        "peak_tree_rss_mib": {
            "provers": max(prover["peak_tree_rss_mib"] for prover in results["provers"].values()),
            "nodes": max(node["peak_tree_rss_mib"] for node in results["nodes"].values()),
        },
        "node_exit_codes": [node["exit_code"] for node in results["nodes"].values()],
    }


@contextmanager
def _kept(workdir: Path, out: Path) -> Iterator[None]:
    """The services' logs copied next to the results, whatever happens."""
    try:
        yield
    finally:
        logs = out.with_suffix(".logs")
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True, exist_ok=True)
        for log in workdir.glob("*.log"):
            shutil.copyfile(log, logs / log.name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=LoadShape.nodes)
    parser.add_argument("--feeds", type=int, default=LoadShape.feeds, help="feeds per node")
    parser.add_argument("--rounds", type=int, default=LoadShape.rounds, help="rounds per node, its feeds together")
    parser.add_argument("--no-kill", action="store_true", help="leave both provers alive")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    args = parser.parse_args(argv)
    console = Console()
    machine = machine_info()
    shape = LoadShape(nodes=args.nodes, feeds=args.feeds, rounds=args.rounds, kill=not args.no_kill)
    with tempfile.TemporaryDirectory(prefix="zkoracle-load-") as folder, _kept(Path(folder), args.out):
        workdir = Path(folder)
        with AnvilNode(log_path=workdir / "anvil.log") as anvil:
            results = run_load(shape, rpc_url=anvil.rpc_url, workdir=workdir, console=console)
    results["summary"] = summary(results)
    results["machine"] = machine
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    console.print(results["summary"])
    write_results(results, args.out, console)


if __name__ == "__main__":
    main()
