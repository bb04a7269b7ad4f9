"""The `zkoracle` command as a user runs it: a real process, a real Anvil, real proofs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from web3 import Web3

from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.zkoracle import INT192_MAX, INT192_MIN, FeedParams, InputPolicy, ZkOracle
from oracle.store import FailureKind, Round, RoundStatus, Store
from tests.conftest import DEMO_FEED, add_deployment
from tests.multichain import FIRST_CHAIN, SECOND_CHAIN, add_two_chain_feed


def _zkoracle(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ZKORACLE_HOME": str(home), "COLUMNS": "400", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "oracle", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


def test_run_posts_rounds_and_shows_model_vs_onchain_values(tmp_path: Path, demo_circuit: object) -> None:
    result = _zkoracle("run", "--rounds", "2", "--with-consumer", str(DEMO_FEED), home=tmp_path)  # as `make run`
    assert result.returncode == 0, result.stdout + result.stderr
    reports = re.findall(
        r"model output \(float\)\s+([\d.]+)\n\s+consumer read on-chain\s+([\d.]+)\n"
        r"\s+\|difference\|\s+([\d.]+)\s+within the quantisation error ([\d.]+)\n.*submit gas ([\d,]+)",
        result.stdout,
    )
    assert len(reports) == 2, result.stdout
    for model, onchain, delta, tolerance, gas in reports:
        assert abs(abs(float(model) - float(onchain)) - float(delta)) < 1e-5
        assert float(delta) <= float(tolerance)
        assert int(gas.replace(",", "")) > 300_000

    status = _zkoracle("status", home=tmp_path)
    assert status.returncode == 0, status.stderr
    line = next(line for line in status.stdout.splitlines() if line.strip("│ ").startswith("demo"))
    cells = [cell.strip() for cell in line.strip("│").split("│")]
    assert cells[1] == "31337"  # the chain
    assert cells[5] == "2" and cells[6] == "0"  # landed, failed
    assert cells[4].startswith("0x")


def test_sigterm_stops_a_running_node_and_its_embedded_anvil(tmp_path: Path, demo_circuit: object) -> None:
    environment = {**os.environ, "ZKORACLE_HOME": str(tmp_path), "COLUMNS": "400"}
    node = subprocess.Popen(
        [sys.executable, "-m", "oracle", "run", "--rounds", "0", str(DEMO_FEED)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    assert node.stdout is not None
    seen = []
    for line in node.stdout:  # up to the first round's report: the feed is running
        seen.append(line)
        if line.startswith("demo round "):
            break
    children = Path(f"/proc/{node.pid}/task/{node.pid}/children").read_text().split()
    anvils = [int(pid) for pid in children if "anvil" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(anvils) == 1, "".join(seen)

    node.send_signal(signal.SIGTERM)  # as systemd or `docker stop` stops a service
    output = "".join(seen) + node.stdout.read()
    assert node.wait(timeout=60) == 0, output
    assert "stopped" in output and "Traceback" not in output, output
    with pytest.raises(ProcessLookupError):
        os.kill(anvils[0], 0)


def test_build_reports_a_cached_circuit(tmp_path: Path, demo_circuit: object) -> None:
    result = _zkoracle("build", str(DEMO_FEED), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cached" in result.stdout and "dev SRS" in result.stdout


def test_bad_feed_is_a_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "feed.toml").write_text('id = "broken"\ndecimals = "eight"\n')
    result = _zkoracle("build", str(folder), home=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().startswith("error: feed 'broken', field '")


def test_deploy_registers_the_feed_on_a_running_chain(tmp_path: Path, anvil: AnvilNode, w3: Web3) -> None:
    result = _zkoracle("deploy", str(DEMO_FEED), "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    oracle_address = re.search(r"oracle (0x[0-9a-fA-F]{40})", result.stdout).group(1)  # type: ignore[union-attr]
    params = ZkOracle(w3, oracle_address).feed_params("demo")
    assert params == FeedParams(
        decimals=8,
        heartbeat=60,
        max_observation_age=120,
        input_policy=InputPolicy.OPERATOR,
        permissionless=False,
        min_answer=INT192_MIN,
        max_answer=INT192_MAX,
        description="ETH / USD next-tick forecast (synthetic prices)",
        rounds_retained=1024,
    )
    (feed,) = Store.sqlite(tmp_path / "zkoracle.db").feeds()  # the definition the deployment was made from
    assert (feed.id, feed.folder, feed.decimals, feed.schedule) == ("demo", str(DEMO_FEED), 8, "every 10s")


def test_dev_srs_verifier_is_refused_on_a_non_dev_chain_unless_forced(tmp_path: Path) -> None:
    keys = {"ZKORACLE_DEPLOYER_KEY": dev_account(0).key.hex(), "ZKORACLE_RELAYER_KEY": dev_account(1).key.hex()}
    with AnvilNode(chain_id=1) as mainnet_like:
        refused = _zkoracle("deploy", str(DEMO_FEED), "--rpc-url", mainnet_like.rpc_url, home=tmp_path, env=keys)
        assert refused.returncode == 1
        assert "error: feed 'demo'" in refused.stdout and "--force-dev-srs" in refused.stdout
        assert connect(mainnet_like.rpc_url).eth.get_transaction_count(dev_account(0).address) == 0

        forced = _zkoracle(
            "deploy", str(DEMO_FEED), "--rpc-url", mainnet_like.rpc_url, "--force-dev-srs", home=tmp_path, env=keys
        )
        assert forced.returncode == 0, forced.stdout + forced.stderr


def test_pause_and_resume_a_deployed_feed(tmp_path: Path, anvil: AnvilNode, w3: Web3) -> None:
    deployed = _zkoracle("deploy", str(DEMO_FEED), "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    oracle = ZkOracle(w3, re.search(r"oracle (0x[0-9a-fA-F]{40})", deployed.stdout).group(1))  # type: ignore[union-attr]

    paused = _zkoracle("pause", "demo", "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert paused.returncode == 0 and "paused" in paused.stdout, paused.stdout + paused.stderr
    assert oracle.is_paused("demo")
    resumed = _zkoracle("resume", "demo", "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert not oracle.is_paused("demo")

    halted = _zkoracle("halt", "demo", "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert halted.returncode == 0 and "reads halted" in halted.stdout, halted.stdout + halted.stderr
    assert oracle.is_halted("demo") and not oracle.is_paused("demo")  # halt stops reads, not writes
    unhalted = _zkoracle("unhalt", "demo", "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert unhalted.returncode == 0, unhalted.stdout + unhalted.stderr
    assert not oracle.is_halted("demo")

    unknown = _zkoracle("pause", "nope", "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert unknown.returncode == 1 and unknown.stdout.startswith("error: feed 'nope' has no live deployment")


def _status_rows(result: subprocess.CompletedProcess[str], feed_id: str) -> dict[str, list[str]]:
    """The status table's lines of ``feed_id``, by chain (the second column)."""
    lines = [line for line in result.stdout.splitlines() if line.strip("│ ").startswith(feed_id + " ")]
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]
    return {cells[1]: cells for cells in rows}


def test_status_breaks_failed_rounds_down_by_reason(tmp_path: Path) -> None:
    store = Store.sqlite(tmp_path / "zkoracle.db")
    deployment = add_deployment(store, feed_id="risk")
    failures = [
        (FailureKind.SOURCE, "callable signals:latest raised RuntimeError: exchange API down", None),
        (FailureKind.SOURCE, "feed 'risk': source returned 3 values, the model takes 4", None),
        (FailureKind.SOURCE, "callable signals:latest: no answer within 10 s", None),
        (FailureKind.PROVER, "the proof failed local verification", None),
        (
            FailureKind.REVERTED,
            "feed 'risk' round 5: transaction 0xab reverted: StaleObservation(1700000000)",
            "StaleObservation",
        ),
        (FailureKind.REFUSED, "feed 'risk' round 6: submit would revert: ProofReplayed()", "ProofReplayed"),
        (FailureKind.ABANDONED, "abandoned: the node stopped before the round's proof was stored", None),
    ]
    for kind, reason, error in failures:
        store.add(
            Round(
                feed_id="risk",
                deployment_id=deployment.id,  # type: ignore[arg-type]
                circuit_key="k",
                status=RoundStatus.FAILED,
                inputs_json="[]",
                failure_kind=kind,
                failure_reason=reason,
                failure_error=error,
            )
        )
    store.add(
        Round(
            feed_id="risk",
            deployment_id=deployment.id,  # type: ignore[arg-type]
            circuit_key="k",
            status=RoundStatus.LANDED,
            inputs_json="[]",
            proven_output=0.25,
            prove_seconds=2.5,
            tx_hash="0x" + "cd" * 32,
            landed_at=datetime.now(UTC),
        )
    )

    result = _zkoracle("status", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (cells,) = _status_rows(result, "risk").values()
    assert cells[1:3] + cells[4:9] == ["31337", "0.250000", "0x" + "cd" * 32, "1", "7", "0", "2.50"]
    # Commonest first, ties by name; the four remaining kinds (one round each) are summed.
    assert cells[9] == "source 3, abandoned 1, prover 1, +2 more"


def test_status_shows_a_feed_per_chain_and_each_proof_once(tmp_path: Path) -> None:
    feed = add_two_chain_feed(Store.sqlite(tmp_path / "zkoracle.db"))
    result = _zkoracle("status", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _status_rows(result, "demo")
    assert set(rows) == {str(FIRST_CHAIN), str(SECOND_CHAIN)}
    first, second = rows[str(FIRST_CHAIN)], rows[str(SECOND_CHAIN)]
    assert first[4:8] == [str(feed.rounds["p2"].tx_hash), "2", "0", "1"]  # last tx, landed, failed, in flight
    assert second[4:8] == [str(feed.rounds["c1"].tx_hash), "1", "1", "1"]
    assert (first[2], second[2]) == ("2001.250000", "2000.500000")  # each chain's last landed value
    assert first[8] == "5.00"  # the mean of the three proofs
    assert second[8] == "-"  # its rounds post the first chain's proofs: none of its own
    assert second[9] == "superseded 1"


@pytest.mark.parametrize("command", [("provers",), ("status",), ("api",)])
def test_every_command_prints_a_library_error_as_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    """One root handler turns any ZkOracleError into a line: commands do not opt in one by one."""
    result = _zkoracle(*command, "--db", "nosuchdriver://nowhere", home=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("error: cannot open the database at nosuchdriver://nowhere")
    assert len(result.stdout.strip().splitlines()) == 1
