"""The ``zkoracle`` command line. Library errors become one-line messages."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from web3 import Web3

from oracle import cli_api, cli_feeds, cli_provers
from oracle.circuits.quantize import OBSERVED_AT_LIMBS
from oracle.circuits.slicing import SlicedBuildResult
from oracle.evm.accounts import feed_relayer_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import ORACLE, bind, feed_key
from oracle.exceptions import ChainError, DeploymentError, FeedSpecError, ZkOracleError
from oracle.feed_circuit import FeedCircuit, build_feed_circuit, describe
from oracle.feedspec import FeedSpec, load_feed
from oracle.node import FeedNode, RoundReport, connect, current_deployment, ensure_deployment, sender_for
from oracle.paths import PROJECT_ROOT, build_dir, state_dir
from oracle.provers.factory import prover_for
from oracle.scheduler import FeedScheduler
from oracle.store import Round, RoundStatus, Store, failure_label

app = typer.Typer(add_completion=False, no_args_is_help=True, help="zkoracle: proven ML model outputs, on-chain.")
console = Console(highlight=False)
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_FEED = PROJECT_ROOT / "feeds" / "demo"
LOCAL_RPC = "http://127.0.0.1:8545"
STATUS_REASONS = 3  # failure categories named per feed; the rest are summed, to keep one line per feed
FeedArg = Annotated[Path, typer.Argument(help="feed folder (containing feed.toml)")]
DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: SQLite in $ZKORACLE_HOME or ./.zkoracle)")
]
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


def clean_errors(command: F) -> F:
    """Print library errors as one line and exit 1 instead of showing a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ZkOracleError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _store(db: str | None) -> Store:
    return Store(db) if db else Store.sqlite(state_dir() / "zkoracle.db")


@contextlib.contextmanager
def _native_stderr_to(log_path: Path) -> Iterator[None]:
    """EZKL's Rust core prints calibration tables straight to fd 2; keep them in a log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _build(spec: FeedSpec) -> FeedCircuit:
    with (
        console.status(f"[bold]{spec.id}[/bold]: checking the circuit cache") as status,
        _native_stderr_to(state_dir() / "ezkl.log"),
    ):
        result = build_feed_circuit(
            spec, build_root=build_dir(), progress=lambda step: status.update(f"[bold]{spec.id}[/bold]: {step}")
        )
    circuit = result.circuit if isinstance(result, SlicedBuildResult) else result.artifacts
    how = "cached" if result.cached else "built"
    console.print(
        f"[bold]{spec.id}[/bold]: circuit {circuit.manifest.key} {how} in {result.seconds:.2f}s ({describe(circuit)})"
    )
    if circuit.manifest.dev_srs:
        console.print("[yellow]warning:[/yellow] dev SRS (toxic waste known locally): fit for local chains only")
    return circuit


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


@dataclass(frozen=True)
class _Target:
    """Where one feed is deployed and posted, once the CLI flags and the feed's ``[chain]`` are weighed."""

    w3: Web3
    rpc_url: str
    oracle_address: str | None


def _target(
    spec: FeedSpec, *, rpc_url: str | None, oracle: str | None, fallback_url: str | None, connections: dict[str, Web3]
) -> _Target:
    """Flags win over the feed's ``[chain]``, which wins over ``fallback_url``.

    ``[chain]`` applies only on the chain it names: a feed sent elsewhere with
    ``--rpc-url`` (a fork, a testnet) keeps neither its oracle address nor its relayer
    key, and a ``chain.rpc_url`` answering with another chain id is refused, since the
    oracle address and key there were meant for a different chain.
    """
    chain = spec.chain
    from_feed = rpc_url is None and chain is not None
    url = rpc_url or (chain.rpc_url if chain is not None else fallback_url)
    assert url is not None, "the caller starts a local chain for feeds that name none"
    if url not in connections:
        try:
            connections[url] = connect(url)
        except ChainError as exc:
            if not from_feed:
                raise
            raise FeedSpecError(
                spec.id, "chain.rpc_url", f"no chain answers at {url}", "start that node, fix the URL or pass --rpc-url"
            ) from exc
    w3 = connections[url]
    actual = w3.eth.chain_id
    if chain is not None and actual != chain.chain_id:
        if from_feed:
            raise FeedSpecError(
                spec.id,
                "chain.chain_id",
                f"the chain at {url} has chain id {actual}, not {chain.chain_id}",
                f"point chain.rpc_url at chain {chain.chain_id}, or set chain_id = {actual} if that chain is meant "
                "(then check oracle_address and the relayer key)",
            )
        console.print(
            f"[yellow]note:[/yellow] feed '{spec.id}': --rpc-url is chain {actual}, not chain "
            f"{chain.chain_id} of its \\[chain]; its oracle_address and relayer key are not used there"
        )
        chain = None
    else:
        feed_relayer_account(spec)  # a missing or wrong key fails now, not after the build or halfway through deploying
    return _Target(w3=w3, rpc_url=url, oracle_address=oracle or (chain.oracle_address if chain else None))


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log library details")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


@app.command()
@clean_errors
def build(feed: FeedArg = DEFAULT_FEED) -> None:
    """Build the feed's circuit and Solidity verifier (cached by content hash)."""
    _build(load_feed(feed))


@app.command()
@clean_errors
def deploy(
    feed: FeedArg = DEFAULT_FEED,
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", help=f"chain RPC URL (default: the feed's [chain] rpc_url, else {LOCAL_RPC})"),
    ] = None,
    oracle: OracleOption = None,
    db: DbOption = None,
    force_dev_srs: ForceOption = False,
) -> None:
    """Deploy the feed's verifier (and a ZkOracle unless --oracle is given) and register the feed."""
    spec = load_feed(feed)
    target = _target(spec, rpc_url=rpc_url, oracle=oracle, fallback_url=LOCAL_RPC, connections={})
    circuit = _build(spec)
    store = _store(db)
    with console.status(f"deploying '{spec.id}'"):
        deployment = ensure_deployment(
            store,
            target.w3,
            target.rpc_url,
            spec,
            circuit,
            oracle_address=target.oracle_address,
            force_dev_srs=force_dev_srs,
        )
    console.print(
        f"[bold]{spec.id}[/bold]: oracle {deployment.oracle_address}, verifier {deployment.verifier_address}, "
        f"consumer {deployment.consumer_address} on chain {deployment.chain_id}"
    )


@app.command()
@clean_errors
def run(
    feeds: Annotated[list[Path] | None, typer.Argument(help="feed folders (default: the demo feed)")] = None,
    rounds: Annotated[int, typer.Option("--rounds", help="stop after this many rounds; 0 runs until Ctrl-C")] = 3,
    rpc_url: RpcOption = None,
    oracle: OracleOption = None,
    db: DbOption = None,
    force_dev_srs: ForceOption = False,
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
    store = _store(db)
    with _local_chain(needed=rpc_url is None and any(spec.chain is None for spec in specs)) as local_url:
        connections: dict[str, Web3] = {}
        # Every feed's chain is checked before anything is built or sent.
        targets = {
            spec.id: _target(spec, rpc_url=rpc_url, oracle=oracle, fallback_url=local_url, connections=connections)
            for spec in specs
        }
        circuits = {spec.id: _build(spec) for spec in specs}
        nodes = []
        for spec in specs:
            target = targets[spec.id]
            with console.status(f"deploying '{spec.id}'"):
                deployment = ensure_deployment(
                    store,
                    target.w3,
                    target.rpc_url,
                    spec,
                    circuits[spec.id],
                    oracle_address=target.oracle_address,
                    force_dev_srs=force_dev_srs,
                )
            console.print(
                f"[bold]{spec.id}[/bold]: oracle {deployment.oracle_address}, consumer {deployment.consumer_address}"
            )
            nodes.append(
                FeedNode(
                    spec,
                    circuits[spec.id],
                    store=store,
                    w3=target.w3,
                    deployment=deployment,
                    prover=prover_for(spec, store=store),
                    proofs_dir=state_dir() / "proofs",
                    confirmations=confirmations,
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
        try:
            reports = FeedScheduler(nodes, on_report=_print_report, jobstore_url=store.url).run(rounds=limit)
        except KeyboardInterrupt:
            console.print("stopped")
            return
    failed = [r for r in reports if not r.landed or (r.error is not None and r.error > r.tolerance)]
    if failed:
        console.print(f"[red]{len(failed)} of {len(reports)} round(s) failed or were out of tolerance[/red]")
        raise typer.Exit(1)


def _print_report(report: RoundReport) -> None:
    row = report.round
    if report.skipped:
        console.print(f"[dim]{row.feed_id}: output {row.model_output:.6f}, not posted: {report.trigger}[/dim]")
        return
    head = f"[bold]{row.feed_id}[/bold] round {row.id}" + (f" ({report.trigger})" if report.trigger else "")
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
        f"{head} → on-chain phase {reading.round_id >> 64} round {reading.round_id & (2**64 - 1)}\n"
        f"  inputs                  {', '.join(f'{x:.4f}' for x in inputs)}\n"
        f"{observed}"
        f"  model output (float)    {row.model_output:.6f}\n"
        f"  consumer read on-chain  {reading.value:.{reading.decimals}f}\n"
        f"  |difference|            {error:.6f}  {verdict} the quantisation error {tolerance:.6f}\n"
        f"  prove {row.prove_seconds:.2f}s · submit gas {row.gas_used:,} · tx {row.tx_hash}"
    )


def _set_paused(feed_id: str, rpc_url: str, db: str | None, *, paused: bool) -> None:
    w3 = connect(rpc_url)
    deployment = current_deployment(_store(db), w3, feed_id)
    if deployment is None:
        raise DeploymentError(f"feed '{feed_id}' has no live deployment on {rpc_url} in this store; deploy it first")
    action = "pause" if paused else "resume"
    oracle = bind(w3, ORACLE, deployment.oracle_address)
    call = oracle.functions.setPaused(feed_key(feed_id), paused)
    sender_for(w3, "deployer").transact(call, what=f"{action} '{feed_id}'")
    console.print(f"[bold]{feed_id}[/bold]: submissions {action}d on {deployment.oracle_address}")


@app.command()
@clean_errors
def pause(
    feed_id: Annotated[str, typer.Argument(help="the feed's id")],
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="chain RPC URL")] = LOCAL_RPC,
    db: DbOption = None,
) -> None:
    """Pause a feed's submissions on-chain (reads keep working). Needs the operator key."""
    _set_paused(feed_id, rpc_url, db, paused=True)


@app.command()
@clean_errors
def resume(
    feed_id: Annotated[str, typer.Argument(help="the feed's id")],
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="chain RPC URL")] = LOCAL_RPC,
    db: DbOption = None,
) -> None:
    """Resume a paused feed's submissions."""
    _set_paused(feed_id, rpc_url, db, paused=False)


@app.command()
@clean_errors
def status(db: DbOption = None) -> None:
    """Per feed: last value, its age, last transaction, rounds landed/failed, mean prove time, why rounds failed."""
    store = _store(db)
    table = Table(
        "feed", "last value", "age", "last tx", "landed", "failed", "in flight", "mean prove s", "failure reasons"
    )
    now = datetime.now(UTC)
    for feed_id in store.feed_ids():
        rows = store.rounds(feed_id=feed_id)
        landed = [r for r in rows if r.status is RoundStatus.LANDED]
        failed = [r for r in rows if r.status is RoundStatus.FAILED]
        proving = [r.prove_seconds for r in rows if r.prove_seconds is not None]
        last = landed[-1] if landed else None
        age = f"{(now - last.landed_at).total_seconds():.0f}s" if last and last.landed_at else "-"
        table.add_row(
            feed_id,
            f"{last.proven_output:.6f}" if last and last.proven_output is not None else "-",
            age,
            last.tx_hash if last and last.tx_hash else "-",
            str(len(landed)),
            str(len(failed)),
            str(len(rows) - len(landed) - len(failed)),
            f"{statistics.fmean(proving):.2f}" if proving else "-",
            _failure_breakdown(failed),
        )
    console.print(table)


def _failure_breakdown(failed: list[Round]) -> str:
    """The commonest failure categories with counts, e.g. ``source 3, refused:ZkOracleStaleRound 1``.

    Categories are the bounded labels of the Prometheus metric, so the table and the
    dashboards count the same things.
    """
    counts = Counter(failure_label(row.failure_kind, row.failure_error) for row in failed)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{label} {count}" for label, count in ranked[:STATUS_REASONS])
    rest = sum(count for _label, count in ranked[STATUS_REASONS:])
    return (shown + (f", +{rest} more" if rest else "")) or "-"


app.command("api")(clean_errors(cli_api.api))
app.command("verify")(clean_errors(cli_api.verify))
cli_provers.prover_app.command("serve")(clean_errors(cli_provers.serve))
app.add_typer(cli_provers.prover_app, name="prover")
app.command("provers")(clean_errors(cli_provers.provers))
app.add_typer(cli_feeds.feeds_app, name="feeds")
app.command("init")(clean_errors(cli_feeds.init))
