"""PhasedRoundIds on its own, through a harness: `(phaseId << 64) | roundInPhase` and the next id."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from library_harness import harness_contracts
from web3.contract import Contract
from zkoracle_testkit import deploy, err, view_error

from oracle.evm.zkoracle import RoundId
from relayer.sender import TransactionSender

MAX_PHASE, MAX_ROUND = 2**16 - 1, 2**64 - 1
phases = st.integers(0, MAX_PHASE)
rounds = st.integers(0, MAX_ROUND)


@pytest.fixture(scope="module")
def lib(owner: TransactionSender) -> Contract:
    return deploy(owner, harness_contracts()["PhasedRoundIdsHarness"])


@pytest.mark.parametrize(
    ("phase", "round_in_phase", "packed"),
    [
        (0, 0, 0),
        (0, 1, 1),
        (1, 0, 2**64),
        (1, 1, 2**64 + 1),
        (MAX_PHASE, MAX_ROUND, 2**80 - 1),
        (0, MAX_ROUND, MAX_ROUND),
    ],
)
def test_pack_and_unpack(lib: Contract, phase: int, round_in_phase: int, packed: int) -> None:
    assert int(RoundId(phase, round_in_phase)) == packed
    assert lib.functions.pack(phase, round_in_phase).call() == packed
    assert lib.functions.phaseOf(packed).call() == phase
    assert lib.functions.roundInPhaseOf(packed).call() == round_in_phase


@settings(max_examples=100, deadline=None, database=None)
@given(phase=phases, round_in_phase=rounds)
def test_every_id_unpacks_to_what_was_packed(lib: Contract, phase: int, round_in_phase: int) -> None:
    packed = lib.functions.pack(phase, round_in_phase).call()
    assert packed == int(RoundId(phase, round_in_phase))
    assert (lib.functions.phaseOf(packed).call(), lib.functions.roundInPhaseOf(packed).call()) == (
        phase,
        round_in_phase,
    )


@pytest.mark.parametrize(
    ("latest", "phase", "expected"),
    [
        (0, 1, int(RoundId(1, 1))),  # a feed's first round
        (0, 0, int(RoundId(0, 1))),  # phase 0 counts like any other
        (int(RoundId(1, 5)), 1, int(RoundId(1, 6))),
        (int(RoundId(1, 5)), 2, int(RoundId(2, 1))),  # a new phase restarts the count
        (int(RoundId(1, 5)), MAX_PHASE, int(RoundId(MAX_PHASE, 1))),
        (int(RoundId(1, MAX_ROUND)), 2, int(RoundId(2, 1))),  # an exhausted phase does not hold back the next
        (int(RoundId(MAX_PHASE, MAX_ROUND - 1)), MAX_PHASE, 2**80 - 1),  # the very last id
    ],
)
def test_next(lib: Contract, latest: int, phase: int, expected: int) -> None:
    assert lib.functions.next(latest, phase).call() == expected


@pytest.mark.parametrize("phase", [0, 1, MAX_PHASE])
def test_next_refuses_an_exhausted_phase(lib: Contract, phase: int) -> None:
    # One more would carry into the phase bits and forge an id of the next phase.
    assert view_error(lib.functions.next(int(RoundId(phase, MAX_ROUND)), phase)) == err(
        "PhasedRoundIdsPhaseExhausted", phase
    )


@pytest.mark.parametrize(("latest_phase", "phase"), [(1, 0), (3, 2), (MAX_PHASE, 0), (MAX_PHASE, MAX_PHASE - 1)])
def test_next_refuses_an_older_phase(lib: Contract, latest_phase: int, phase: int) -> None:
    assert view_error(lib.functions.next(int(RoundId(latest_phase, 1)), phase)) == err(
        "PhasedRoundIdsPhaseBehind", phase, latest_phase
    )


@settings(max_examples=100, deadline=None, database=None)
@given(latest_phase=phases, latest_round=rounds, phase=phases)
def test_next_ids_keep_increasing(lib: Contract, latest_phase: int, latest_round: int, phase: int) -> None:
    latest = int(RoundId(latest_phase, latest_round))
    call = lib.functions.next(latest, phase)
    if phase < latest_phase:
        assert view_error(call) == err("PhasedRoundIdsPhaseBehind", phase, latest_phase)
    elif phase == latest_phase and latest_round == MAX_ROUND:
        assert view_error(call) == err("PhasedRoundIdsPhaseExhausted", phase)
    else:
        following = call.call()
        assert following > latest
        assert following == (latest + 1 if phase == latest_phase else int(RoundId(phase, 1)))
