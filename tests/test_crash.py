"""Crash safety: `zkoracle run` killed with SIGKILL at each stage of a round, then restarted.

Every round must in the end have landed exactly once or be recorded as failed with a
reason, and the oracle's round counter must equal the store's landed rounds. The node
reaches each stage through the test hook in `oracle.store.crashpoints`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from web3 import Web3

from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.store import FailureKind, Ledger, Round, RoundStatus, Store, SubmissionStatus
from oracle.store.crashpoints import VARIABLE
from tests.conftest import DEMO_FEED


def _every_tick_feed(folder: Path) -> Path:
    """The demo feed ticking every second and posting every tick, so each run reaches a round at once."""
    shutil.copytree(DEMO_FEED, folder)
    toml = (folder / "feed.toml").read_text()
    toml, ticks = re.subn(r"(?m)^interval_seconds = .*$", "interval_seconds = 1", toml)
    toml, triggers = re.subn(r"(?ms)^\[trigger\]\n.*?(?=^\[|\Z)", "", toml)
    assert (ticks, triggers) == (1, 1), "the demo feed.toml changed shape; update this test"
    (folder / "feed.toml").write_text(toml)
    return folder


def _run(
    feed: Path, *, rpc_url: str, db: Path, home: Path, build_root: Path, crash_at: str | None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZKORACLE_HOME": str(home), "ZKORACLE_BUILD_DIR": str(build_root), "COLUMNS": "400"}
    env.pop(VARIABLE, None)
    if crash_at is not None:
        env[VARIABLE] = crash_at
    command = [sys.executable, "-m", "oracle", "run", str(feed), "--rounds", "1", "--rpc-url", rpc_url]
    return subprocess.run(
        [*command, "--db", f"sqlite:///{db}"], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_a_node_killed_at_any_stage_finishes_every_round_exactly_once_on_restart(
    tmp_path: Path, build_root: Path, demo_circuit: object
) -> None:
    """Each run is killed at the next stage; each restart first reconciles what the last one left.

    A crash point fires wherever the stage is reached, in a new tick or while resuming, so
    the round proven before one crash is the one sent, and killed again, by the next runs:
    it survives being killed after its proof was stored, after its transaction was sent
    and after its receipt, and lands once.
    """
    feed = _every_tick_feed(tmp_path / "feed")
    db, home = tmp_path / "node.db", tmp_path / "home"
    with AnvilNode(log_path=tmp_path / "anvil.log") as chain:
        w3 = connect(chain.rpc_url)

        def run(crash_at: str | None) -> tuple[subprocess.CompletedProcess[str], Store, list[Round]]:
            result = _run(feed, rpc_url=chain.rpc_url, db=db, home=home, build_root=build_root, crash_at=crash_at)
            expected = -signal.SIGKILL if crash_at else 0
            assert result.returncode == expected, f"{crash_at}: {result.stdout}{result.stderr}"
            store = Store(f"sqlite:///{db}")
            return result, store, store.rounds()

        _, _, rows = run("after_inference")
        assert rows == []  # an observation is not worth a row until it is to be proven

        _, _, rows = run("during_proving")
        assert [row.status for row in rows] == [RoundStatus.OBSERVED]
        interrupted = int(rows[0].id)  # type: ignore[arg-type]

        _, store, rows = run("after_proof_stored")
        assert [row.status for row in rows] == [RoundStatus.FAILED, RoundStatus.PROVEN]
        assert "abandoned" in str(rows[0].failure_reason) and rows[0].failure_kind is FailureKind.ABANDONED
        survivor = int(rows[1].id)  # type: ignore[arg-type]

        for stage in ("after_tx_sent", "after_receipt"):  # both reached while resuming the survivor
            _, store, rows = run(stage)
            assert [row.status for row in rows] == [RoundStatus.FAILED, RoundStatus.SUBMITTED], stage
            assert len(Ledger(store).submissions(survivor)) == 1, stage
        # Killed holding the receipt: the chain has the round, the store does not yet.
        assert _rounds_on_chain(store, w3) == 1

        _, store, _ = run(None)
        _assert_every_round_settled_once(store, w3)
        ledger = Ledger(store)
        assert ledger.round(interrupted).status is RoundStatus.FAILED
        assert ledger.round(survivor).status is RoundStatus.LANDED
        # Its transaction, broadcast before two crashes, was followed after them, never sent again.
        assert [s.status for s in ledger.submissions(survivor)] == [SubmissionStatus.CONFIRMED]
        assert len(store.rounds(status=RoundStatus.LANDED)) >= 2  # the survivor and the restarted node's new round

        # The same two stages reached by a new tick's round, with nothing left to resume.
        for stage in ("after_tx_sent", "after_receipt"):
            known = {row.id for row in store.rounds()}
            _, store, rows = run(stage)
            (fresh,) = [row for row in rows if row.id not in known]
            assert fresh.status is RoundStatus.SUBMITTED, stage
            _, store, _ = run(None)
            _assert_every_round_settled_once(store, w3)
            assert Ledger(store).round(int(fresh.id)).status is RoundStatus.LANDED, stage  # type: ignore[arg-type]
            assert [s.status for s in Ledger(store).submissions(int(fresh.id))] == [SubmissionStatus.CONFIRMED]  # type: ignore[arg-type]


def _rounds_on_chain(store: Store, w3: Web3) -> int:
    oracle_address = store.deployment(store.rounds()[0].deployment_id).oracle_address
    latest = ZkOracle(w3, oracle_address).latest_round_id("demo")
    return 0 if latest is None else latest.n


def _assert_every_round_settled_once(store: Store, w3: Web3) -> None:
    rows = store.rounds()
    unsettled = [(row.id, row.status) for row in rows if row.status not in (RoundStatus.LANDED, RoundStatus.FAILED)]
    assert unsettled == []
    assert all(row.failure_reason for row in rows if row.status is RoundStatus.FAILED)

    landed = [row for row in rows if row.status is RoundStatus.LANDED]
    on_chain = _rounds_on_chain(store, w3)
    assert on_chain == len(landed)
    assert sorted(RoundId.decode(int(str(row.onchain_round_id))).n for row in landed) == list(range(1, on_chain + 1))
    assert len({row.tx_hash for row in landed}) == len(landed)

    ledger = Ledger(store)
    for row in landed:
        confirmed = [s for s in ledger.submissions(int(row.id)) if s.status is SubmissionStatus.CONFIRMED]  # type: ignore[arg-type]
        assert [s.tx_hash for s in confirmed] == [row.tx_hash]
