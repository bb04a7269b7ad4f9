"""One proof in a process of its own, so its peak memory is the proof's and nothing else's.

    python -m bench.proving --compiled C --pk PK --srs SRS --input INPUT.json --proof PROOF.json

Prints one JSON object: witness and bare ``ezkl.prove`` seconds, and the process's peak
RSS before proving (interpreter + ezkl loaded) and at the end (proving included).
It imports nothing but ezkl, so the baseline is what any prover process pays.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import ezkl


def _peak_rss_bytes() -> int:
    """This process image's high-water RSS (VmHWM).

    Not getrusage's ru_maxrss: Linux carries that across exec, so a child started by a
    large parent would report the parent's footprint.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise RuntimeError("/proc/self/status has no VmHWM line: peak RSS needs Linux")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proving", description=__doc__.splitlines()[0])
    for name in ("compiled", "pk", "srs", "input", "proof"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    args = parser.parse_args(argv)
    baseline = _peak_rss_bytes()
    with tempfile.TemporaryDirectory(prefix="zkoracle-bench-witness-") as tmp:
        witness = Path(tmp) / "witness.json"
        started = time.perf_counter()
        ezkl.gen_witness(data=str(args.input), model=str(args.compiled), output=str(witness))
        witness_seconds = time.perf_counter() - started
        started = time.perf_counter()
        ezkl.prove(
            witness=str(witness),
            model=str(args.compiled),
            pk_path=str(args.pk),
            proof_path=str(args.proof),
            srs_path=str(args.srs),
        )
        prove_seconds = time.perf_counter() - started
    json.dump(
        {
            "witness_seconds": witness_seconds,
            "prove_seconds": prove_seconds,
            "baseline_rss_bytes": baseline,
            "peak_rss_bytes": _peak_rss_bytes(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
