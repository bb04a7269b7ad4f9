"""Real prover processes on 127.0.0.1, each with its own hotkey, started once per session.

The honest prover is ``zkoracle prover serve`` itself (only the node's hotkey may use
it); the slow and lying ones are the same server with another proving target
(:mod:`tests.provers.rogue_server`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from bittensor.keyfiles import Keypair

from bench.skeleton import until_healthy
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.evm.anvil import free_port
from oracle.feeds.schema import FeedSpec
from oracle.paths import PROJECT_ROOT
from oracle.provers import Proof
from oracle.provers.identity import load_hotkey
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver

SLOW_DELAY_SECONDS = 30.0
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ProverProcess:
    hotkey: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def endpoint(self) -> ProverEndpoint:
        return ProverEndpoint(hotkey=self.hotkey, url=self.url)


@dataclass(frozen=True)
class ArtifactServer:
    """A plain static HTTP server holding the demo circuit's recipe and SRS, recording what is fetched."""

    url: str
    fetched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProverTrio:
    honest: ProverProcess
    slow: ProverProcess
    liar: ProverProcess  # answers at once with a proof that has one byte flipped


@pytest.fixture(scope="session")
def wallets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wallets")


def hotkey(wallets: Path, name: str) -> Keypair:
    return load_hotkey(f"tests/{name}", path=wallets, create=True)


@pytest.fixture(scope="session")
def node_signer(wallets: Path) -> Keypair:
    """The node's (validator's) hotkey."""
    return hotkey(wallets, "node")


@pytest.fixture(scope="session")
def proof_file(tmp_path_factory: pytest.TempPathFactory, demo_proof: Proof) -> Path:
    path = tmp_path_factory.mktemp("canned") / "proof.json"
    path.write_bytes(demo_proof.document)
    return path


def _start(command: list[str], *, name: str, hotkey: str, port: int, workdir: Path) -> ProverProcess:
    log = workdir / f"{name}.log"
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "ZKORACLE_HOME": str(workdir / name)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return ProverProcess(hotkey=hotkey, url=f"http://127.0.0.1:{port}", process=process, log=log)


def _wait_until_healthy(provers: list[ProverProcess], signer: Keypair) -> None:
    def probe(prover: ProverProcess) -> Coroutine[None, None, None]:
        def exited() -> str | None:
            if prover.process.poll() is None:
                return None
            return f"prover exited with {prover.process.returncode}:\n{prover.log.read_text()}"

        remote = RemoteProver(prover.endpoint, signer=signer, recipes=NodeRecipes())
        return until_healthy(remote, within=START_TIMEOUT_SECONDS, exited=exited)

    async def all_of_them() -> None:
        await asyncio.gather(*(probe(prover) for prover in provers))

    asyncio.run(all_of_them())


def _stop(prover: ProverProcess) -> None:
    prover.process.terminate()
    try:
        prover.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        prover.process.kill()
        prover.process.wait()


SERVE = [sys.executable, "-m", "oracle", "prover", "serve"]
ROGUE = [sys.executable, "-m", "tests.provers.rogue_server", "--behaviour"]


class ProverLauncher:
    """Starts prover processes, each with its own hotkey and port, and stops them all on close."""

    def __init__(self, workdir: Path, wallets: Path, signer: Keypair) -> None:
        self._workdir, self._wallets, self._signer = workdir, wallets, signer
        self._stack = ExitStack()

    def start(self, *provers: tuple[str, list[str]]) -> list[ProverProcess]:
        """Each of ``provers`` is a name and its command without the options common to all."""
        started = []
        for name, command in provers:
            port = free_port()
            command = [
                *command,
                *("--port", str(port), "--wallet", f"tests/{name}", "--wallet-path", str(self._wallets)),
                *("--cache-dir", str(self._workdir / name / "recipes")),
            ]
            prover = _start(
                command, name=name, hotkey=hotkey(self._wallets, name).ss58_address, port=port, workdir=self._workdir
            )
            self._stack.callback(_stop, prover)
            started.append(prover)
        _wait_until_healthy(started, self._signer)
        return started

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="package")
def launcher(tmp_path_factory: pytest.TempPathFactory, wallets: Path, node_signer: Keypair) -> Iterator[ProverLauncher]:
    workdir = tmp_path_factory.mktemp("provers")
    launcher = ProverLauncher(workdir, wallets, node_signer)
    try:
        yield launcher
    finally:
        launcher.close()
        # Every prover derives its own copy of each proving key (hundreds of MB for the slices): not past this package.
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="package")
def artifact_server(
    tmp_path_factory: pytest.TempPathFactory, demo_circuit: CircuitArtifacts
) -> Iterator[ArtifactServer]:
    folder = tmp_path_factory.mktemp("artifacts")
    digest, recipe = NodeRecipes().recipe(demo_circuit)
    (folder / f"{digest}.recipe").write_text(recipe.model_dump_json())
    shutil.copyfile(demo_circuit.srs, folder / f"{recipe.srs}.srs")
    fetched: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:
            fetched.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield ArtifactServer(url=f"http://127.0.0.1:{server.server_address[1]}", fetched=fetched)
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="package")
def trio(
    launcher: ProverLauncher, node_signer: Keypair, proof_file: Path, artifact_server: ArtifactServer
) -> ProverTrio:
    """The honest prover takes recipes and the SRS from the artifact server; the others are sent them by the node."""
    honest, slow, liar = launcher.start(
        ("honest", [*SERVE, "--allow", node_signer.ss58_address, "--artifact-url", artifact_server.url]),
        ("slow", [*ROGUE, "slow", "--delay", str(SLOW_DELAY_SECONDS)]),
        ("liar", [*ROGUE, "flip", "--proof-file", str(proof_file)]),
    )
    return ProverTrio(honest=honest, slow=slow, liar=liar)


def set_up(prover: ProverProcess, signer: Keypair, circuit: CircuitArtifacts, inputs: Sequence[float]) -> None:
    """Has ``prover`` derive ``circuit``'s keys now (one proof request, its answer unread).

    A prover new to a circuit first sets it up (seconds): a rogue one meant to answer a
    race first must not lose it to that.
    """

    async def once() -> None:
        async with httpx.AsyncClient(timeout=300.0) as client:
            await RemoteProver(prover.endpoint, signer=signer, recipes=NodeRecipes()).aprove(client, circuit, inputs)

    asyncio.run(once())


@pytest.fixture(scope="package")
def replayer(
    launcher: ProverLauncher,
    proof_file: Path,
    node_signer: Keypair,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
) -> ProverProcess:
    """Answers at once with a valid proof of the demo model on other inputs (sample 0)."""
    (prover,) = launcher.start(("replayer", [*ROGUE, "replay", "--proof-file", str(proof_file)]))
    set_up(prover, node_signer, demo_circuit, demo_spec.model_samples()[0])
    return prover
