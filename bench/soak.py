"""Prove once, post everywhere, for a while: several feeds posting to two chains from one node.

Run from the repository root::

    python -m bench.soak [--minutes 10] [--feeds 8] [--out PATH]

Two fresh Anvil chains (ids 31337 and 1337, both dev chains, so dev keys and the dev SRS
work on each) and one ``zkoracle run`` process running ``--feeds`` copies of the demo feed
(one model, so one circuit build), each with a ``[chains.a]`` and a ``[chains.b]`` target.
The feeds post on their heartbeat only (the deviation trigger is set out of reach), so the
rounds due are known in advance. Every ``SAMPLE_SECONDS`` the node's memory (its process
and its prover workers) and each chain's relayer queue (rounds proven or sent, not landed)
are sampled; at the end the node is stopped with SIGINT, as Ctrl-C would.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.skeleton import demo_feed_copies, demo_feed_template, machine_info, write_results
from oracle.evm.anvil import AnvilNode
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.store import Round, RoundStatus, Store

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "soak.json"
CHAINS = {"a": 31337, "b": 1337}
# The feeds tick every INTERVAL seconds; a tick posts once its heartbeat would be overrun before
# the next tick (oracle.triggers.decide), i.e. at the first tick at least HEARTBEAT - INTERVAL
# after the last landed observation: every 120 s here, 30 s inside the 150 s heartbeat. All feeds
# prove at the same ticks: at 33 s a proof with two feeds at a load of 6 on the 2 shared cores,
# eight at once take minutes, so a shorter period would outrun the prover.
INTERVAL_SECONDS = 30
HEARTBEAT_SECONDS = 150
# The demo's 120 s would expire rounds proven in a burst of eight on a loaded machine.
MAX_OBSERVATION_AGE_SECONDS = 300
# Out of reach of the synthetic series, so only heartbeats make rounds: the rounds due are known.
DEVIATION_PERCENT = 1000.0
SAMPLE_SECONDS = 10.0
# Rounds observed in the last GRACE seconds before the stop may still be proving or in flight:
# neither expected nor counted. A round proven and sent takes well under this even under load.
GRACE_SECONDS = 150.0
# How long the node may take to build (cached) and deploy every feed on both chains.
STARTUP_TIMEOUT = 900.0
STOP_TIMEOUT = 60.0
QUEUED = (RoundStatus.PROVEN, RoundStatus.SUBMITTED)
# Lines of the node's output worth showing the reader (failures, tracebacks, warnings).
PROBLEM = re.compile(r"Traceback|Error|error|failed|warning|WARNING|skipped", re.IGNORECASE)
# What every feed says once on dev chains, and each report's quantisation line.
EXPECTED = re.compile(r"dev SRS \(toxic waste known locally\)|quantisation error")


def post_period(interval: float, heartbeat: float) -> float:
    """Seconds between heartbeat rounds: the first tick at least ``heartbeat - interval`` after the last."""
    return math.ceil((heartbeat - interval) / interval) * interval


def write_feeds(root: Path, count: int, anvils: dict[str, AnvilNode]) -> list[Path]:
    """``count`` copies of the demo feed (ids soak-1...), heartbeat-driven, posting to every chain."""
    substitutions = {
        r"(?m)^interval_seconds = .*$": f"interval_seconds = {INTERVAL_SECONDS}",
        r"(?m)^heartbeat_seconds = .*$": f"heartbeat_seconds = {HEARTBEAT_SECONDS}",
        r"(?m)^deviation_percent = .*$": f"deviation_percent = {DEVIATION_PERCENT}",
        r"(?m)^max_observation_age_seconds = .*$": f"max_observation_age_seconds = {MAX_OBSERVATION_AGE_SECONDS}",
    }
    template = demo_feed_template(substitutions, bench="bench.soak") + "".join(
        f'\n[chains.{name}]\nrpc_url = "{anvil.rpc_url}"\nchain_id = {anvil.chain_id}\n'
        for name, anvil in anvils.items()
    )
    return demo_feed_copies(root, template, [f"soak-{index}" for index in range(1, count + 1)])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the prover workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


@dataclass
class Sample:
    seconds: float  # since the node started ticking
    node_rss_mib: float
    tree_rss_mib: float  # the node and its prover workers
    processes: int
    queue: dict[int, int]  # chain id -> rounds proven or sent there, not landed


@dataclass
class Soak:
    workdir: Path
    db: Path
    log: Path
    started: float = 0.0  # when the node began ticking (its "running" line)
    stopped: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    exit_code: int | None = None


def sample(pid: int, store: Store | None, chain_of: dict[int, int], since: float) -> Sample:
    tree = process_tree(pid)
    queue = dict.fromkeys(CHAINS.values(), 0)
    if store is not None:
        for row in store.rounds():
            if row.status in QUEUED:
                chain = chain_deployment(store, chain_of, row)
                queue[chain] = queue.get(chain, 0) + 1
    return Sample(
        seconds=round(time.time() - since, 1),
        node_rss_mib=round(rss_mib(pid), 1),
        tree_rss_mib=round(sum(rss_mib(p) for p in tree), 1),
        processes=len(tree),
        queue=queue,
    )


def chain_deployment(store: Store, chain_of: dict[int, int], row: Round) -> int:
    """The chain id of the round's deployment (cached: deployments never move)."""
    if row.deployment_id not in chain_of:
        chain_of[row.deployment_id] = store.deployment(row.deployment_id).chain_id
    return chain_of[row.deployment_id]


@contextmanager
def node_process(feeds: list[Path], soak: Soak) -> Iterator[subprocess.Popen[bytes]]:
    """``zkoracle run`` on every feed until stopped; SIGINT first, then its whole process group killed."""
    env = {
        **os.environ,
        "ZKORACLE_HOME": str(soak.workdir / "home"),
        "ZKORACLE_BUILD_DIR": str(build_dir()),
        "COLUMNS": "400",  # one line per report, whole
    }
    command = [sys.executable, "-m", "oracle", "run", *map(str, feeds), "--rounds", "0", "--db", f"sqlite:///{soak.db}"]
    with open(soak.log, "wb") as log:
        # A session of its own: Ctrl-C on the benchmark reaches the node only through the stop below.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            yield process
        finally:
            stop(process, soak)


def stop(process: subprocess.Popen[bytes], soak: Soak) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its group: prover workers left behind included
    except ProcessLookupError:
        pass
    process.wait()
    soak.exit_code = process.returncode


def wait_running(process: subprocess.Popen[bytes], log: Path, console: Console) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the node exited with {process.returncode} before running:\n{log.read_text()[-4000:]}")
        if re.search(r"^running \d+ feed", log.read_text(errors="replace"), re.MULTILINE):
            return
        time.sleep(1.0)
    raise RuntimeError(f"the node did not start running within {STARTUP_TIMEOUT:.0f}s:\n{log.read_text()[-4000:]}")


def soak_run(feeds: list[Path], soak: Soak, minutes: float, console: Console) -> None:
    with node_process(feeds, soak) as process:
        started = time.time()
        wait_running(process, soak.log, console)
        soak.started = time.time()
        console.print(f"node up after {soak.started - started:.0f}s (build and deployments); soaking {minutes:g} min")
        store = Store(f"sqlite:///{soak.db}")
        chain_of: dict[int, int] = {}
        end = soak.started + minutes * 60
        while time.time() < end:
            if process.poll() is not None:
                raise RuntimeError(f"the node exited with {process.returncode} during the soak (see {soak.log})")
            taken = sample(process.pid, store, chain_of, soak.started)
            soak.samples.append(taken)
            console.print(
                f"[dim]{taken.seconds:>6.0f}s  rss {taken.node_rss_mib:.0f} MiB (with workers "
                f"{taken.tree_rss_mib:.0f}, {taken.processes} processes)  queue {taken.queue}[/dim]"
            )
            time.sleep(max(0.0, min(SAMPLE_SECONDS, end - time.time())))
        soak.stopped = time.time()


def heartbeat_gaps(observed: list[int]) -> list[int]:
    return [later - earlier for earlier, later in zip(observed, observed[1:], strict=False)]


def staleness(landed: list[Round]) -> list[float]:
    """How old the chain's newest value got, as its consumers see it: just before each landing,
    the age of the observation landed before it (one feed's rounds, in order)."""
    ordered = sorted(landed, key=lambda row: row.observed_at or 0)
    return [
        later.landed_at.timestamp() - earlier.observed_at  # type: ignore[union-attr,operator]
        for earlier, later in zip(ordered, ordered[1:], strict=False)
        if later.landed_at is not None and earlier.observed_at is not None
    ]


def chain_report(
    rows: list[Round], *, feeds: list[str], first: dict[str, int], cutoff: float, period: float
) -> dict[str, Any]:
    """One chain's rounds: expected vs landed within the window, failures, missed heartbeats, latency."""
    counted = [row for row in rows if row.observed_at is not None and row.observed_at <= cutoff]
    landed = [row for row in counted if row.status is RoundStatus.LANDED]
    expected = {feed: math.floor((cutoff - first[feed]) / period) + 1 if feed in first else 0 for feed in feeds}
    gaps = {
        feed: heartbeat_gaps(sorted(int(row.observed_at) for row in landed if row.feed_id == feed))  # type: ignore[arg-type]
        for feed in feeds
    }
    all_gaps = [gap for feed_gaps in gaps.values() for gap in feed_gaps]
    stale = [age for feed in feeds for age in staleness([row for row in landed if row.feed_id == feed])]
    latency = [
        row.landed_at.timestamp() - row.observed_at  # type: ignore[operator]
        for row in landed
        if row.landed_at is not None
    ]
    landed_by_feed = Counter(row.feed_id for row in landed)
    return {
        "expected": sum(expected.values()),
        "landed": len(landed),
        "landed_all": sum(row.status is RoundStatus.LANDED for row in rows),
        "rounds_all": len(rows),
        "status_all": dict(Counter(row.status.value for row in rows)),
        "failed_by_kind": dict(Counter(str(row.failure_kind) for row in rows if row.status is RoundStatus.FAILED)),
        "failure_reasons": sorted({f"{row.failure_kind}: {row.failure_reason}" for row in rows if row.failure_reason})[
            :20
        ],
        "heartbeats_missed": sum(gap > HEARTBEAT_SECONDS for gap in all_gaps),
        "gap_seconds_max": max(all_gaps, default=None),
        "gap_seconds_mean": round(statistics.mean(all_gaps), 1) if all_gaps else None,
        "stale_over_heartbeat": sum(age > HEARTBEAT_SECONDS for age in stale),
        "stale_seconds_max": round(max(stale), 1) if stale else None,
        "observed_to_landed_seconds": {
            "mean": round(statistics.mean(latency), 1) if latency else None,
            "max": round(max(latency), 1) if latency else None,
        },
        "per_feed": {feed: {"expected": expected[feed], "landed": landed_by_feed.get(feed, 0)} for feed in feeds},
    }


def queue_report(samples: list[Sample], chain_id: int) -> dict[str, Any]:
    depths = [taken.queue.get(chain_id, 0) for taken in samples]
    return {
        "max": max(depths, default=0),
        "mean": round(statistics.mean(depths), 2) if depths else 0,
        "last": depths[-1] if depths else 0,
    }


def rss_report(samples: list[Sample], key: str, *, warm_from: float) -> dict[str, Any]:
    """Start is the median of the samples in the minute after ``warm_from`` (seconds into the soak);
    end the median of the last three. Before every feed has landed its first round on every chain
    the node is still loading what landing and reading a round need: a one-off step, not growth."""
    values = [getattr(taken, key) for taken in samples]
    warm = [getattr(taken, key) for taken in samples if warm_from <= taken.seconds < warm_from + 60] or values[:3]
    start, end = statistics.median(warm), statistics.median(values[-3:])
    return {
        "first_mib": values[0],
        "warm_from_seconds": round(warm_from, 1),
        "start_mib": start,
        "end_mib": end,
        "max_mib": max(values),
        "end_over_start": round(end / start, 3),
    }


def first_landings(rows: list[Round]) -> float:
    """When the last (feed, chain) pair landed its first round: from then on the node is warm."""
    first: dict[tuple[str, int], float] = {}
    for row in rows:
        if row.landed_at is not None:
            key = (row.feed_id, row.deployment_id)
            first[key] = min(first.get(key, math.inf), row.landed_at.timestamp())
    return max(first.values(), default=0.0)


def node_problems(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if PROBLEM.search(line) and not EXPECTED.search(line)][:60]


def report(soak: Soak, feeds: list[str], minutes: float, machine: dict[str, Any]) -> dict[str, Any]:
    store = Store(f"sqlite:///{soak.db}")
    rows = [row for feed in feeds for row in store.rounds(feed_id=feed)]
    chain_of: dict[int, int] = {}
    by_chain = {
        chain: [row for row in rows if chain_deployment(store, chain_of, row) == chain] for chain in CHAINS.values()
    }
    # Each feed's clock starts at its first proven round (observed on the first tick).
    first: dict[str, int] = {}
    for row in by_chain[CHAINS["a"]]:
        if row.observed_at is not None:
            first[row.feed_id] = min(first.get(row.feed_id, row.observed_at), row.observed_at)
    period = post_period(INTERVAL_SECONDS, HEARTBEAT_SECONDS)
    cutoff = soak.stopped - GRACE_SECONDS
    chains = {
        name: {
            "chain_id": chain,
            **chain_report(by_chain[chain], feeds=feeds, first=first, cutoff=cutoff, period=period),
            "queue_depth": queue_report(soak.samples, chain),
        }
        for name, chain in CHAINS.items()
    }
    warm_from = first_landings(rows) - soak.started
    rss = {
        "node": rss_report(soak.samples, "node_rss_mib", warm_from=warm_from),
        "with_workers": rss_report(soak.samples, "tree_rss_mib", warm_from=warm_from),
    }
    proofs = [row for row in rows if row.proof_round_id is None and row.prove_seconds is not None]
    prove = [row.prove_seconds for row in proofs if row.prove_seconds is not None]
    return {
        "benchmark": "soak",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "load_average_1m_at_end": os.getloadavg()[0],
        "setup": {
            "feeds": len(feeds),
            "chains": CHAINS,
            "minutes": minutes,
            "soaked_seconds": round(soak.stopped - soak.started, 1),
            "interval_seconds": INTERVAL_SECONDS,
            "heartbeat_seconds": HEARTBEAT_SECONDS,
            "max_observation_age_seconds": MAX_OBSERVATION_AGE_SECONDS,
            "deviation_percent": DEVIATION_PERCENT,
            "post_period_seconds": period,
            "grace_seconds": GRACE_SECONDS,
            "sample_seconds": SAMPLE_SECONDS,
            "node_exit_code": soak.exit_code,
        },
        "formulas": {
            "post_period": "ceil((heartbeat - interval) / interval) * interval: the first tick at least "
            "heartbeat - interval after the last landed observation (oracle.triggers.decide posts one tick early)",
            "expected": "per feed floor((cutoff - first_observed_at) / post_period) + 1, summed; "
            "cutoff = stop - grace_seconds (later rounds may still be in flight at the stop)",
            "landed": "rounds LANDED on the chain whose observation time is <= cutoff (landed_all: with no cutoff)",
            "heartbeats_missed": "gaps between consecutive landed observation times of a feed > heartbeat_seconds",
            "stale_over_heartbeat": "landings whose previous round's observation was older than heartbeat_seconds "
            "when they landed: how often a consumer checking updatedAt against the heartbeat saw a stale value",
            "queue_depth": "rounds of the chain PROVEN or SUBMITTED (not landed, not failed) at each sample",
            "rss": "start: median of the samples in the minute after every feed landed its first round on every "
            "chain (warm_from_seconds); end: median of the last 3 samples. "
            "with_workers adds the node's child processes; the prover spawns one per proof and it exits after, "
            "so that figure follows how many proofs are under way at the sample, not growth",
        },
        "chains": chains,
        "proofs": {
            "made": len(proofs),
            "rounds_posted": sum(chain["landed_all"] for chain in chains.values()),
            "prove_seconds_mean": round(statistics.mean(prove), 2) if prove else None,
            "prove_seconds_max": round(max(prove), 2) if prove else None,
        },
        "rss": rss,
        "ratios": {
            "landed_over_expected": {
                name: round(chain["landed"] / chain["expected"], 3) if chain["expected"] else None
                for name, chain in chains.items()
            },
            "rss_end_over_start": rss["node"]["end_over_start"],
            "rss_end_over_first_sample": round(rss["node"]["end_mib"] / rss["node"]["first_mib"], 3),
        },
        "node_output_problems": node_problems(soak.log),
        "samples": [taken.__dict__ for taken in soak.samples],
    }


def print_summary(results: dict[str, Any], console: Console) -> None:
    table = Table("chain", "expected", "landed", "failed", "heartbeats missed", "queue max/mean", title="soak")
    for name, chain in results["chains"].items():
        table.add_row(
            f"{name} ({chain['chain_id']})",
            str(chain["expected"]),
            str(chain["landed"]),
            str(chain["failed_by_kind"] or 0),
            str(chain["heartbeats_missed"]),
            f"{chain['queue_depth']['max']}/{chain['queue_depth']['mean']}",
        )
    console.print(table)
    rss = results["rss"]["node"]
    console.print(
        f"node RSS {rss['start_mib']:.0f} -> {rss['end_mib']:.0f} MiB (x{rss['end_over_start']}), "
        f"with prover workers at most {results['rss']['with_workers']['max_mib']:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the feeds run (default 10)")
    parser.add_argument("--feeds", type=int, default=8, help="how many feeds the node runs (default 8)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    args = parser.parse_args(argv)
    console = Console()
    machine = machine_info()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zkoracle-soak-")))
        anvils = {
            name: stack.enter_context(AnvilNode(chain_id=chain, log_path=workdir / f"anvil-{name}.log"))
            for name, chain in CHAINS.items()
        }
        feeds = write_feeds(workdir / "feeds", args.feeds, anvils)
        soak = Soak(workdir=workdir, db=workdir / "node.db", log=workdir / "node.log")
        try:
            soak_run(feeds, soak, args.minutes, console)
        finally:
            # Kept next to the results: the node's own account of every round.
            args.out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(soak.log, args.out.with_suffix(".node.log"))
            if soak.db.exists():
                shutil.copyfile(soak.db, args.out.with_suffix(".node.db"))
        results = report(soak, [f"soak-{i}" for i in range(1, args.feeds + 1)], args.minutes, machine)
    print_summary(results, console)
    write_results(results, args.out, console)


if __name__ == "__main__":
    main()
