"""Provers that misbehave, for the tests only: the product's server with a dishonest or slow proving target.

    python -m tests.provers.rogue_server --behaviour {flip,replay,slow} --port P --wallet-path W --wallet NAME/HOTKEY
        --cache-dir C [--proof-file F] [--delay S] [--queue Q]

``flip`` answers every request at once with the proof in F, one byte flipped; ``replay``
answers with the proof in F unchanged (a valid proof, of other inputs); ``slow`` proves
honestly after sleeping S seconds. Authentication, recipes, signing and the queue's
bound (one worker, Q more waiting) are the real server's: only what runs in the
proving process differs.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Sequence
from pathlib import Path

from oracle.provers.base import Proof
from oracle.provers.identity import load_hotkey
from oracle.provers.local import ProvingMaterial, prove_material
from oracle.provers.pool import PoolProver, ProveTarget
from oracle.provers.recipe import RecipeCache
from oracle.provers.server import DEFAULT_QUEUE, ProverService, serve_forever


def flip_proof_byte(document: bytes, *, position: int = 100) -> bytes:
    parsed = json.loads(document)
    raw = bytearray(bytes.fromhex(parsed["hex_proof"].removeprefix("0x")))
    raw[position] ^= 0x01
    parsed["hex_proof"] = "0x" + raw.hex()
    parsed["proof"] = list(raw)
    return json.dumps(parsed).encode()


def canned(document: bytes, material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> Proof:
    return Proof(document=document, prover="rogue", prove_seconds=0.0)


def sleep_then_prove(delay: float, material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> Proof:
    time.sleep(delay)
    return prove_material(material, tensors)


def target_for(behaviour: str, *, proof_file: Path | None, delay: float) -> ProveTarget:
    if behaviour == "slow":
        return functools.partial(sleep_then_prove, delay)
    if proof_file is None:
        raise SystemExit(f"--behaviour {behaviour} needs --proof-file")
    document = proof_file.read_bytes()
    return functools.partial(canned, flip_proof_byte(document) if behaviour == "flip" else document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--behaviour", choices=["flip", "replay", "slow"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--wallet", required=True)
    parser.add_argument("--wallet-path", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--proof-file", type=Path)
    parser.add_argument("--delay", type=float, default=30.0)
    parser.add_argument("--queue", type=int, default=DEFAULT_QUEUE)
    args = parser.parse_args()
    service = ProverService(
        hotkey=load_hotkey(args.wallet, path=args.wallet_path),
        cache=RecipeCache(args.cache_dir),
        jobs=PoolProver(
            workers=1,
            queue=args.queue,
            target=target_for(args.behaviour, proof_file=args.proof_file, delay=args.delay),
        ),
    )
    serve_forever(service, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    # Run under its importable name, so the proving processes can unpickle the targets defined here.
    from tests.provers import rogue_server

    rogue_server.main()
