"""Where a submit's gas goes beyond the bare verification of its proof, from Anvil's opcode traces.

``ZkOracle.submit`` runs the feed's verifier as a call; the bare ``verifyProof`` transaction runs
the same code with the same proof as the transaction itself. So a submit's overhead is exactly:

- its extra calldata (the intrinsic gas of the two transactions differs only by calldata);
- what the oracle's own frame spends, split by opcode class (storage reads and writes, the
  event, the verifier call's own cost: cold account access and copying the proof, calls the
  input policy makes with everything they run, hashing, memory, the rest as compute);
- any difference between the verifier's execution inside the call and as a transaction.

The classes are summed from ``debug_traceTransaction``'s struct logs (one step per opcode,
with the gas left before it); their total must equal the measured overhead to the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

CALLS = frozenset({"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"})
MEMORY = frozenset({"MLOAD", "MSTORE", "MSTORE8", "MCOPY", "CALLDATACOPY", "CODECOPY", "RETURNDATACOPY"})
# The gas an SLOAD of a slot not yet touched in the transaction costs (EIP-2929).
COLD_SLOAD = 2100

CALLDATA = "calldata"
STORAGE_READS = "storage reads (SLOAD)"
STORAGE_WRITES = "storage writes (SSTORE)"
EVENT = "event (LOG)"
VERIFIER_CALL = "verifier call: cold account, proof copied"
POLICY_CALLS = "input-policy calls (sources, signatures), all they run"
HASHING = "hashing (KECCAK256)"
MEMORY_CLASS = "memory (loads, stores, copies)"
COMPUTE = "compute (everything else)"
VERIFIER_DIFFERENCE = "verifier run inside the call minus run bare"
CLASSES = (
    CALLDATA,
    STORAGE_READS,
    STORAGE_WRITES,
    EVENT,
    VERIFIER_CALL,
    POLICY_CALLS,
    HASHING,
    MEMORY_CLASS,
    COMPUTE,
    VERIFIER_DIFFERENCE,
)


@dataclass(frozen=True)
class Step:
    op: str
    depth: int
    gas: int  # left before the step
    cost: int  # the step's own cost as traced (for a call: not what the callee spends)


@dataclass
class FrameCosts:
    """The top frame's gas by class, and what the calls it made spent inside."""

    by_class: dict[str, int] = field(default_factory=dict)
    cold_slots_read: int = 0
    slots_written: int = 0
    verifier_execution: int = 0  # the largest callee: the verifier dwarfs every other call


def trace(w3: Web3, tx_hash: str) -> list[Step]:
    """The transaction's opcode steps (no stack, memory or storage: only gas is needed)."""
    options = {"disableStack": True, "disableMemory": True, "disableStorage": True, "enableMemory": False}
    response: Any = w3.provider.make_request("debug_traceTransaction", [tx_hash, options])  # type: ignore[arg-type]
    if "error" in response:
        raise RuntimeError(f"debug_traceTransaction {tx_hash}: {response['error']}")
    logs = response["result"]["structLogs"]
    if not logs:
        raise RuntimeError(f"debug_traceTransaction {tx_hash}: no opcode steps (start anvil with --steps-tracing)")
    return [Step(s["op"], int(s["depth"]), int(s["gas"]), int(s["gasCost"])) for s in logs]


def execution_gas(steps: Sequence[Step]) -> int:
    """Gas the top frame and everything it called spent (refunds aside, which a submit earns none of)."""
    last = steps[-1]
    return steps[0].gas - (last.gas - last.cost)


def top_frame_costs(steps: Sequence[Step]) -> FrameCosts:
    """The top frame's steps by class. A step costs the gas it took from the frame; for a call
    that is its own cost plus what its callee spent, told apart by the callee's first and last steps."""
    costs = FrameCosts(by_class=dict.fromkeys(CLASSES[1:-1], 0))
    calls: list[tuple[int, int]] = []  # (gas taken from the frame, what the callee spent of it)
    top = [i for i, step in enumerate(steps) if step.depth == 1]
    for position, i in enumerate(top):
        step = steps[i]
        following = top[position + 1] if position + 1 < len(top) else None
        taken = step.cost if following is None else step.gas - steps[following].gas
        if step.op in CALLS:
            # A precompile runs no steps of its own: all it spends is the call's.
            inner = 0 if following is None or following == i + 1 else execution_gas(steps[i + 1 : following])
            calls.append((taken, inner))
            continue
        costs.by_class[_class_of(step)] += taken
        if step.op == "SLOAD" and step.cost >= COLD_SLOAD:
            costs.cold_slots_read += 1
        costs.slots_written += step.op == "SSTORE"
    if calls:
        verifier = max(range(len(calls)), key=lambda n: calls[n][1])  # it dwarfs every other call
        for n, (taken, inner) in enumerate(calls):
            if n == verifier:
                costs.verifier_execution = inner
                costs.by_class[VERIFIER_CALL] += taken - inner
            else:
                costs.by_class[POLICY_CALLS] += taken
    return costs


def overhead_breakdown(w3: Web3, *, submit_tx: str, verify_tx: str) -> dict[str, Any]:
    """Where ``submit_tx``'s gas beyond ``verify_tx``'s (the bare verification of the same proof) goes."""
    submit_receipt, verify_receipt = (
        w3.eth.get_transaction_receipt(submit_tx),
        w3.eth.get_transaction_receipt(verify_tx),
    )
    submit_steps, verify_steps = trace(w3, submit_tx), trace(w3, verify_tx)
    submit_intrinsic = int(submit_receipt["gasUsed"]) - execution_gas(submit_steps)
    verify_intrinsic = int(verify_receipt["gasUsed"]) - execution_gas(verify_steps)
    frame = top_frame_costs(submit_steps)
    breakdown = {CALLDATA: submit_intrinsic - verify_intrinsic, **frame.by_class}
    breakdown[VERIFIER_DIFFERENCE] = frame.verifier_execution - execution_gas(verify_steps)
    overhead = int(submit_receipt["gasUsed"]) - int(verify_receipt["gasUsed"])
    if sum(breakdown.values()) != overhead:
        raise RuntimeError(f"the classes sum to {sum(breakdown.values())}, the overhead is {overhead}")
    return {
        "gas": breakdown,
        "cold_slots_read": frame.cold_slots_read,
        "slots_written": frame.slots_written,
    }


def _class_of(step: Step) -> str:
    if step.op == "SLOAD":
        return STORAGE_READS
    if step.op == "SSTORE":
        return STORAGE_WRITES
    if step.op.startswith("LOG"):
        return EVENT
    if step.op in ("KECCAK256", "SHA3"):
        return HASHING
    if step.op in MEMORY:
        return MEMORY_CLASS
    return COMPUTE
