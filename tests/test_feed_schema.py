"""feed.toml fields beyond the demo's: cron schedules, [chain], [input], file sources; errors name feed, field, fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oracle.deployments.keys import account_for, feed_relayer_account
from oracle.exceptions import FeedSpecError
from oracle.feeds.loader import load_feed
from oracle.sources.factory import create_source
from tests.conftest import DEMO_FEED

DEV_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # Anvil's account 1
CHAIN = '[chain]\nrpc_url = "https://rpc.example.org"\nchain_id = 8453\n'


def _feed(tmp_path: Path, extra: str = "", *, replace: tuple[str, str] | None = None) -> Path:
    folder = tmp_path / "feed"
    shutil.copytree(DEMO_FEED, folder, dirs_exist_ok=True)
    toml = folder / "feed.toml"
    text = toml.read_text()
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    toml.write_text(text + "\n" + extra)
    return folder


def _error(folder: Path) -> FeedSpecError:
    with pytest.raises(FeedSpecError) as info:
        load_feed(folder)
    message = str(info.value)
    assert message.startswith("feed 'demo', field '") and "; " in message  # the fix follows the problem
    return info.value


def test_cron_schedule_replaces_the_interval(tmp_path: Path) -> None:
    spec = load_feed(_feed(tmp_path, replace=("interval_seconds = 10", 'cron = "*/5 * * * mon-fri"')))
    assert spec.schedule.cron == "*/5 * * * mon-fri" and spec.schedule.interval_seconds is None


@pytest.mark.parametrize(
    ("schedule", "field", "problem"),
    [
        ('cron = "61 * * * *"', "schedule.cron", "higher than the maximum value (59)"),
        ('cron = "@hourly"', "schedule.cron", "wrong number of fields"),
        ('interval_seconds = 10\ncron = "* * * * *"', "schedule", "exactly one of interval_seconds and cron"),
        ("", "schedule", "exactly one of interval_seconds and cron"),
    ],
)
def test_schedule_errors(tmp_path: Path, schedule: str, field: str, problem: str) -> None:
    error = _error(_feed(tmp_path, replace=("interval_seconds = 10", schedule)))
    assert error.field == field and problem in str(error)


def test_chain_names_where_the_key_is_never_the_key(tmp_path: Path) -> None:
    spec = load_feed(
        _feed(tmp_path, CHAIN + 'oracle_address = "0x' + "ab" * 20 + '"\nrelayer_key_env = "BASE_RELAYER_KEY"\n')
    )
    assert spec.chain is not None and spec.chain.chain_id == 8453 and spec.chain.relayer_key_env == "BASE_RELAYER_KEY"
    keystore = load_feed(_feed(tmp_path, CHAIN + 'keystore = "relayer.json"\npassword_env = "RELAYER_PASSWORD"\n'))
    assert keystore.chain is not None and keystore.chain.keystore == Path("relayer.json")


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (f'relayer_key_env = "{DEV_KEY}"', "chain.relayer_key_env"),
        (f'relayer_key = "{DEV_KEY[2:]}"', "chain.relayer_key"),
        ('private_key = "anything"', "chain.private_key"),
        ('password = "hunter2"', "chain.password"),
        ('relayer_key_env = "' + " ".join(["abandon"] * 11 + ["about"]) + '"', "chain.relayer_key_env"),
    ],
)
def test_secrets_in_chain_are_refused_by_name(tmp_path: Path, lines: str, field: str) -> None:
    error = _error(_feed(tmp_path, CHAIN + lines + "\n"))
    assert error.field == field and "looks like a secret" in str(error) and "relayer_key_env" in str(error)
    assert DEV_KEY[2:] not in str(error)


@pytest.mark.parametrize(
    ("lines", "field", "problem"),
    [
        ('keystore = "k.json"', "chain", "needs password_env"),
        ('relayer_key_env = "A"\nkeystore = "k.json"\npassword_env = "P"', "chain", "not both"),
        ('relayer_key_env = "MY-KEY"', "chain.relayer_key_env", "should match pattern"),
        ("chain_id = 0", "chain.chain_id", "greater than 0"),
    ],
)
def test_chain_errors(tmp_path: Path, lines: str, field: str, problem: str) -> None:
    text = CHAIN.replace("chain_id = 8453\n", "") if "chain_id" in lines else CHAIN
    error = _error(_feed(tmp_path, text + lines + "\n"))
    assert error.field == field and problem in str(error)


def test_input_transforms_load_and_are_refused_for_onchain_inputs(tmp_path: Path) -> None:
    spec = load_feed(_feed(tmp_path, "[input]\norder = [3, 2, 1, 0]\nscale = 0.5\n"))
    assert spec.input.apply([1.0, 2.0, 3.0, 4.0]) == [2.0, 1.5, 1.0, 0.5]
    views = '[source]\nkind = "evm_view"\n[[source.views]]\naddress = "0x' + "11" * 20 + '"\ndecimals = 8\n'
    folder = _feed(tmp_path, replace=('[source]\nkind = "synthetic"', views + "[unused]\nkind = 1"))
    (folder / "feed.toml").write_text(
        (folder / "feed.toml").read_text().split("[unused]")[0]
        + "[schedule]\ninterval_seconds = 10\n[input]\nscale = 2.0\n"
    )
    error = _error(folder)
    assert error.field == "input" and "evm_view" in str(error)


@pytest.mark.parametrize(
    ("source", "field", "problem"),
    [
        ('kind = "file"\npath = "missing.csv"\ncolumns = ["close"]', "source.path", "missing.csv does not exist"),
        ('kind = "file"\npath = "samples.txt"', "source.path", "neither .csv nor .json"),
        ('kind = "file"\npath = "prices.csv"', "source.columns", "needs columns"),
        ('kind = "file"\npath = "samples.json"\nrows = "$.["', "source.rows", "not a JSONPath"),
        ('kind = "file"\npath = "prices.csv"\ncolumns = ["c"]\nwindow = 0', "source.window", "greater than 0"),
    ],
)
def test_file_source_errors_name_the_field(tmp_path: Path, source: str, field: str, problem: str) -> None:
    folder = _feed(tmp_path)
    (folder / "prices.csv").write_text("c\n1\n")
    toml = folder / "feed.toml"
    text = toml.read_text()
    start, end = text.index("[source]"), text.index("[schedule]")
    toml.write_text(text[:start] + "[source]\n" + source + "\n" + text[end:])
    error = _error(folder)
    assert error.field == field and problem in str(error)


def test_file_source_paths_are_relative_to_the_feed_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _feed(tmp_path)
    (folder / "prices.csv").write_text("c\n1\n2\n3\n4\n")
    toml = folder / "feed.toml"
    text = toml.read_text()
    start, end = text.index("[source]"), text.index("[schedule]")
    toml.write_text(
        text[:start] + '[source]\nkind = "file"\npath = "prices.csv"\ncolumns = ["c"]\nwindow = 4\n' + text[end:]
    )
    monkeypatch.chdir(tmp_path)  # not the feed folder
    assert create_source(load_feed(folder).source).fetch() == [1.0, 2.0, 3.0, 4.0]


TWO_CHAINS = (
    '[chains.base]\nrpc_url = "https://base.example.org"\nchain_id = 8453\nrelayer_key_env = "BASE_KEY"\n'
    '[chains.arbitrum]\nrpc_url = "https://arb.example.org"\nchain_id = 42161\n'
)


def test_chains_name_every_target_in_order_and_chain_is_the_default_one(tmp_path: Path) -> None:
    spec = load_feed(_feed(tmp_path, TWO_CHAINS))
    assert list(spec.targets) == ["base", "arbitrum"] and spec.chain is None
    assert spec.target_on(42161) == ("arbitrum", spec.chains["arbitrum"]) and spec.target_on(1) is None
    both = load_feed(_feed(tmp_path, CHAIN.replace("8453", "10") + TWO_CHAINS))
    assert [(name, chain.chain_id) for name, chain in both.targets.items()] == [
        ("default", 10),
        ("base", 8453),
        ("arbitrum", 42161),
    ]


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        (TWO_CHAINS.replace("42161", "8453"), "chains", "two targets name the same chain id"),
        (CHAIN + TWO_CHAINS, "chains", "two targets name the same chain id"),
        (TWO_CHAINS.replace("chains.base", "chains.Base"), "chains", "chain name 'Base' must be lowercase"),
        (CHAIN + TWO_CHAINS.replace("chains.base", "chains.default").replace("8453", "1"), "chains", "rename"),
        (TWO_CHAINS + f'private_key = "{DEV_KEY}"\n', "chains.arbitrum.private_key", "looks like a secret"),
    ],
)
def test_chains_errors(tmp_path: Path, extra: str, field: str, problem: str) -> None:
    error = _error(_feed(tmp_path, extra))
    assert error.field == field and problem in str(error), str(error)
    assert DEV_KEY[2:] not in str(error)


def test_a_feed_whose_inputs_are_bound_to_one_chain_is_refused_on_two(tmp_path: Path) -> None:
    attested = _feed(tmp_path, TWO_CHAINS, replace=("permissionless = false", 'input_policy = "attested"'))
    assert "attesters sign for one oracle on one chain" in str(_error(attested))


def test_each_target_names_its_own_relayer_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_feed(_feed(tmp_path, TWO_CHAINS))
    monkeypatch.delenv("BASE_KEY", raising=False)
    with pytest.raises(FeedSpecError) as info:
        feed_relayer_account(spec, "base")
    assert info.value.field == "chains.base.relayer_key_env" and "export BASE_KEY" in str(info.value)
    monkeypatch.setenv("BASE_KEY", DEV_KEY)
    assert account_for("relayer", chain_id=8453, feed=spec).key.hex().removeprefix("0x") == DEV_KEY[2:]
    assert feed_relayer_account(spec, "arbitrum") is None  # no key named: ZKORACLE_RELAYER_KEY or a dev key applies
