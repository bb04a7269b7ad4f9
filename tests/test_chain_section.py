"""A feed's `[chain]`: where `zkoracle deploy` and `run` post it, with which relayer key; CLI flags win.

Real processes against the session Anvil; keys come from the environment or a real keystore.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from oracle.deployments.keys import feed_relayer_account
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.zkoracle import ZkOracle
from oracle.exceptions import FeedSpecError
from oracle.feeds.loader import load_feed
from oracle.store import RoundStatus, Store
from tests.conftest import DEMO_FEED
from tests.test_cli import _zkoracle

FEED_ID = "chain-demo"
KEY_ENV = "ZK_TEST_CHAIN_RELAYER_KEY"
PASSWORD_ENV = "ZK_TEST_CHAIN_KEYSTORE_PASSWORD"
UNUSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing answers JSON-RPC there


def _feed(folder: Path, chain: str) -> Path:
    """The demo feed under another id, posting every tick, with ``chain`` as its [chain] table."""
    shutil.copytree(DEMO_FEED, folder)
    toml = folder / "feed.toml"
    text = toml.read_text().replace('id = "demo"', f'id = "{FEED_ID}"')
    text = text[: text.index("[trigger]")]  # no deviation trigger: the first tick posts
    toml.write_text(text + "\n[chain]\n" + chain)
    return folder


def _oracle_address(stdout: str) -> str:
    return re.search(r"oracle (0x[0-9a-fA-F]{40})", stdout).group(1)  # type: ignore[union-attr]


def _one_line_error(stdout: str, *, field: str) -> str:
    assert len(stdout.strip().splitlines()) == 1, stdout
    assert stdout.startswith(f"error: feed '{FEED_ID}', field '{field}': "), stdout
    return stdout.strip()


def _keystore(folder: Path, password: str) -> Path:
    # A low scrypt cost keeps the test quick; the file format is the one geth and cast write.
    keystore = Account.encrypt(dev_account(6).key, password, kdf="scrypt", iterations=2**14)
    path = folder / "relayer.json"
    path.write_text(json.dumps(keystore))
    return path


def test_run_posts_where_the_chain_section_says_signed_by_its_relayer_key(
    tmp_path: Path, anvil: AnvilNode, w3: Web3, monkeypatch: pytest.MonkeyPatch, demo_circuit: object
) -> None:
    relayer = dev_account(5)  # not the default dev relayer (account 1)
    monkeypatch.setenv(KEY_ENV, relayer.key.hex())
    existing = _zkoracle("deploy", str(DEMO_FEED), "--rpc-url", anvil.rpc_url, home=tmp_path / "other")
    assert existing.returncode == 0, existing.stdout + existing.stderr
    oracle_address = _oracle_address(existing.stdout)
    folder = _feed(
        tmp_path / "feed",
        f'rpc_url = "{anvil.rpc_url}"\nchain_id = 31337\noracle_address = "{oracle_address}"\n'
        f'relayer_key_env = "{KEY_ENV}"\n',
    )

    result = _zkoracle("run", "--rounds", "1", str(folder), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "local Anvil" not in result.stdout  # the feed named its chain: none was started
    assert _oracle_address(result.stdout) == oracle_address  # registered on the oracle [chain] names
    (landed,) = Store.sqlite(tmp_path / "zkoracle.db").rounds(feed_id=FEED_ID, status=RoundStatus.LANDED)
    assert w3.eth.get_transaction(landed.tx_hash)["from"] == relayer.address  # type: ignore[arg-type]
    oracle = ZkOracle(w3, oracle_address)
    assert oracle.is_submitter(FEED_ID, relayer.address)
    assert not oracle.is_submitter(FEED_ID, dev_account(1).address)


def test_a_chain_id_other_than_the_rpcs_is_refused_before_any_transaction(
    tmp_path: Path, anvil: AnvilNode, w3: Web3
) -> None:
    folder = _feed(tmp_path / "feed", f'rpc_url = "{anvil.rpc_url}"\nchain_id = 8453\n')
    nonce = w3.eth.get_transaction_count(dev_account(0).address)
    for command in (["deploy", str(folder)], ["run", "--rounds", "1", str(folder)]):
        result = _zkoracle(*command, home=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        message = _one_line_error(result.stdout, field="chain.chain_id")
        assert f"the chain at {anvil.rpc_url} has chain id 31337, not 8453" in message
        assert "point chain.rpc_url at chain 8453, or set chain_id = 31337" in message
    assert w3.eth.get_transaction_count(dev_account(0).address) == nonce


def test_a_missing_key_variable_names_the_feed_field_and_fix(
    tmp_path: Path, anvil: AnvilNode, w3: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    folder = _feed(tmp_path / "feed", f'rpc_url = "{anvil.rpc_url}"\nchain_id = 31337\nrelayer_key_env = "{KEY_ENV}"\n')
    nonce = w3.eth.get_transaction_count(dev_account(0).address)
    result = _zkoracle("deploy", str(folder), home=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    message = _one_line_error(result.stdout, field="chain.relayer_key_env")
    assert f"the environment variable {KEY_ENV} is not set; export {KEY_ENV}" in message
    assert w3.eth.get_transaction_count(dev_account(0).address) == nonce  # refused before deploying anything


def test_a_keystore_and_its_password_variable_give_the_relayer_key(
    tmp_path: Path, anvil: AnvilNode, w3: Web3, monkeypatch: pytest.MonkeyPatch, demo_circuit: object
) -> None:
    folder = tmp_path / "feed"
    _feed(folder, f'rpc_url = "{anvil.rpc_url}"\nchain_id = 31337\nkeystore = "relayer.json"\n')
    (folder / "feed.toml").write_text((folder / "feed.toml").read_text() + f'password_env = "{PASSWORD_ENV}"\n')
    _keystore(folder, "correct horse")
    monkeypatch.setenv(PASSWORD_ENV, "correct horse")

    result = _zkoracle("deploy", str(folder), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    oracle = ZkOracle(w3, _oracle_address(result.stdout))
    assert oracle.is_submitter(FEED_ID, dev_account(6).address)


def test_keystore_errors_name_the_field_never_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _feed(tmp_path / "feed", f'rpc_url = "{UNUSED_PORT_URL}"\nchain_id = 31337\nkeystore = "relayer.json"\n')
    (folder / "feed.toml").write_text((folder / "feed.toml").read_text() + f'password_env = "{PASSWORD_ENV}"\n')
    spec = load_feed(folder)

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(FeedSpecError, match=f"field 'chain.password_env': the environment variable {PASSWORD_ENV}"):
        feed_relayer_account(spec)
    monkeypatch.setenv(PASSWORD_ENV, "wrong battery")
    with pytest.raises(FeedSpecError, match="field 'chain.keystore': cannot read .*relayer.json"):
        feed_relayer_account(spec)
    _keystore(folder, "correct horse")
    with pytest.raises(FeedSpecError, match=f"field 'chain.password_env': {PASSWORD_ENV} does not decrypt") as info:
        feed_relayer_account(spec)
    assert "wrong battery" not in str(info.value)
    (folder / "relayer.json").write_text(json.dumps({"address": dev_account(6).address}))
    with pytest.raises(FeedSpecError, match="field 'chain.keystore': .* is not an encrypted JSON keystore"):
        feed_relayer_account(spec)

    monkeypatch.setenv(KEY_ENV, "0x1234")
    keyed = _feed(
        tmp_path / "keyed", f'rpc_url = "{UNUSED_PORT_URL}"\nchain_id = 31337\nrelayer_key_env = "{KEY_ENV}"\n'
    )
    with pytest.raises(FeedSpecError, match=f"field 'chain.relayer_key_env': {KEY_ENV} does not hold") as info:
        feed_relayer_account(load_feed(keyed))
    assert "1234" not in str(info.value)


def test_cli_flags_win_over_the_chain_section(
    tmp_path: Path, anvil: AnvilNode, w3: Web3, monkeypatch: pytest.MonkeyPatch, demo_circuit: object
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    unreachable = _feed(tmp_path / "unreachable", f'rpc_url = "{UNUSED_PORT_URL}"\nchain_id = 31337\n')
    refused = _zkoracle("deploy", str(unreachable), home=tmp_path)
    assert refused.returncode == 1
    assert f"no chain answers at {UNUSED_PORT_URL}" in _one_line_error(refused.stdout, field="chain.rpc_url")
    flagged = _zkoracle("deploy", str(unreachable), "--rpc-url", anvil.rpc_url, home=tmp_path)
    assert flagged.returncode == 0, flagged.stdout + flagged.stderr

    # --rpc-url to another chain than [chain] names (a fork, a testnet): the oracle and key there are not used.
    elsewhere = _feed(
        tmp_path / "elsewhere",
        f'rpc_url = "{UNUSED_PORT_URL}"\nchain_id = 8453\noracle_address = "0x{"ab" * 20}"\n'
        f'relayer_key_env = "{KEY_ENV}"\n',
    )
    moved = _zkoracle("deploy", str(elsewhere), "--rpc-url", anvil.rpc_url, home=tmp_path / "moved")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "not chain 8453 of its [chain]; its oracle_address and relayer key are not used" in moved.stdout
    oracle = ZkOracle(w3, _oracle_address(moved.stdout))
    assert oracle.is_submitter(FEED_ID, dev_account(1).address)
