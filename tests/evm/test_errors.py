from __future__ import annotations

from eth_abi import encode
from web3 import Web3

from oracle.evm.contracts import ORACLE, project_contracts, project_error_decoder
from oracle.evm.errors import DecodedRevert
from oracle.evm.zkoracle import OBSERVATION_FROM_FUTURE, STALE_ROUND


def test_custom_error_is_decoded_with_its_arguments() -> None:
    selector = bytes(Web3.keccak(text="ZkOracleUnauthorizedSubmitter(bytes32,address)"))[:4]
    feed = bytes(range(32))
    account = "0x00000000000000000000000000000000000000aa"
    data = selector + encode(["bytes32", "address"], [feed, account])
    decoded = project_error_decoder().decode("0x" + data.hex())
    assert decoded == DecodedRevert("ZkOracleUnauthorizedSubmitter", (feed, account))
    assert str(decoded) == f"ZkOracleUnauthorizedSubmitter(0x{feed.hex()}, {account})"


def test_unknown_and_empty_revert_data_are_reported_raw() -> None:
    decoder = project_error_decoder()
    assert decoder.decode("0xdeadbeef") == DecodedRevert.unexplained("unknown revert 0xdeadbeef")
    assert str(decoder.decode("0xdeadbeef")) == "unknown revert 0xdeadbeef"
    assert str(decoder.decode(None)) == "reverted without data" and decoder.decode(None).name is None


def test_the_errors_the_relayer_acts_on_are_errors_of_the_oracle() -> None:
    errors = {entry["name"] for entry in project_contracts()[ORACLE].abi if entry["type"] == "error"}
    assert {STALE_ROUND, OBSERVATION_FROM_FUTURE} <= errors
