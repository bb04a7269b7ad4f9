"""Bindings for the project's contracts and the feed identifiers they use."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from web3 import Web3
from web3.contract import Contract

from oracle.evm.compiler import CompiledContract, compile_project
from oracle.evm.errors import ErrorDecoder

ORACLE = "ZkOracle"
# How ZkOracle checks, stores and reads back circuits: an external library deployed with each oracle.
CIRCUIT_STORAGE = "CircuitStorage"
CONSUMER = "ExampleConsumer"
PROXY = "ZkFeedProxy"
VKA_VERIFIER = "ZkVkaVerifier"


def feed_key(feed_id: str) -> bytes:
    """The on-chain identifier of a feed: keccak256 of its string id."""
    return bytes(Web3.keccak(text=feed_id))


@cache
def project_contracts() -> dict[str, CompiledContract]:
    return compile_project()


def contract_factory(w3: Web3, name: str, *, libraries: Mapping[str, str] | None = None) -> type[Contract]:
    """A factory for one of the project's contracts, linked to the external libraries at ``libraries``."""
    compiled = project_contracts()[name]
    bytecode = compiled.linked(libraries or {}) if compiled.link_references else compiled.bytecode
    return w3.eth.contract(abi=compiled.abi, bytecode=bytecode)


def bind(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=project_contracts()[name].abi)


def project_error_decoder() -> ErrorDecoder:
    return ErrorDecoder(contract.abi for contract in project_contracts().values())
