"""``zkoracle api`` (serve the read API and dashboard) and ``zkoracle verify`` (re-check a round from the API alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from oracle.api import create_app
from oracle.cli.app import DbOption, app, console, open_store
from oracle.evm.contracts import project_contracts
from oracle.exceptions import FeedSpecError
from oracle.feeds.loader import FEED_FILE, load_feed
from oracle.feeds.schema import FeedSpec
from oracle.paths import PROJECT_ROOT, build_dir
from oracle.verify_remote import DEFAULT_API, verify_round


def _specs(folders: list[Path] | None) -> dict[str, FeedSpec]:
    """The given feed folders, else every shipped feed that loads (they describe feeds when the chain is away)."""
    if folders:
        specs = [load_feed(folder) for folder in folders]
    else:
        specs = []
        for file in sorted((PROJECT_ROOT / "feeds").glob(f"*/{FEED_FILE}")):
            try:
                specs.append(load_feed(file))
            except FeedSpecError:
                continue  # a broken example must not keep the API from serving the others
    return {spec.id: spec for spec in specs}


@app.command()
def api(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
    feeds: Annotated[
        list[Path] | None, typer.Option("--feed", help="feed folder describing a feed (repeatable; default: feeds/*)")
    ] = None,
    refresh: Annotated[int, typer.Option("--refresh", help="dashboard auto-refresh in seconds; 0 = off")] = 15,
) -> None:
    """Serve the read API, the dashboard (/) and Prometheus metrics (/metrics)."""
    served = create_app(open_store(db), build_root=build_dir(), specs=_specs(feeds), refresh_seconds=refresh)
    # Reading rounds back from chains needs the contracts' ABIs: compiled now, a cold solc cache
    # (about a minute on two cores) is paid at startup rather than by the first request.
    with console.status("compiling the contracts"):
        project_contracts()
    console.print(f"zkoracle API on http://{host}:{port}/ (dashboard), /api/feeds, /openapi.json, /metrics")
    uvicorn.run(served, host=host, port=port, log_level="warning")


@app.command()
def verify(
    round_ref: Annotated[str, typer.Option("--round", help="round id, or the round's URL on the API")],
    api_url: Annotated[str, typer.Option("--api", help="API base URL, used when --round is an id")] = DEFAULT_API,
) -> None:
    """Re-verify a round using only what the read API returns: proof, vk, settings, model, SRS, registration.

    A round is checked piece by piece (a whole model is one piece, a sliced model's are its slices): every
    proven piece's proof, the links between them, and the commitment to the whole model; a sliced round's
    coverage (proven/total slices) is reported.
    """
    with console.status("fetching the round and its artifacts, verifying"):
        verified = verify_round(round_ref, api=api_url)
    console.print(f"[bold]{verified.feed_id}[/bold] round {verified.round_id} ({verified.status}) from {verified.url}")
    for check in verified.checks:
        console.print(f"  [green]✓[/green] {check}")
    proven, total = verified.coverage
    coverage = f", {proven}/{total} slices proven" if total > 1 else ""
    console.print(
        f"[green]verified[/green]: value {verified.value:.{verified.decimals}f} "
        f"(registration from the {verified.registration_source}){coverage}"
    )
