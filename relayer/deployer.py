"""Deploying the oracle, a feed's verifier and a consumer, and registering the feed."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract.contract import ContractConstructor

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.quantize import OBSERVED_AT_LIMBS
from oracle.circuits.srs import check_srs_allowed
from oracle.evm.contracts import CONSUMER, ORACLE, PROXY, bind, contract_factory, feed_key
from oracle.feedspec import FeedSpec
from relayer.sender import TransactionSender


@dataclass(frozen=True)
class FeedDeployment:
    oracle_address: str
    verifier_address: str
    proxy_address: str
    consumer_address: str | None


def _address_of(sender: TransactionSender, call: ContractConstructor, *, what: str) -> str:
    confirmed = sender.transact(call, what=what)
    return Web3.to_checksum_address(confirmed.receipt["contractAddress"])


def deploy_oracle(sender: TransactionSender, *, admin: str | None = None) -> str:
    """A ZkOracle whose admin and operator is ``admin`` (default: the sender)."""
    factory = contract_factory(sender.w3, ORACLE)
    return _address_of(sender, factory.constructor(admin or sender.account.address), what="deploy ZkOracle")


def deploy_verifier(
    sender: TransactionSender, circuit: CircuitArtifacts, *, feed_id: str | None = None, force_dev_srs: bool = False
) -> str:
    """Deploy the circuit's verifier; one set up with a dev SRS only goes on a dev chain unless forced."""
    check_srs_allowed(
        dev_srs=circuit.manifest.dev_srs,
        chain_id=sender.w3.eth.chain_id,
        feed_id=feed_id or f"circuit {circuit.manifest.key}",
        force=force_dev_srs,
    )
    abi, bytecode = circuit.verifier_abi_and_bytecode()
    factory = sender.w3.eth.contract(abi=abi, bytecode=bytecode)
    return _address_of(sender, factory.constructor(), what=f"deploy verifier of circuit {circuit.manifest.key}")


def deploy_proxy(sender: TransactionSender, oracle_address: str, feed_id: str) -> str:
    factory = contract_factory(sender.w3, PROXY)
    return _address_of(
        sender, factory.constructor(oracle_address, feed_key(feed_id)), what=f"deploy ZkFeedProxy '{feed_id}'"
    )


def deploy_consumer(sender: TransactionSender, oracle_address: str, feed_id: str) -> str:
    factory = contract_factory(sender.w3, CONSUMER)
    return _address_of(sender, factory.constructor(oracle_address, feed_key(feed_id)), what="deploy ExampleConsumer")


def feed_params(spec: FeedSpec) -> tuple:
    """The ``IZkOracle.FeedParams`` tuple for ``spec``."""
    return (
        spec.decimals,
        spec.onchain.heartbeat_seconds,
        spec.onchain.max_observation_age_seconds,
        spec.onchain.permissionless,
        spec.description,
    )


def circuit_config(spec: FeedSpec, circuit: CircuitArtifacts, verifier_address: str) -> tuple:
    """The ``IZkOracle.CircuitConfig`` tuple for ``spec`` built as ``circuit``."""
    manifest = circuit.manifest
    binds_time = spec.circuit.observation_time
    return (
        verifier_address,
        bytes.fromhex(manifest.model_commitment.removeprefix("0x")),
        manifest.instance_count,
        manifest.input_instances,
        manifest.answer_index(spec.output),
        manifest.input_scales[0],
        manifest.output_scale,
        binds_time,
        manifest.input_instances - OBSERVED_AT_LIMBS if binds_time else 0,
        onchain_inputs(spec),
    )


def onchain_inputs(spec: FeedSpec) -> list[tuple]:
    """``IZkOracle.OnchainInput`` tuples: an evm_view source's values are the model's first inputs."""
    if spec.source.kind != "evm_view":
        return []
    return [
        (Web3.to_checksum_address(view.address), function_signature_to_4byte_selector(view.function), view.decimals, i)
        for i, view in enumerate(spec.source.views)
    ]


def rotate_feed(
    sender: TransactionSender,
    spec: FeedSpec,
    circuit: CircuitArtifacts,
    *,
    oracle_address: str,
    force_dev_srs: bool = False,
) -> str:
    """Deploy ``circuit``'s verifier and make it the feed's current circuit (a new phase)."""
    verifier_address = deploy_verifier(sender, circuit, feed_id=spec.id, force_dev_srs=force_dev_srs)
    oracle = bind(sender.w3, ORACLE, oracle_address)
    rotate = oracle.functions.rotateFeed(feed_key(spec.id), circuit_config(spec, circuit, verifier_address))
    sender.transact(rotate, what=f"rotate feed '{spec.id}' to circuit {circuit.manifest.key}")
    return verifier_address


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
    # The verifier first: a refused dev SRS must not leave a half-deployed feed behind.
    verifier_address = deploy_verifier(sender, circuit, feed_id=spec.id, force_dev_srs=force_dev_srs)
    oracle_address = oracle_address or deploy_oracle(sender)
    oracle = bind(sender.w3, ORACLE, oracle_address)
    key = feed_key(spec.id)
    register = oracle.functions.registerFeed(key, feed_params(spec), circuit_config(spec, circuit, verifier_address))
    sender.transact(register, what=f"register feed '{spec.id}'")
    if not spec.onchain.permissionless:
        sender.transact(
            oracle.functions.setSubmitter(key, submitter, True), what=f"authorise submitter for '{spec.id}'"
        )
    return FeedDeployment(
        oracle_address=oracle_address,
        verifier_address=verifier_address,
        proxy_address=deploy_proxy(sender, oracle_address, spec.id),
        consumer_address=deploy_consumer(sender, oracle_address, spec.id) if with_consumer else None,
    )
