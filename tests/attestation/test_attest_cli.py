"""``zkoracle attest serve`` as a subprocess: its help documents the checks, and setup errors are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from oracle.attestation.keys import attester_account
from oracle.evm.anvil import free_port
from oracle.exceptions import ChainError
from tests.conftest import DEMO_FEED

ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _attest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oracle", "attest", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
        timeout=120,
        check=False,
    )


def test_help_documents_what_is_checked_and_signed() -> None:
    result = _attest("serve", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for needle in (
        "Observation(feedId, phaseId, inputsHash, observedAt)",
        "time limbs",
        "max_observation_age_seconds",
        "tolerance_percent",
        "own fetch of the feed's source",
        "--key-env",
        "--keystore",
        "--password-env",
    ):
        assert needle in text, needle


def test_a_missing_key_is_one_line() -> None:
    result = _attest(
        "serve", str(DEMO_FEED), "--rpc-url", "http://127.0.0.1:1", "--oracle", ORACLE, "--key-env", "NO_SUCH_KEY_VAR"
    )
    assert result.returncode == 1
    assert result.stdout.strip().splitlines() == [
        "error: the environment variable NO_SUCH_KEY_VAR is not set; export it with the attester's key"
    ]


def test_an_unreachable_chain_is_one_line() -> None:
    key = Account.create().key.hex()
    url = f"http://127.0.0.1:{free_port()}"
    result = _attest(
        "serve",
        str(DEMO_FEED),
        "--rpc-url",
        url,
        "--oracle",
        ORACLE,
        "--key-env",
        "ATTESTER_KEY",
        env={"ATTESTER_KEY": key},
    )
    assert result.returncode == 1
    (line,) = result.stdout.strip().splitlines()
    assert line.startswith("error: no chain answers at " + url)
    assert key.removeprefix("0x") not in result.stdout + result.stderr


def test_keys_from_a_keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = Account.create()
    keystore = tmp_path / "attester.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "pw", kdf="pbkdf2", iterations=2)))
    monkeypatch.setenv("ATTESTER_PW", "pw")
    assert attester_account(keystore=keystore, password_env="ATTESTER_PW").address == account.address
    monkeypatch.setenv("ATTESTER_PW", "wrong")
    with pytest.raises(ChainError, match="ATTESTER_PW does not decrypt"):
        attester_account(keystore=keystore, password_env="ATTESTER_PW")
    with pytest.raises(ChainError, match="--key-env NAME, or --keystore PATH"):
        attester_account()
