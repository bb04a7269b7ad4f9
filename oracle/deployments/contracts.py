"""Deploying the oracle, a feed's verifier(s) and a consumer, and registering the feed.

A feed's circuit is a chain of pieces (a whole model is the chain of one): every proven
piece gets its own verifier, and the oracle's ``CircuitConfig`` describes the first piece
and lists the ones after it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract.contract import ContractConstructor
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.slicing.links import commitment_layout
from oracle.circuits.srs import check_srs_allowed
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.evm.chains import is_dev_chain
from oracle.evm.compiler import EIP170_CODE_SIZE_LIMIT
from oracle.evm.contracts import (
    CIRCUIT_STORAGE,
    CONSUMER,
    ORACLE,
    PROXY,
    VKA_VERIFIER,
    contract_factory,
    feed_key,
    project_contracts,
)
from oracle.evm.zkoracle import (
    INT192_MAX,
    INT192_MIN,
    UNPROVEN_VERIFIER,
    AnswerParams,
    CircuitConfig,
    FeedParams,
    InputPolicy,
    OnchainInput,
    OnchainInputKind,
    SliceConfig,
    ZkOracle,
)
from oracle.exceptions import DeploymentError
from oracle.feed_circuit import FeedCircuit, feed_answer
from oracle.feeds.answer import Answer
from oracle.feeds.schema import FeedSpec
from relayer.sender import TransactionSender


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


# Rotation and admin-transfer delays of an oracle on a real chain unless told otherwise: a
# day for consumers to notice a proposed circuit, as long as the admin handover waits.
DEFAULT_ROTATION_DELAY = 86_400
DEFAULT_ADMIN_TRANSFER_DELAY = 86_400


def deploy_oracle(
    sender: TransactionSender,
    *,
    admin: str | None = None,
    rotation_delay: int | None = None,
    admin_transfer_delay: int | None = None,
) -> str:
    """A ZkOracle whose admin and operator is ``admin`` (default: the sender).

    The delays default to none on a dev chain and to a day elsewhere; a zero rotation
    delay is refused on other chains, where consumers must get time to see a new circuit.
    """
    dev = is_dev_chain(sender.w3.eth.chain_id)
    if rotation_delay is None:
        rotation_delay = 0 if dev else DEFAULT_ROTATION_DELAY
    if admin_transfer_delay is None:
        admin_transfer_delay = 0 if dev else DEFAULT_ADMIN_TRANSFER_DELAY
    if rotation_delay == 0 and not dev:
        raise DeploymentError(
            f"chain {sender.w3.eth.chain_id}: a ZkOracle without a rotation delay lets one key swap a feed's "
            "model at once; give it a delay (consumers watch RotationProposed) or deploy on a dev chain"
        )
    constructor = oracle_constructor(sender, admin or sender.account.address, admin_transfer_delay, rotation_delay)
    return _address_of(sender, constructor, what="deploy ZkOracle")


def oracle_constructor(
    sender: TransactionSender, admin: str, admin_transfer_delay: int, rotation_delay: int
) -> ContractConstructor:
    """ZkOracle's constructor call, linked to a CircuitStorage library that ``sender`` deploys first."""
    library = _address_of(
        sender, contract_factory(sender.w3, CIRCUIT_STORAGE).constructor(), what="deploy CircuitStorage"
    )
    factory = contract_factory(sender.w3, ORACLE, libraries={CIRCUIT_STORAGE: library})
    return factory.constructor(admin, admin_transfer_delay, rotation_delay)


def check_verifier_size(circuit: CircuitArtifacts, *, feed_id: str | None = None) -> None:
    """Refuse, before any transaction, a verifier no EVM chain would accept (EIP-170's code size limit).

    Builds put such a circuit behind EZKL's reusable verifier; this catches what cannot be
    deployed even so (a VKA too large to keep as a contract's code).
    """
    owner = f"feed '{feed_id}': the verifier of circuit" if feed_id else "the verifier of circuit"
    manifest = circuit.manifest
    if manifest.verifier_kind == "reusable":
        stored = 1 + 32 * manifest.vka_words  # the VKA's words after one STOP byte, as ZkVkaVerifier keeps them
        if stored > EIP170_CODE_SIZE_LIMIT:
            raise DeploymentError(
                f"{owner} {manifest.key} needs a {manifest.vka_words}-word VKA, {stored:,} bytes of code, "
                f"over EIP-170's {EIP170_CODE_SIZE_LIMIT:,}-byte limit; make the model take and return fewer values "
                "or split it into proven slices with [slicing]"
            )
    elif manifest.verifier_deployed_size > EIP170_CODE_SIZE_LIMIT:
        raise DeploymentError(
            f"{owner} {manifest.key} is {manifest.verifier_deployed_size:,} bytes of deployed code, "
            f"over EIP-170's {EIP170_CODE_SIZE_LIMIT:,}-byte limit, so no chain would accept it; "
            "rebuild it with `zkoracle build` (builds since format 5 use EZKL's reusable verifier for such circuits)"
        )


def deploy_verifier(
    sender: TransactionSender,
    circuit: CircuitArtifacts,
    *,
    feed_id: str | None = None,
    force_dev_srs: bool = False,
    reusable_verifier: str | None = None,
) -> str:
    """Deploy the circuit's verifier; one set up with a dev SRS only goes on a dev chain unless forced.

    A circuit whose generated verifier is over EIP-170 gets a ``ZkVkaVerifier``: EZKL's
    reusable verifier bound to the circuit's VKA, behind the same ``verifyProof`` the oracle
    calls. ``reusable_verifier`` is one already on the chain, used when its code is EZKL's
    reusable verifier for this circuit (else a new one is deployed).
    """
    check_verifier_size(circuit, feed_id=feed_id)
    check_srs_allowed(
        dev_srs=circuit.manifest.dev_srs,
        chain_id=sender.w3.eth.chain_id,
        feed_id=feed_id or f"circuit {circuit.manifest.key}",
        force=force_dev_srs,
    )
    key = circuit.manifest.key
    if circuit.manifest.verifier_kind == "reusable":
        if reusable_verifier is None or not is_reusable_verifier(sender.w3, reusable_verifier, circuit):
            reusable_verifier = deploy_reusable_verifier(sender, circuit)
        constructor = contract_factory(sender.w3, VKA_VERIFIER).constructor(reusable_verifier, circuit.vka_words())
        return _address_of(sender, constructor, what=f"deploy the VKA verifier of circuit {key}")
    abi, bytecode = circuit.verifier_abi_and_bytecode()
    factory = sender.w3.eth.contract(abi=abi, bytecode=bytecode)
    return _address_of(sender, factory.constructor(), what=f"deploy verifier of circuit {key}")


def deploy_reusable_verifier(sender: TransactionSender, circuit: CircuitArtifacts) -> str:
    """EZKL's reusable verifier (one contract for every circuit of this EZKL version)."""
    abi, bytecode = circuit.reusable_verifier_abi_and_bytecode()
    constructor = sender.w3.eth.contract(abi=abi, bytecode=bytecode).constructor()
    return _address_of(sender, constructor, what=f"deploy EZKL's reusable verifier for circuit {circuit.manifest.key}")


def is_reusable_verifier(w3: Web3, address: str, circuit: CircuitArtifacts) -> bool:
    """Whether ``address`` runs the code of ``circuit``'s reusable verifier (it has no constructor or
    immutables, so its runtime code sits verbatim inside its creation code)."""
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    _abi, bytecode = circuit.reusable_verifier_abi_and_bytecode()
    return bool(code) and code.hex() in bytecode.removeprefix("0x").lower()


def reusable_verifier_behind(w3: Web3, verifier_address: str) -> str | None:
    """The reusable verifier a ``ZkVkaVerifier`` checks proofs with; None for any other verifier."""
    verifier = w3.eth.contract(
        address=Web3.to_checksum_address(verifier_address), abi=project_contracts()[VKA_VERIFIER].abi
    )
    try:
        return str(verifier.functions.i_reusable().call())
    except (ContractLogicError, BadFunctionCallOutput):  # a generated verifier has no such function
        return None


def deploy_verifiers(
    sender: TransactionSender,
    circuit: FeedCircuit,
    *,
    feed_id: str,
    force_dev_srs: bool = False,
    reusable_verifier: str | None = None,
) -> list[str | None]:
    """One verifier per proven piece in order (None for a slice not proven).

    Pieces over EIP-170 share one reusable verifier (``reusable_verifier`` when it is one).
    """
    pieces = [piece.circuit for piece in circuit.pieces]
    for piece in pieces:  # all of them before the first transaction: no half-deployed feed
        if piece is not None:
            check_verifier_size(piece, feed_id=feed_id)
    verifiers: list[str | None] = []
    for piece in pieces:
        if piece is None:
            verifiers.append(None)
            continue
        address = deploy_verifier(
            sender, piece, feed_id=feed_id, force_dev_srs=force_dev_srs, reusable_verifier=reusable_verifier
        )
        if piece.manifest.verifier_kind == "reusable":
            reusable_verifier = reusable_verifier_behind(sender.w3, address)
        verifiers.append(address)
    return verifiers


def deploy_proxy(
    sender: TransactionSender, oracle_address: str, feed_id: str, *, accepts_partial_coverage: bool = False
) -> str:
    """A ZkFeedProxy of the feed; unless told to, it refuses rounds whose model was only partly proven."""
    factory = contract_factory(sender.w3, PROXY)
    constructor = factory.constructor(oracle_address, feed_key(feed_id), accepts_partial_coverage)
    return _address_of(sender, constructor, what=f"deploy ZkFeedProxy '{feed_id}'")


def deploy_consumer(sender: TransactionSender, oracle_address: str, feed_id: str) -> str:
    factory = contract_factory(sender.w3, CONSUMER)
    return _address_of(sender, factory.constructor(oracle_address, feed_key(feed_id)), what="deploy ExampleConsumer")


def feed_params(spec: FeedSpec) -> FeedParams:
    """What ``spec`` promises its consumers, as the oracle registers it."""
    onchain = spec.onchain
    scale = 10**spec.decimals
    return FeedParams(
        decimals=spec.decimals,
        heartbeat=onchain.heartbeat_seconds,
        max_observation_age=onchain.max_observation_age_seconds,
        input_policy=InputPolicy[onchain.input_policy.upper()],
        permissionless=onchain.permissionless,
        min_answer=INT192_MIN if onchain.min_answer is None else math.floor(onchain.min_answer * scale),
        max_answer=INT192_MAX if onchain.max_answer is None else math.ceil(onchain.max_answer * scale),
        description=spec.description,
        rounds_retained=onchain.rounds_retained,
    )


def answer_params(answer: Answer) -> AnswerParams:
    """What one of a feed's ``[[answers]]`` promises its consumers, as the oracle registers it."""
    scale = 10**answer.decimals
    return AnswerParams(
        output_offset=answer.offset,
        decimals=answer.decimals,
        heartbeat=answer.heartbeat_seconds,
        min_answer=INT192_MIN if answer.min_answer is None else math.floor(answer.min_answer * scale),
        max_answer=INT192_MAX if answer.max_answer is None else math.ceil(answer.max_answer * scale),
        description=answer.description,
    )


def circuit_config(
    spec: FeedSpec,
    circuit: FeedCircuit,
    verifiers: list[str | None],
    *,
    aggregator_decimals: Sequence[int] = (),
) -> CircuitConfig:
    """How the oracle checks ``circuit``'s proofs, with ``deploy_verifiers``' addresses (one per piece).

    The layout fields describe the first piece (it takes the model inputs), the answer is
    indexed among the last piece's instances, and the pieces after the first follow as
    ``SliceConfig``s (none for a whole model).
    """
    answer = feed_answer(spec, circuit)
    _check_verifiers(circuit, verifiers)
    first = circuit.first.manifest
    slices = tuple(
        SliceConfig(UNPROVEN_VERIFIER, 0)
        if piece.circuit is None
        else SliceConfig(str(verifier), piece.circuit.manifest.instance_count)
        for piece, verifier in zip(circuit.pieces[1:], verifiers[1:], strict=True)
    )
    return CircuitConfig(
        verifier=_first(verifiers),
        model_commitment=bytes.fromhex(circuit.model_commitment.removeprefix("0x")),
        instance_count=first.instance_count,
        input_count=first.input_instances,
        output_index=circuit.answer_index(answer),
        input_scale=first.input_scales[0],
        output_scale=circuit.answer_scale(answer),
        observed_at_index=first.input_instances - OBSERVED_AT_LIMBS,
        onchain_inputs=onchain_inputs(spec, aggregator_decimals=aggregator_decimals),
        slices=slices,
    )


def _first(verifiers: list[str | None]) -> str:
    """The whole model's verifier or the first slice's: always proven, it takes the model inputs."""
    first = verifiers[0] if verifiers else None
    if first is None:
        raise DeploymentError(f"verifiers {verifiers}: the first (or only) circuit is always proven, so needs one")
    return first


def _check_verifiers(circuit: FeedCircuit, verifiers: list[str | None]) -> None:
    proven = [piece.proven for piece in circuit.pieces]
    given = [verifier is not None for verifier in verifiers]
    if given != proven:
        raise DeploymentError(
            f"circuit {circuit.key}: verifiers {verifiers} do not match its proven pieces {proven}; "
            "pass one address per proven piece and None for each slice not proven"
        )
    last = len(circuit.pieces) - 1
    for piece in circuit.pieces:
        if piece.circuit is None:
            continue
        layout = commitment_layout(piece.circuit.manifest)
        # ZkOracle reads the link commitments at offsets fixed by the slice's position alone.
        if (layout.input_committed, layout.output_committed) != (piece.index > 0, piece.index < last):
            raise DeploymentError(
                f"circuit {circuit.key}: piece {piece.index} commits to its boundaries as {layout}, "
                "not as ZkOracle reads them (every slice but the first commits to its input, every one but the "
                "last to its output)"
            )


def onchain_inputs(spec: FeedSpec, *, aggregator_decimals: Sequence[int] = ()) -> tuple[OnchainInput, ...]:
    """An evm_view or evm_aggregator source's values are the model's first inputs, read by the oracle itself.

    ``aggregator_decimals`` are the aggregators' own decimals, read from the chain.
    """
    source = spec.source
    if source.kind == "evm_view":
        return tuple(
            OnchainInput(
                kind=OnchainInputKind.GETTER,
                target=view.address,
                selector=function_signature_to_4byte_selector(view.function),
                decimals=view.decimals,
                instance_index=i,
            )
            for i, view in enumerate(source.views)
        )
    if source.kind == "evm_aggregator":
        return tuple(
            OnchainInput(
                kind=OnchainInputKind.AGGREGATOR,
                target=feed.address,
                selector=b"\x00" * 4,
                decimals=decimals,
                instance_index=i,
                max_age=feed.max_age_seconds,
            )
            for i, (feed, decimals) in enumerate(zip(source.feeds, aggregator_decimals, strict=True))
        )
    return ()


def aggregator_decimals(w3: Web3, spec: FeedSpec) -> tuple[int, ...]:
    """The decimals of an evm_aggregator source's feeds, as the chain reports them."""
    if spec.source.kind != "evm_aggregator":
        return ()
    abi = project_contracts()["AggregatorV3Interface"].abi
    return tuple(
        int(w3.eth.contract(address=Web3.to_checksum_address(feed.address), abi=abi).functions.decimals().call())
        for feed in spec.source.feeds
    )


def rotate_feed(
    sender: TransactionSender,
    spec: FeedSpec,
    circuit: FeedCircuit,
    *,
    oracle_address: str,
    force_dev_srs: bool = False,
    reusable_verifier: str | None = None,
) -> tuple[str, int]:
    """Deploy ``circuit``'s verifier(s) and propose it as the feed's next circuit (a new phase).

    Returns the whole model's verifier, or the first slice's, and when the rotation becomes
    executable (the oracle's rotation delay from now); :func:`execute_rotation` starts it.
    """
    verifiers = deploy_verifiers(
        sender, circuit, feed_id=spec.id, force_dev_srs=force_dev_srs, reusable_verifier=reusable_verifier
    )
    oracle = ZkOracle(sender.w3, oracle_address)
    config = circuit_config(spec, circuit, verifiers, aggregator_decimals=aggregator_decimals(sender.w3, spec))
    confirmed = sender.transact(
        oracle.propose_rotation(spec.id, config), what=f"propose circuit {circuit.key} for feed '{spec.id}'"
    )
    (event,) = oracle.contract.events.RotationProposed().process_receipt(confirmed.receipt)
    return _first(verifiers), int(event["args"]["executableAt"])


def execute_rotation(sender: TransactionSender, feed_id: str, *, oracle_address: str) -> None:
    """Start the feed's pending rotation (its delay must have passed)."""
    oracle = ZkOracle(sender.w3, oracle_address)
    # Against the next block: on an idle chain the latest one may still be older than the delay.
    what = f"execute the pending rotation of feed '{feed_id}'"
    sender.transact(oracle.execute_rotation(feed_id), what=what, block="pending")


def deploy_feed(
    sender: TransactionSender,
    spec: FeedSpec,
    circuit: FeedCircuit,
    *,
    submitter: str,
    oracle_address: str | None = None,
    with_consumer: bool = False,
    force_dev_srs: bool = False,
    reusable_verifier: str | None = None,
) -> FeedDeployment:
    """Deploy what ``spec`` needs on the sender's chain and allow ``submitter`` to post its rounds.

    ``reusable_verifier``: EZKL's reusable verifier already on the chain, if any (see :func:`deploy_verifier`).
    """
    # The verifiers first: a refused dev SRS must not leave a half-deployed feed behind.
    verifiers = deploy_verifiers(
        sender, circuit, feed_id=spec.id, force_dev_srs=force_dev_srs, reusable_verifier=reusable_verifier
    )
    oracle_address = oracle_address or deploy_oracle(sender)
    oracle = ZkOracle(sender.w3, oracle_address)
    config = circuit_config(spec, circuit, verifiers, aggregator_decimals=aggregator_decimals(sender.w3, spec))
    sender.transact(oracle.register_feed(spec.id, feed_params(spec), config), what=f"register feed '{spec.id}'")
    if not spec.onchain.permissionless:
        sender.transact(oracle.set_submitter(spec.id, submitter, True), what=f"authorise submitter for '{spec.id}'")
    if spec.attestation is not None:
        attesters = [attester.address for attester in spec.attestation.attesters]
        sender.transact(
            oracle.set_attesters(spec.id, attesters, spec.attestation.threshold),
            what=f"register the data attesters of '{spec.id}'",
        )
    return FeedDeployment(
        oracle_address=oracle_address,
        verifier_address=_first(verifiers),
        proxy_address=deploy_proxy(sender, oracle_address, spec.id, accepts_partial_coverage=partially_proven(circuit)),
        consumer_address=deploy_consumer(sender, oracle_address, spec.id) if with_consumer else None,
        slice_verifiers=tuple(verifiers) if len(verifiers) > 1 else (),
    )


def partially_proven(circuit: FeedCircuit) -> bool:
    """Whether some slice of the circuit is run but not proven (its proxy must say it serves such rounds)."""
    return not circuit.fully_proven
