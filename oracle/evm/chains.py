"""Connecting to a chain, and which chains are local development chains."""

from __future__ import annotations

from web3 import HTTPProvider, Web3

from oracle.exceptions import ChainError

# Anvil's and Hardhat's chain ids: what is posted there is worthless by construction, so
# dev keys, dev SRS verifiers and a single confirmation are fine there and nowhere else.
DEV_CHAIN_IDS = frozenset({31337, 1337})


def is_dev_chain(chain_id: int) -> bool:
    return chain_id in DEV_CHAIN_IDS


def connect(rpc_url: str) -> Web3:
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    if not w3.is_connected():
        raise ChainError(
            f"no chain answers at {rpc_url}; start one (e.g. `zkoracle run` starts Anvil) or fix --rpc-url"
        )
    return w3
