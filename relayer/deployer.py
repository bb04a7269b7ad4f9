"""Deploying the oracle, a feed's verifier(s) and a consumer, and registering the feed.

A feed's circuit is either one circuit of the whole model (``CircuitArtifacts``) or a model
proven as slices (``SlicedCircuit``): then every proven slice gets its own verifier and
the oracle's ``CircuitConfig`` lists the slices after the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract.contract import ContractConstructor

from oracle.circuits.artifacts import CircuitArtifacts, CircuitManifest
from oracle.circuits.slicing import SlicedCircuit
from oracle.circuits.srs import check_srs_allowed
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.evm.contracts import CONSUMER, ORACLE, PROXY, bind, contract_factory, feed_key
from oracle.exceptions import DeploymentError
from oracle.feed_circuit import FeedCircuit
from oracle.feeds.schema import FeedSpec
from relayer.sender import TransactionSender

# ``SliceConfig.verifier`` of a slice that is run but not proven (targeted verification).
UNPROVEN_VERIFIER = "0x" + "00" * 20


@dataclass(frozen=True)
class FeedDeployment:
    oracle_address: str
    verifier_address: str  # the whole model's verifier, or the first slice's
    proxy_address: str
    consumer_address: str | None
    slice_verifiers: tuple[str | None, ...] = ()  # a sliced feed's verifiers in slice order, None if unproven


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


def deploy_verifiers(
    sender: TransactionSender, circuit: FeedCircuit, *, feed_id: str, force_dev_srs: bool = False
) -> list[str | None]:
    """One verifier per proven slice in slice order (None for a slice not proven); one for a whole model."""
    pieces = [circuit] if isinstance(circuit, CircuitArtifacts) else [piece.circuit for piece in circuit.slices]
    return [
        None if piece is None else deploy_verifier(sender, piece, feed_id=feed_id, force_dev_srs=force_dev_srs)
        for piece in pieces
    ]


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
    """The ``IZkOracle.CircuitConfig`` tuple for ``spec`` built as ``circuit`` (a whole model: no slices)."""
    manifest = circuit.manifest
    return _config(
        spec,
        verifier_address,
        model_commitment=manifest.model_commitment,
        first=manifest,
        answer_index=manifest.answer_index(spec.output),
        output_scale=manifest.output_scale,
        slices=[],
    )


def sliced_circuit_config(spec: FeedSpec, circuit: SlicedCircuit, verifiers: list[str | None]) -> tuple:
    """The ``IZkOracle.CircuitConfig`` tuple for ``spec`` built as ``circuit``, one verifier per slice.

    The layout fields describe the first slice (it takes the model inputs); the answer is
    indexed among the last slice's instances; the later slices follow as ``SliceConfig``s.
    """
    _check_slice_verifiers(circuit, verifiers)
    slices = [
        (UNPROVEN_VERIFIER, 0) if piece.circuit is None else (verifier, piece.circuit.manifest.instance_count)
        for piece, verifier in zip(circuit.slices[1:], verifiers[1:], strict=True)
    ]
    return _config(
        spec,
        _first(verifiers),
        model_commitment=circuit.manifest.model_commitment,
        first=circuit.first.manifest,
        answer_index=circuit.answer_index(spec.output),
        output_scale=circuit.output_scale,
        slices=slices,
    )


def feed_circuit_config(spec: FeedSpec, circuit: FeedCircuit, verifiers: list[str | None]) -> tuple:
    """``circuit_config`` or ``sliced_circuit_config``, with ``deploy_verifiers``' addresses."""
    if isinstance(circuit, SlicedCircuit):
        return sliced_circuit_config(spec, circuit, verifiers)
    if len(verifiers) != 1:
        raise DeploymentError(
            f"circuit {circuit.manifest.key}: a whole-model circuit has one verifier, not {verifiers}"
        )
    return circuit_config(spec, circuit, _first(verifiers))


def _first(verifiers: list[str | None]) -> str:
    """The whole model's verifier or the first slice's: always proven, it takes the model inputs."""
    first = verifiers[0] if verifiers else None
    if first is None:
        raise DeploymentError(f"verifiers {verifiers}: the first (or only) circuit is always proven, so needs one")
    return first


def _check_slice_verifiers(circuit: SlicedCircuit, verifiers: list[str | None]) -> None:
    proven = [piece.proven for piece in circuit.slices]
    given = [verifier is not None for verifier in verifiers]
    if given != proven:
        raise DeploymentError(
            f"sliced circuit {circuit.manifest.key}: verifiers {verifiers} do not match its proven slices {proven}; "
            "pass one address per proven slice and None for each slice not proven"
        )


def _config(
    spec: FeedSpec,
    verifier_address: str,
    *,
    model_commitment: str,
    first: CircuitManifest,
    answer_index: int,
    output_scale: int,
    slices: list[tuple[str, int]],
) -> tuple:
    binds_time = spec.circuit.observation_time
    return (
        verifier_address,
        bytes.fromhex(model_commitment.removeprefix("0x")),
        first.instance_count,
        first.input_instances,
        answer_index,
        first.input_scales[0],
        output_scale,
        binds_time,
        first.input_instances - OBSERVED_AT_LIMBS if binds_time else 0,
        onchain_inputs(spec),
        slices,
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
    circuit: FeedCircuit,
    *,
    oracle_address: str,
    force_dev_srs: bool = False,
) -> str:
    """Deploy ``circuit``'s verifier(s) and make it the feed's current circuit (a new phase).

    Returns the whole model's verifier, or the first slice's (``getCircuit``'s ``verifier``).
    """
    verifiers = deploy_verifiers(sender, circuit, feed_id=spec.id, force_dev_srs=force_dev_srs)
    oracle = bind(sender.w3, ORACLE, oracle_address)
    rotate = oracle.functions.rotateFeed(feed_key(spec.id), feed_circuit_config(spec, circuit, verifiers))
    sender.transact(rotate, what=f"rotate feed '{spec.id}' to circuit {circuit.manifest.key}")
    return _first(verifiers)


def deploy_feed(
    sender: TransactionSender,
    spec: FeedSpec,
    circuit: FeedCircuit,
    *,
    submitter: str,
    oracle_address: str | None = None,
    with_consumer: bool = True,
    force_dev_srs: bool = False,
) -> FeedDeployment:
    """Deploy what ``spec`` needs on the sender's chain and allow ``submitter`` to post its rounds."""
    # The verifiers first: a refused dev SRS must not leave a half-deployed feed behind.
    verifiers = deploy_verifiers(sender, circuit, feed_id=spec.id, force_dev_srs=force_dev_srs)
    oracle_address = oracle_address or deploy_oracle(sender)
    oracle = bind(sender.w3, ORACLE, oracle_address)
    key = feed_key(spec.id)
    register = oracle.functions.registerFeed(key, feed_params(spec), feed_circuit_config(spec, circuit, verifiers))
    sender.transact(register, what=f"register feed '{spec.id}'")
    if not spec.onchain.permissionless:
        sender.transact(
            oracle.functions.setSubmitter(key, submitter, True), what=f"authorise submitter for '{spec.id}'"
        )
    return FeedDeployment(
        oracle_address=oracle_address,
        verifier_address=_first(verifiers),
        proxy_address=deploy_proxy(sender, oracle_address, spec.id),
        consumer_address=deploy_consumer(sender, oracle_address, spec.id) if with_consumer else None,
        slice_verifiers=tuple(verifiers) if isinstance(circuit, SlicedCircuit) else (),
    )
