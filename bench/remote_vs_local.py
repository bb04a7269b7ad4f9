"""A remote proof against a local one: the same feed, the same run, rounds alternated so load drifts hit both.

Local rounds go through what ``policy = "local"`` uses (the node's process pool); remote
rounds through what ``policy = "network"`` uses (the hedged dispatcher, here with one
prover, including its acceptance checks). Both are timed from the node's side, as the
wall time a round waits for its proof, and a remote round's time is broken into the
stages the node measured and those the prover reported in its signed answer.

Also measured: the bytes a prover new to the circuit is sent before its first proof, on
the wire, against what the key-shipping protocol sent (proving key, verifying key,
settings and compiled circuit).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from bittensor.keyfiles import Keypair

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.feeds.schema import FeedSpec
from oracle.provers import Proof, Prover
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver


@dataclass
class Rounds:
    """One side's timed rounds: the node's wall seconds and each proof's stages."""

    seconds: list[float] = field(default_factory=list)
    recorded: list[float] = field(default_factory=list)  # the proof's prove_seconds: what a round row stores
    stages: list[Mapping[str, float]] = field(default_factory=list)

    def add(self, prover: Prover, circuit: CircuitArtifacts, inputs: Sequence[float]) -> None:
        started = time.perf_counter()
        proof = prover.prove(circuit, inputs)
        self.seconds.append(time.perf_counter() - started)
        self.recorded.append(proof.prove_seconds)
        self.stages.append(proof.stages)

    def summary(self) -> dict[str, Any]:
        names = dict.fromkeys(name for stages in self.stages for name in stages)
        return {
            "seconds": [round(s, 3) for s in self.seconds],
            "median_seconds": round(statistics.median(self.seconds), 3),
            "median_recorded_prove_seconds": round(statistics.median(self.recorded), 3),
            "stages_median_seconds": {
                name: round(statistics.median(stages.get(name, 0.0) for stages in self.stages), 4) for name in names
            },
        }


def measure(
    *,
    local: Prover,
    remote: Prover,
    rounds: int,
    spec: FeedSpec,
    circuit: CircuitArtifacts,
) -> dict[str, Any]:
    """``rounds`` proofs each way after one untimed warm-up each, in the order L R R L L R R L ...

    Both sides are timed as the round sees them: a local proof's wall time includes its
    worker's start and hand-off, a remote one's everything from request to accepted proof.
    """
    samples, now = spec.load_samples(), int(time.time())
    inputs = [spec.model_input(samples[i % len(samples)], observed_at=now + i) for i in range(rounds + 1)]
    local.prove(circuit, inputs[0])
    remote.prove(circuit, inputs[0])
    measured = {"local": Rounds(), "remote": Rounds()}
    for index, values in enumerate(inputs[1:]):
        order = ("local", "remote") if index % 2 == 0 else ("remote", "local")
        for side in order:
            measured[side].add(local if side == "local" else remote, circuit, values)
    local_summary, remote_summary = measured["local"].summary(), measured["remote"].summary()
    remote_summary["unaccounted_median_seconds"] = round(
        statistics.median(
            seconds - _accounted(stages)
            for seconds, stages in zip(measured["remote"].seconds, measured["remote"].stages, strict=True)
        ),
        4,
    )
    return {
        "rounds": rounds,
        "local": local_summary,
        "remote": remote_summary,
        "remote_over_local": round(remote_summary["median_seconds"] / local_summary["median_seconds"], 3),
        # The same ratio of the prove times the node records per round (the dashboard's "prove seconds").
        "recorded_remote_over_local": round(
            remote_summary["median_recorded_prove_seconds"] / local_summary["median_recorded_prove_seconds"], 3
        ),
    }


def _accounted(stages: Mapping[str, float]) -> float:
    """Seconds the named stages explain: the node's own, with the round trip standing for the prover's."""
    return sum(seconds for name, seconds in stages.items() if not name.startswith("prover."))


def bytes_to_new_prover(
    endpoint: ProverEndpoint, *, node: Keypair, circuit: CircuitArtifacts, inputs: Sequence[float]
) -> dict[str, Any]:
    """Bytes sent to a prover that holds nothing, up to and including the request its first proof answers."""
    sent: list[tuple[str, int, int]] = []  # path, bytes of request line and headers, bytes of body

    async def count(request: httpx.Request) -> None:
        head = len(request.method) + len(request.url.raw_path) + 11  # "METHOD path HTTP/1.1\r\n"
        head += sum(len(name) + len(value) + 4 for name, value in request.headers.raw)  # "name: value\r\n"
        sent.append((request.url.path, head, int(request.headers.get("content-length", 0))))

    async def first_proof() -> Proof:
        remote = RemoteProver(endpoint, signer=node, recipes=NodeRecipes())
        async with httpx.AsyncClient(timeout=600.0, event_hooks={"request": [count]}) as client:
            return await remote.aprove(client, circuit, inputs)

    asyncio.run(first_proof())
    srs = sum(body for path, _, body in sent if path.startswith("/srs/"))
    # What a prover was sent per circuit before recipes: the keys, the settings and the compiled circuit.
    shipped = {"pk": circuit.pk, "vk": circuit.vk, "settings": circuit.settings, "compiled": circuit.compiled}
    old_protocol = {name: path.stat().st_size for name, path in shipped.items()}
    return {
        "before": sum(old_protocol.values()),
        "before_parts": old_protocol,
        "after": sum(head + body for _, head, body in sent) - srs,
        "after_requests": [{"path": path, "head": head, "body": body} for path, head, body in sent],
        "srs": srs,
    }


def render_lines(results: Mapping[str, Any], bytes_sent: Mapping[str, Any]) -> list[str]:
    local, remote = results["local"], results["remote"]
    stages = ", ".join(f"{name} {seconds:.3f}" for name, seconds in remote["stages_median_seconds"].items())
    return [
        f"remote vs local, {results['rounds']} rounds each: median {remote['median_seconds']:.2f} s remote, "
        f"{local['median_seconds']:.2f} s local (x{results['remote_over_local']:.2f}; "
        f"x{results['recorded_remote_over_local']:.2f} in the prove times recorded per round)",
        f"remote stages (median s): {stages}",
        f"bytes to a new prover: {bytes_sent['before']:,} before (keys), {bytes_sent['after']:,} after "
        f"(recipe and requests) + SRS {bytes_sent['srs']:,} once",
    ]
