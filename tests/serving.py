"""An ASGI app served over real HTTP on a free loopback port, in a thread, for the tests' clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from oracle.evm.anvil import free_port

START_TIMEOUT_SECONDS = 15


@contextmanager
def serving(app: FastAPI, *, what: str) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL. ``what`` names it if it does not start."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
