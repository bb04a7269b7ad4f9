"""The dashboard page: per feed, its value over time, rounds landed/failed, prove latency, gas, prover scores."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from oracle.api.charts import Chart, Sample, chart
from oracle.api.schemas import FeedOut, RoundOut
from oracle.api.service import ReadService
from oracle.store import FailureKind, RoundStatus, Store
from oracle.store.provers import load_prover_records

TEMPLATES = Path(__file__).parent / "templates"
PLOTTED_ROUNDS = 500  # per feed: the most recent ones
RECENT_ROUNDS = 10
PROVER_ROWS = 50
# ProverRecord fields shown, with their headings.
PROVER_COLUMNS = {
    "hotkey": "hotkey",
    "url": "url",
    "validity": "validity",
    "latency_seconds": "latency s",
    "proof_bytes": "proof bytes",
    "valid": "valid",
    "invalid": "invalid",
    "failed": "failed",
    "lost": "lost",
    "benched_until": "benched until",
    "last_outcome": "last outcome",
    "updated_at": "updated",
}

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class FeedPanel:
    feed: FeedOut
    charts: list[Chart]
    recent: list[RoundOut]


def _feed_panel(service: ReadService, feed: FeedOut) -> FeedPanel:
    rounds = service.rounds(feed.id, limit=PLOTTED_ROUNDS).rounds
    landed = [r for r in rounds if r.status == RoundStatus.LANDED and r.landed_at is not None]
    decimals = feed.decimals if feed.decimals is not None else 6
    charts = [
        chart(
            "value",
            "value of each round's first answer (each answer: its own rounds)"
            if feed.answers
            else "value (on-chain answer)",
            [Sample(r.landed_at, r.value, r.id) for r in landed if r.value is not None],  # type: ignore[arg-type]
            fmt=lambda v: f"{v:,.{min(decimals, 6)}f}",
        ),
        chart(
            "prove",
            "prove seconds",
            # Once per proof: a round posting another's proof to a further chain carries its prove time.
            [
                Sample(r.created_at, r.prove_seconds, r.id)
                for r in rounds
                if r.prove_seconds is not None and r.proof_round_id is None
            ],
            fmt=lambda v: f"{v:.2f} s",
        ),
        chart(
            "gas",
            "gas per update (ZkOracle.submit or submitSlices)",
            [Sample(r.landed_at, float(r.gas_used), r.id) for r in landed if r.gas_used is not None],  # type: ignore[arg-type]
            fmt=lambda v: f"{v:,.0f}",
        ),
    ]
    return FeedPanel(feed=feed, charts=charts, recent=rounds[:RECENT_ROUNDS])


@dataclass(frozen=True)
class ProverTable:
    title: str
    columns: list[str]
    rows: list[list[str]]


def prover_tables(store: Store) -> list[ProverTable]:
    """The network provers' scores as the node keeps them, and per feed the proofs it obtained and from whom."""
    network = ProverTable(
        title="network provers",
        columns=[*PROVER_COLUMNS.values()],
        rows=[[_cell(getattr(r, field)) for field in PROVER_COLUMNS] for r in load_prover_records(store)[:PROVER_ROWS]],
    )
    rows = []
    for feed_id in store.feed_ids():
        # The rounds proven here: one posting another round's proof to a further chain carries that one's figures.
        history = [r for r in store.recent_rounds(feed_id, limit=PLOTTED_ROUNDS) if r.proof_round_id is None]
        proven = [r.prove_seconds for r in history if r.prove_seconds is not None]
        prover_failures = sum(1 for r in history if r.failure_kind is FailureKind.PROVER)
        attempts = len(proven) + prover_failures
        by_prover = Counter(r.prover for r in history if r.prover is not None)
        rows.append(
            [
                feed_id,
                str(len(proven)),
                str(prover_failures),
                f"{len(proven) / attempts:.0%}" if attempts else "-",
                f"{statistics.median(proven):.2f}" if proven else "-",
                f"{max(proven):.2f}" if proven else "-",
                ", ".join(f"{prover} {count}" for prover, count in by_prover.most_common()) or "-",
            ]
        )
    rounds = ProverTable(
        title=f"proofs this node obtained, from its last {PLOTTED_ROUNDS} rounds per feed",
        columns=["feed", "proofs", "prover failures", "success", "median prove s", "max prove s", "proofs by prover"],
        rows=rows,
    )
    return [network, rounds]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def render_dashboard(service: ReadService, *, refresh_seconds: int) -> str:
    feeds = service.feeds()
    return _environment.get_template("dashboard.html").render(
        panels=[_feed_panel(service, feed) for feed in feeds],
        provers=prover_tables(service.store),
        refresh_seconds=refresh_seconds,
        generated_at=datetime.now(UTC),
    )
