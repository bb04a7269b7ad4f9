"""The root ``zkoracle`` app, and what its command groups share: the console, common options, the store.

Every library error (any :class:`~oracle.exceptions.ZkOracleError`) that escapes a command
is printed here as one line, and the command exits 1: no command handles that on its own.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from oracle.exceptions import ZkOracleError
from oracle.paths import PROJECT_ROOT, state_dir
from oracle.store import Store

console = Console(highlight=False)

DEFAULT_FEED = PROJECT_ROOT / "feeds" / "demo"
FeedArg = Annotated[Path, typer.Argument(help="feed folder (containing feed.toml)")]
DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: SQLite in $ZKORACLE_HOME or ./.zkoracle)")
]


class _OneLineErrors(typer.Typer):
    """A Typer app that prints library errors as one line and exits 1 instead of showing a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            # A service manager stops a node with SIGTERM: unwinding as Ctrl-C does stops the
            # scheduler cleanly and the embedded Anvil with it, where Python's default would
            # exit at once and leave the chain running.
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            return super().__call__(*args, **kwargs)
        except ZkOracleError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            raise SystemExit(1) from None


app = _OneLineErrors(add_completion=False, no_args_is_help=True, help="zkoracle: proven ML model outputs, on-chain.")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log library details")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


def open_store(db: str | None) -> Store:
    return Store(db) if db else Store.sqlite(state_dir() / "zkoracle.db")
