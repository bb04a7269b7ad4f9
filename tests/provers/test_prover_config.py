"""The feed's [prover] table, and where the node learns of provers: a static list or a subnet's metagraph."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from bittensor.metagraph import _build as decode_metagraph  # what Subnets.metagraph() decodes the chain's record with

from oracle.evm.anvil import free_port
from oracle.exceptions import FeedSpecError, ProverError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import ProverSpec
from oracle.provers.discovery import MetagraphDiscovery, StaticDiscovery, endpoints_from_metagraph
from oracle.provers.dispatch import NetworkProver
from oracle.provers.factory import discovery_for, prover_for
from oracle.provers.identity import load_hotkey
from oracle.provers.pool import PoolProver
from oracle.provers.remote import ProverEndpoint
from oracle.store import Store
from tests.conftest import DEMO_FEED

HOTKEYS = ["5" + c * 47 for c in "ABCD"]


def _feed(tmp_path: Path, prover_table: str) -> Path:
    folder = tmp_path / "feed"
    folder.mkdir()
    for name in ("model.onnx", "samples.json"):
        (folder / name).write_bytes((DEMO_FEED / name).read_bytes())
    base = (DEMO_FEED / "feed.toml").read_text()
    (folder / "feed.toml").write_text(base + "\n" + prover_table)
    return folder


def test_a_feed_names_its_provers_and_gets_a_network_prover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKORACLE_HOME", str(tmp_path / "home"))
    spec = load_feed(
        _feed(
            tmp_path,
            f'[prover]\npolicy = "network"\nredundancy = 3\ntimeout_seconds = 20\n'
            f'[[prover.provers]]\nhotkey = "{HOTKEYS[0]}"\nurl = "http://127.0.0.1:8091"\n'
            f'[[prover.provers]]\nhotkey = "{HOTKEYS[1]}"\nurl = "http://127.0.0.1:8092"\n',
        )
    )
    assert (spec.prover.redundancy, spec.prover.timeout_seconds, spec.prover.netuid) == (3, 20.0, 2)
    discovery = discovery_for(spec.prover, own_hotkey=HOTKEYS[3])
    assert isinstance(discovery, StaticDiscovery)
    assert discovery.endpoints() == [
        ProverEndpoint(hotkey=HOTKEYS[0], url="http://127.0.0.1:8091"),
        ProverEndpoint(hotkey=HOTKEYS[1], url="http://127.0.0.1:8092"),
    ]
    store = Store.sqlite(tmp_path / "node.db")
    assert isinstance(prover_for(spec, store=store), NetworkProver)
    assert (tmp_path / "home" / "wallets" / "zkoracle" / "hotkeys" / "node").is_file()  # the node's own hotkey
    assert isinstance(prover_for(load_feed(DEMO_FEED), store=store), PoolProver)


def test_a_network_policy_without_provers_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedSpecError, match="feed 'demo', field 'prover'.*policy 'network' needs provers"):
        load_feed(_feed(tmp_path, '[prover]\npolicy = "network"\n'))


def test_metagraph_neurons_serving_an_axon_are_the_provers() -> None:
    def axon(ip: str, port: int) -> dict[str, int]:
        return {"ip": int(ipaddress.IPv4Address(ip)), "port": port, "ip_type": 4}

    record = {
        "hotkeys": HOTKEYS,
        "coldkeys": HOTKEYS,
        "axons": [
            axon("10.0.0.1", 8091),
            {"ip": 0, "port": 0, "ip_type": 4},
            axon("10.0.0.3", 9000),
            axon("10.0.0.4", 1),
        ],
        "block": 100,
        "tempo": 360,
        "last_step": 0,
        "blocks_since_last_step": 100,
        "owner_hotkey": HOTKEYS[0],
        "owner_coldkey": HOTKEYS[0],
        "network_registered_at": 1,
    }
    metagraph = decode_metagraph(2, record, {})

    assert endpoints_from_metagraph(metagraph, exclude=HOTKEYS[3]) == [
        ProverEndpoint(hotkey=HOTKEYS[0], url="http://10.0.0.1:8091"),
        ProverEndpoint(hotkey=HOTKEYS[2], url="http://10.0.0.3:9000"),
    ]


def test_an_unreachable_subtensor_is_an_error_naming_it() -> None:
    endpoint = f"ws://127.0.0.1:{free_port()}"
    discovery = discovery_for(ProverSpec(policy="network", subtensor=endpoint, netuid=7), own_hotkey=HOTKEYS[0])
    assert isinstance(discovery, MetagraphDiscovery)
    with pytest.raises(ProverError, match=f"metagraph of netuid 7 from {endpoint}"):
        discovery.endpoints()


def test_a_named_hotkey_must_exist_outside_zkoracle_s_own_wallets(tmp_path: Path) -> None:
    with pytest.raises(ProverError, match="no hotkey 'cold/hot' under"):
        load_hotkey("cold/hot", path=tmp_path)
    created = load_hotkey("cold/hot", path=tmp_path, create=True)
    assert load_hotkey("cold/hot", path=tmp_path).ss58_address == created.ss58_address
