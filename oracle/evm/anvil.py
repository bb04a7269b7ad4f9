"""A local Anvil chain as a managed child process."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from web3 import HTTPProvider, Web3

from oracle.evm.toolchain import anvil_path
from oracle.exceptions import ChainError

DEV_CHAIN_ID = 31337


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# How many recent blocks' states anvil keeps (in memory; none go to disk).
KEPT_STATES = 256


class AnvilNode:
    """Starts ``anvil`` on 127.0.0.1 with a free port; stops it on exit."""

    def __init__(
        self,
        *,
        port: int | None = None,
        chain_id: int = DEV_CHAIN_ID,
        block_time: float | None = None,
        log_path: Path | None = None,
        steps_tracing: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.chain_id = chain_id
        self._block_time = block_time
        self._log_path = log_path
        self._steps_tracing = steps_tracing  # geth-style opcode traces from debug_traceTransaction
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> AnvilNode:
        command = [str(anvil_path()), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(self.chain_id)]
        # Without a cap anvil writes every older block's state under ~/.foundry/anvil/tmp: a test
        # session's chain reached 10 GB there. The recent states (a revert is replayed at its block) stay.
        command += ["--prune-history", str(KEPT_STATES)]
        if self._block_time is not None:
            command += ["--block-time", str(self._block_time)]
        if self._steps_tracing:
            command.append("--steps-tracing")
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        w3 = Web3(HTTPProvider(self.rpc_url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ChainError(f"anvil exited with code {self._process.returncode} on port {self.port}")
            try:
                if w3.eth.chain_id == self.chain_id:
                    return self
            except Exception:  # not listening yet
                time.sleep(0.1)
        self.stop()
        raise ChainError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f}s")

    @property
    def pid(self) -> int | None:
        """The anvil process's id while it runs (tests stop and continue it to stand for a stalled chain)."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
