"""``zkoracle prover serve`` (run a prover) and ``zkoracle provers`` (what the node thinks of them)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from oracle.cli.app import DbOption, app, console, open_store
from oracle.paths import state_dir
from oracle.provers.identity import PROVER_WALLET, default_wallet_path, load_hotkey
from oracle.provers.pool import PoolProver
from oracle.provers.recipe import RecipeCache
from oracle.provers.scoring import ScoringPolicy, is_benched, scores
from oracle.provers.server import DEFAULT_QUEUE, ProverService, serve_forever
from oracle.store.provers import load_prover_records

prover_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Run a prover for zkoracle nodes.")
app.add_typer(prover_app, name="prover")


@prover_app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8091,
    wallet: Annotated[str, typer.Option(help="NAME/HOTKEY of the hotkey that signs answers")] = PROVER_WALLET,
    wallet_path: Annotated[
        Path | None, typer.Option(help="wallets folder (default: $ZKORACLE_HOME/wallets; created if missing)")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="circuit recipes, the keys derived from them, SRS files (default: $ZKORACLE_HOME/recipes)"),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="proofs run at once")] = 1,
    queue: Annotated[
        int, typer.Option(min=0, help="proof requests that may wait for a worker; more are answered 429 (busy)")
    ] = DEFAULT_QUEUE,
    allow: Annotated[
        list[str] | None, typer.Option(help="only these caller hotkeys (repeat the option); default: any signed caller")
    ] = None,
    artifact_url: Annotated[
        str | None,
        typer.Option(help="fetch unknown recipes from URL/<digest>.recipe, SRS files from URL/<sha256>.srs"),
    ] = None,
) -> None:
    """Prove circuits for hotkey-signed requests (btauth/1) until interrupted."""
    path = wallet_path or default_wallet_path()
    # A hotkey in zkoracle's own wallets folder is created on first use; elsewhere it must exist.
    hotkey = load_hotkey(wallet, path=path, create=wallet_path is None)
    service = ProverService(
        hotkey=hotkey,
        cache=RecipeCache(cache_dir or state_dir() / "recipes"),
        jobs=PoolProver(workers=workers, queue=queue),
        allowed=allow or (),
        artifact_url=artifact_url,
    )
    console.print(
        f"prover {hotkey.ss58_address} listening on http://{host}:{port} "
        f"({workers} worker(s), {queue} more may wait; recipes in {service.cache.root})",
        soft_wrap=True,
    )
    serve_forever(service, host=host, port=port)


@app.command()
def provers(db: DbOption = None) -> None:
    """Remote provers as this node scores them: validity, latency, proof size, outcomes, bench."""
    records = load_prover_records(open_store(db))
    score = scores(records, policy=ScoringPolicy())
    now = datetime.now(UTC)
    table = Table(
        "hotkey",
        "url",
        "score",
        "validity",
        "latency s",
        "proof B",
        "valid",
        "invalid",
        "failed",
        "lost",
        "benched until",
    )
    for record in sorted(records, key=lambda r: -score[r.hotkey]):
        table.add_row(
            record.hotkey,
            record.url,
            f"{score[record.hotkey]:.3f}",
            f"{record.validity:.3f}",
            f"{record.latency_seconds:.2f}" if record.latency_seconds is not None else "-",
            f"{record.proof_bytes:.0f}" if record.proof_bytes is not None else "-",
            str(record.valid),
            str(record.invalid),
            str(record.failed),
            str(record.lost),
            f"{record.benched_until:%Y-%m-%d %H:%M:%S}" if is_benched(record, now) else "-",
        )
    console.print(table if records else "no remote prover has been asked yet")
