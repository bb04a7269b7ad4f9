"""``zkoracle status``: per feed, what landed, what failed and why, from the node's store."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime

from rich.table import Table

from oracle.cli.app import DbOption, app, console, open_store
from oracle.store import Round, RoundStatus, Store, failure_label

STATUS_REASONS = 3  # failure categories named per feed; the rest are summed, to keep one line per feed


@app.command()
def status(db: DbOption = None) -> None:
    """Per feed and chain: last value, its age, last transaction, rounds landed/failed, mean prove time, why rounds
    failed."""
    store = open_store(db)
    table = Table(
        "feed",
        "chain",
        "last value",
        "age",
        "last tx",
        "landed",
        "failed",
        "in flight",
        "mean prove s",
        "failure reasons",
    )
    now = datetime.now(UTC)
    for feed_id in store.feed_ids():
        chain_of = {d.id: d.chain_id for d in store.deployments(feed_id)}
        by_chain: dict[int, list[Round]] = {chain_id: [] for chain_id in sorted(set(chain_of.values()))}
        for row in store.rounds(feed_id=feed_id):
            by_chain[chain_of[row.deployment_id]].append(row)
        # A feed recorded but never deployed still gets its line.
        for chain, rows in [(str(chain_id), rows) for chain_id, rows in by_chain.items()] or [("-", [])]:
            table.add_row(feed_id, chain, *_chain_cells(rows, now))
        _answer_rows(table, store, feed_id, now)
    console.print(table)


def _answer_rows(table: Table, store: Store, feed_id: str, now: datetime) -> None:
    """A feed with [[answers]]: a line per answer of its newest deployment, with that answer's last landed value."""
    deployments = store.deployments(feed_id)
    if not deployments:
        return
    for answer in store.deployment_answers(int(deployments[0].id)):  # type: ignore[arg-type]
        counts = store.answer_status_counts(answer.answer_id)
        found = store.answer_rounds(answer.answer_id, limit=1, status=RoundStatus.LANDED)
        posted, row = found[0] if found else (None, None)
        value = f"{int(posted.onchain_answer) / 10**answer.decimals:.6f}" if posted and posted.onchain_answer else "-"
        age = f"{(now - row.landed_at).total_seconds():.0f}s" if row and row.landed_at else "-"
        landed = sum(count for (_chain, status), count in counts.items() if status is RoundStatus.LANDED)
        failed = sum(count for (_chain, status), count in counts.items() if status is RoundStatus.FAILED)
        in_flight = sum(counts.values()) - landed - failed
        tx = row.tx_hash if row and row.tx_hash else "-"
        table.add_row(f"  {answer.answer_id}", "", value, age, tx, str(landed), str(failed), str(in_flight), "", "")


def _chain_cells(rows: list[Round], now: datetime) -> list[str]:
    """The status cells of one feed's rounds on one chain, oldest first."""
    landed = [r for r in rows if r.status is RoundStatus.LANDED]
    failed = [r for r in rows if r.status is RoundStatus.FAILED]
    # A round posting another round's proof to this chain carries that round's prove time: not a proof of its own.
    proving = [r.prove_seconds for r in rows if r.prove_seconds is not None and r.proof_round_id is None]
    last = landed[-1] if landed else None
    age = f"{(now - last.landed_at).total_seconds():.0f}s" if last and last.landed_at else "-"
    return [
        f"{last.proven_output:.6f}" if last and last.proven_output is not None else "-",
        age,
        last.tx_hash if last and last.tx_hash else "-",
        str(len(landed)),
        str(len(failed)),
        str(len(rows) - len(landed) - len(failed)),
        f"{statistics.fmean(proving):.2f}" if proving else "-",
        _failure_breakdown(failed),
    ]


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
