"""Test hook: die at a named stage of a round, exactly as a crash or an OOM kill would.

With ``ZKORACLE_CRASH_AT=<stage>`` in its environment the node sends itself SIGKILL
(no cleanup, no flush, no ``finally``) the first time it reaches that stage. The crash
tests use it to show that a restarted node finishes every round exactly once. It is
never set outside tests; unset, :func:`crash_point` does nothing.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "ZKORACLE_CRASH_AT"
STAGES = (
    "after_inference",  # inputs fetched, model run; nothing stored yet
    "during_proving",  # round stored as observed, proof not yet made
    "after_proof_stored",  # round proven and stored, no transaction yet
    "after_tx_sent",  # transaction recorded and broadcast, receipt not awaited
    "after_receipt",  # receipt in hand with enough confirmations, round not yet marked landed
)


def crash_point(stage: str) -> None:
    if stage not in STAGES:
        raise ValueError(f"unknown crash point {stage!r}; known: {', '.join(STAGES)}")
    if os.environ.get(VARIABLE) == stage:
        os.kill(os.getpid(), signal.SIGKILL)
