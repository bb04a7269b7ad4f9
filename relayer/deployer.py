"""Deploying the oracle, a feed's verifier and a consumer, and registering the feed."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.srs import check_srs_allowed
from oracle.evm.contracts import CONSUMER, ORACLE, bind, contract_factory, feed_key
from oracle.feedspec import FeedSpec
from relayer.sender import TransactionSender


@dataclass(frozen=True)
class FeedDeployment:
    oracle_address: str
    verifier_address: str
    consumer_address: str | None


def _address_of(sender: TransactionSender, call: object, *, what: str) -> str:
    confirmed = sender.transact(call, what=what)  # type: ignore[arg-type]
    address = confirmed.receipt["contractAddress"]
    return Web3.to_checksum_address(address)


def deploy_oracle(sender: TransactionSender) -> str:
    return _address_of(sender, contract_factory(sender.w3, ORACLE).constructor(), what="deploy ZkOracle")


def deploy_verifier(sender: TransactionSender, circuit: CircuitArtifacts) -> str:
    abi, bytecode = circuit.verifier_abi_and_bytecode()
    factory = sender.w3.eth.contract(abi=abi, bytecode=bytecode)
    return _address_of(sender, factory.constructor(), what=f"deploy verifier of circuit {circuit.manifest.key}")


def deploy_consumer(sender: TransactionSender, oracle_address: str, feed_id: str) -> str:
    factory = contract_factory(sender.w3, CONSUMER)
    return _address_of(sender, factory.constructor(oracle_address, feed_key(feed_id)), what="deploy ExampleConsumer")


def feed_config(spec: FeedSpec, circuit: CircuitArtifacts, verifier_address: str) -> tuple:
    """The ``IZkOracle.FeedConfig`` tuple for ``spec`` built as ``circuit``."""
    manifest = circuit.manifest
    return (
        verifier_address,
        bytes.fromhex(manifest.model_commitment.removeprefix("0x")),
        manifest.instance_count,
        manifest.answer_index(spec.output),
        manifest.output_scale,
        spec.decimals,
        spec.description,
    )


def deploy_feed(
    sender: TransactionSender,
    spec: FeedSpec,
    circuit: CircuitArtifacts,
    *,
    submitter: str,
    oracle_address: str | None = None,
    with_consumer: bool = True,
    force_dev_srs: bool = False,
) -> FeedDeployment:
    """Deploy what ``spec`` needs on the sender's chain and allow ``submitter`` to post its rounds."""
    check_srs_allowed(
        dev_srs=circuit.manifest.dev_srs, chain_id=sender.w3.eth.chain_id, feed_id=spec.id, force=force_dev_srs
    )
    oracle_address = oracle_address or deploy_oracle(sender)
    verifier_address = deploy_verifier(sender, circuit)
    oracle = bind(sender.w3, ORACLE, oracle_address)
    key = feed_key(spec.id)
    sender.transact(
        oracle.functions.registerFeed(key, feed_config(spec, circuit, verifier_address)),
        what=f"register feed '{spec.id}'",
    )
    sender.transact(oracle.functions.setSubmitter(key, submitter, True), what=f"authorise submitter for '{spec.id}'")
    consumer = deploy_consumer(sender, oracle_address, spec.id) if with_consumer else None
    return FeedDeployment(oracle_address=oracle_address, verifier_address=verifier_address, consumer_address=consumer)
