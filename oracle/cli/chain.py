"""``zkoracle deploy``, ``run``, ``pause`` and ``resume``: feeds on chains, and the node that posts their rounds."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from web3 import Web3

from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.cli.app import DEFAULT_FEED, DbOption, FeedArg, app, console, open_store
from oracle.cli.feeds import build_circuit_of
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import current_deployment, ensure_deployment
from oracle.deployments.targets import Target, resolve_targets
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.zkoracle import ZkOracle
from oracle.exceptions import DeploymentError
from oracle.feed_circuit import FeedCircuit
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.paths import state_dir
from oracle.provers.factory import prover_for
from oracle.reports import RoundReport
from oracle.scheduler import FeedScheduler
from oracle.store import Deployment, Store

LOCAL_RPC = "http://127.0.0.1:8545"
RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url", help="chain RPC URL for every feed (default: each feed's [chain] rpc_url, else a local Anvil)"
    ),
]
OracleOption = Annotated[
    str | None,
    typer.Option(
        "--oracle", help="existing ZkOracle address to register on (default: the feed's [chain] oracle_address)"
    ),
]
ForceOption = Annotated[bool, typer.Option("--force-dev-srs", help="allow a dev-SRS verifier on a non-dev chain")]
ConsumerOption = Annotated[
    bool, typer.Option("--with-consumer", help="also deploy the example consumer contract and read values through it")
]
FeedIdArg = Annotated[str, typer.Argument(help="the feed's id")]
ChainOption = Annotated[str, typer.Option("--rpc-url", help="chain RPC URL")]


@contextlib.contextmanager
def _local_chain(*, needed: bool) -> Iterator[str | None]:
    """A local Anvil for the run's feeds that name no chain, started only if some do."""
    if not needed:
        yield None
        return
    state_dir().mkdir(parents=True, exist_ok=True)
    anvil = AnvilNode(log_path=state_dir() / "anvil.log")
    with console.status("starting a local Anvil chain"):
        anvil.start()
    console.print(f"local Anvil chain at {anvil.rpc_url} (chain id {anvil.chain_id})")
    try:
        yield anvil.rpc_url
    finally:
        anvil.stop()


def _targets(spec: FeedSpec, **where: Any) -> list[Target]:
    targets = resolve_targets(spec, **where)
    for target in targets:
        if target.note:
            console.print(f"[yellow]note:[/yellow] {escape(target.note)}")
    return targets


@app.command()
def deploy(
    feed: FeedArg = DEFAULT_FEED,
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", help=f"chain RPC URL (default: the feed's [chain] rpc_url, else {LOCAL_RPC})"),
    ] = None,
    oracle: OracleOption = None,
    db: DbOption = None,
    force_dev_srs: ForceOption = False,
    with_consumer: ConsumerOption = False,
) -> None:
    """Deploy the feed's verifier (and a ZkOracle unless --oracle is given) and register the feed, on each of its chains."""
    spec = load_feed(feed)
    targets = _targets(spec, rpc_url=rpc_url, oracle=oracle, fallback_url=LOCAL_RPC, connections={})
    store, circuit = open_store(db), build_circuit_of(spec)
    for target in targets:
        _deploy(store, spec, circuit, target, force_dev_srs=force_dev_srs, with_consumer=with_consumer)


def _deploy(
    store: Store, spec: FeedSpec, circuit: FeedCircuit, target: Target, *, force_dev_srs: bool, with_consumer: bool
) -> Deployment:
    with console.status(f"deploying '{spec.id}'"):
        deployment = ensure_deployment(
            store,
            target.w3,
            target.rpc_url,
            spec,
            circuit,
            oracle_address=target.oracle_address,
            force_dev_srs=force_dev_srs,
            with_consumer=with_consumer,
        )
    consumer = f", consumer {deployment.consumer_address}" if deployment.consumer_address else ""
    console.print(
        f"[bold]{spec.id}[/bold]: oracle {deployment.oracle_address}, verifier {deployment.verifier_address}, "
        f"proxy {deployment.proxy_address}{consumer} on chain {deployment.chain_id}"
    )
    for answer in store.deployment_answers(int(deployment.id)):  # type: ignore[arg-type]
        consumer = f", consumer {answer.consumer_address}" if answer.consumer_address else ""
        console.print(f"  answer [bold]{answer.answer_id}[/bold]: proxy {answer.proxy_address}{consumer}")
    return deployment


@app.command()
def run(
    feeds: Annotated[list[Path] | None, typer.Argument(help="feed folders (default: the demo feed)")] = None,
    rounds: Annotated[int, typer.Option("--rounds", help="stop after this many rounds; 0 runs until Ctrl-C")] = 3,
    rpc_url: RpcOption = None,
    oracle: OracleOption = None,
    db: DbOption = None,
    force_dev_srs: ForceOption = False,
    with_consumer: ConsumerOption = False,
    confirmations: Annotated[
        int | None,
        typer.Option(
            "--confirmations",
            min=1,
            help="blocks a round's transaction must be under, its own included (default: 1 on dev chains, else 3)",
        ),
    ] = None,
) -> None:
    """Build, deploy and run feeds: each tick proves the model's output and posts it on-chain."""
    specs = [load_feed(path) for path in feeds or [DEFAULT_FEED]]
    store = open_store(db)
    with _local_chain(needed=rpc_url is None and any(not spec.targets for spec in specs)) as local_url:
        connections: dict[str, Web3] = {}
        # Every feed's chains are checked before anything is built or sent.
        targets = {
            spec.id: _targets(spec, rpc_url=rpc_url, oracle=oracle, fallback_url=local_url, connections=connections)
            for spec in specs
        }
        circuits = {spec.id: build_circuit_of(spec) for spec in specs}
        nodes = []
        for spec in specs:
            home, *others = [
                (
                    target.w3,
                    _deploy(
                        store, spec, circuits[spec.id], target, force_dev_srs=force_dev_srs, with_consumer=with_consumer
                    ),
                )
                for target in targets[spec.id]
            ]
            nodes.append(
                FeedNode(
                    spec,
                    circuits[spec.id],
                    store=store,
                    w3=home[0],
                    deployment=home[1],
                    prover=prover_for(spec, store=store),
                    proofs_dir=state_dir() / "proofs",
                    confirmations=confirmations,
                    other_chains=others,
                )
            )
        for node in nodes:
            for report in node.resume():
                console.print("[yellow]resumed[/yellow] a round left unfinished by an earlier run:")
                _print_report(report)
        limit = None if rounds == 0 else rounds
        console.print(
            f"running {len(nodes)} feed(s); "
            + ("Ctrl-C to stop" if limit is None else f"stopping after {limit} round(s)")
        )
        stop = threading.Event()
        try:
            with _stopping_on_sigterm(stop):
                reports = FeedScheduler(nodes, on_report=_print_report, jobstore_url=store.url).run(
                    rounds=limit, stop=stop
                )
        except KeyboardInterrupt:
            stop.set()
        if stop.is_set():
            console.print("stopped")
            return
    failed = [r for r in reports if not r.landed or (r.error is not None and r.error > r.tolerance)]
    if failed:
        console.print(f"[red]{len(failed)} of {len(reports)} round(s) failed or were out of tolerance[/red]")
        raise typer.Exit(1)


@contextlib.contextmanager
def _stopping_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """While feeds run, SIGTERM (a service manager's stop) ends the run after the rounds under way,
    as the scheduler's stop event: an exception raised at an arbitrary point could cut a round short."""
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_report(report: RoundReport) -> None:
    row = report.round
    if report.skipped:
        console.print(f"[dim]{row.feed_id}: output {row.model_output:.6f}, not posted: {report.trigger}[/dim]")
        return
    chain = f" on chain {report.chain_id}" if report.chain_id is not None else ""
    head = f"[bold]{row.feed_id}[/bold] round {row.id}{chain}" + (f" ({report.trigger})" if report.trigger else "")
    if not report.landed or report.reading is None:
        kind = f" ({row.failure_kind})" if row.failure_kind else ""
        console.print(f"{head}: [red]{row.status}[/red]{kind}: {row.failure_reason}")
        return
    reading = report.reading
    error, tolerance = report.error or 0.0, report.tolerance
    verdict = "[green]within[/green]" if error <= tolerance else "[red]OUTSIDE[/red]"
    inputs = row.inputs[: len(row.inputs) - OBSERVED_AT_LIMBS] if row.observed_at is not None else row.inputs
    observed = (
        f"  observed at (proven)    {datetime.fromtimestamp(row.observed_at, UTC):%Y-%m-%d %H:%M:%S} UTC\n"
        if row.observed_at is not None
        else ""
    )
    console.print(
        f"{head} → on-chain {reading.round_id}\n"
        f"  inputs                  {', '.join(f'{x:.4f}' for x in inputs)}\n"
        f"{observed}"
        f"  model output (float)    {row.model_output:.6f}\n"
        f"  {reading.reader + ' read on-chain':<24}{reading.value:.{reading.decimals}f}\n"
        f"  |difference|            {error:.6f}  {verdict} the quantisation error {tolerance:.6f}\n"
        + _answers_line(report)
        + f"  prove {row.prove_seconds:.2f}s · submit gas {row.gas_used:,} · tx {row.tx_hash}"
    )


def _answers_line(report: RoundReport) -> str:
    """A feed with [[answers]]: the answers the round landed, each as stored on-chain (the reading above is the
    first one's)."""
    if not report.answers:
        return ""
    values = ", ".join(f"{a.answer_id} {a.value:g}" for a in report.answers if a.value is not None)
    return f"  {len(report.answers)} answers landed   {values}\n"


def _operator_switch(feed_id: str, rpc_url: str, db: str | None, *, action: str, state: str, on: bool) -> None:
    """Pause or halt (``on``) a feed, or undo it, with the operator key."""
    w3 = connect(rpc_url)
    deployment = current_deployment(open_store(db), w3, feed_id)
    if deployment is None:
        raise DeploymentError(f"feed '{feed_id}' has no live deployment on {rpc_url} in this store; deploy it first")
    oracle = ZkOracle(w3, deployment.oracle_address)
    call = oracle.set_paused(feed_id, on) if state == "submissions" else oracle.set_halted(feed_id, on)
    sender_for(w3, "deployer").transact(call, what=f"{action} '{feed_id}'")
    console.print(f"[bold]{feed_id}[/bold]: {state} {action.removesuffix('e')}ed on {deployment.oracle_address}")


@app.command()
def pause(feed_id: FeedIdArg, rpc_url: ChainOption = LOCAL_RPC, db: DbOption = None) -> None:
    """Pause a feed's submissions on-chain (reads keep working). Needs the operator key."""
    _operator_switch(feed_id, rpc_url, db, action="pause", state="submissions", on=True)


@app.command()
def resume(feed_id: FeedIdArg, rpc_url: ChainOption = LOCAL_RPC, db: DbOption = None) -> None:
    """Resume a paused feed's submissions."""
    _operator_switch(feed_id, rpc_url, db, action="resume", state="submissions", on=False)


@app.command()
def halt(feed_id: FeedIdArg, rpc_url: ChainOption = LOCAL_RPC, db: DbOption = None) -> None:
    """Halt a feed's reads on-chain: every read of its rounds (oracle and proxy) reverts with
    ZkOracleFeedHalted, so no consumer acts on a bad round during an incident. Needs the operator key."""
    _operator_switch(feed_id, rpc_url, db, action="halt", state="reads", on=True)


@app.command()
def unhalt(feed_id: FeedIdArg, rpc_url: ChainOption = LOCAL_RPC, db: DbOption = None) -> None:
    """Serve a halted feed's rounds again."""
    _operator_switch(feed_id, rpc_url, db, action="unhalt", state="reads", on=False)
