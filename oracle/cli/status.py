"""``zkoracle status``: per feed, what landed, what failed and why, from the node's store."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime

from rich.table import Table

from oracle.cli.app import DbOption, app, console, open_store
from oracle.store import Round, RoundStatus, failure_label

STATUS_REASONS = 3  # failure categories named per feed; the rest are summed, to keep one line per feed


@app.command()
def status(db: DbOption = None) -> None:
    """Per feed: last value, its age, last transaction, rounds landed/failed, mean prove time, why rounds failed."""
    store = open_store(db)
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
