"""A feed's live deployment on one chain: find it, deploy or rotate it when the circuit changed, record it."""

from __future__ import annotations

import logging
import time

from web3 import Web3
from web3.exceptions import ContractLogicError

from oracle.deployments.contracts import (
    FeedDeployment,
    answer_params,
    deploy_consumer,
    deploy_feed,
    deploy_proxy,
    execute_rotation,
    reusable_verifier_behind,
    rotate_feed,
)
from oracle.deployments.keys import account_for, sender_for
from oracle.evm.zkoracle import ZkOracle
from oracle.feed_circuit import FeedCircuit, feed_answers
from oracle.feeds.schema import FeedSpec
from oracle.store import Deployment, DeploymentAnswer, Feed, Store
from relayer.sender import TransactionSender

log = logging.getLogger(__name__)
# How often a pending rotation's start is checked against the chain's time.
ROTATION_POLL_SECONDS = 30


def ensure_deployment(
    store: Store,
    w3: Web3,
    rpc_url: str,
    spec: FeedSpec,
    circuit: FeedCircuit,
    *,
    oracle_address: str | None = None,
    force_dev_srs: bool = False,
    with_consumer: bool = False,
) -> Deployment:
    """The feed's live deployment on this chain for this circuit.

    Reuses the current registration when its circuit is this one; when the feed is live
    with another circuit (a new model or new settings), rotates it to this one, so the
    oracle, proxy, consumers and round ids carry on; otherwise deploys it afresh.
    ``with_consumer`` also deploys the example consumer contract (once) beside the proxy.
    A feed with ``[[answers]]`` gets each answer registered with a proxy (and consumer) of its own.
    """
    current = current_deployment(store, w3, spec.id, oracle_address=oracle_address)
    if current is None or current.circuit_key != circuit.key:
        current = _deploy_or_rotate(
            store, w3, rpc_url, spec, circuit, current, oracle_address=oracle_address, force_dev_srs=force_dev_srs
        )
    if with_consumer and current.consumer_address is None and not spec.answers:
        current.consumer_address = deploy_consumer(sender_for(w3, "deployer"), current.oracle_address, spec.id)
        store.add(current)
    _sync_answers(store, w3, spec, circuit, current, with_consumer=with_consumer)
    _sync_attesters(w3, spec, current.oracle_address)
    store.save_feed(feed_record(spec))
    return current


def _sync_answers(
    store: Store, w3: Web3, spec: FeedSpec, circuit: FeedCircuit, deployment: Deployment, *, with_consumer: bool
) -> None:
    """Every answer of the feed registered on the oracle, with its proxy, recorded for ``deployment``.

    Each step is skipped when done already: an answer recorded for an earlier deployment on the same oracle
    (before a rotation) keeps its proxy, and one registered by a run that stopped before recording it is
    not registered twice.
    """
    answers = feed_answers(spec, circuit)
    if not answers:
        return
    deployment_id = int(deployment.id)  # type: ignore[arg-type]
    recorded = {answer.answer_id: answer for answer in store.deployment_answers(deployment_id)}
    earlier = {
        answer.answer_id: answer
        for other in reversed(store.deployments(spec.id, chain_id=deployment.chain_id))  # oldest first: newest wins
        if other.oracle_address == deployment.oracle_address and other.id != deployment.id
        for answer in store.deployment_answers(int(other.id))  # type: ignore[arg-type]
    }
    oracle = ZkOracle(w3, deployment.oracle_address)
    deployer = sender_for(w3, "deployer")
    for answer in answers:
        row = recorded.get(answer.id)
        if row is None:
            before = earlier.get(answer.id)
            if before is None and not _registered(oracle, answer.id):
                deployer.transact(
                    oracle.register_answer(spec.id, answer.id, answer_params(answer)),
                    what=f"register answer '{answer.id}' of feed '{spec.id}'",
                )
            row = DeploymentAnswer(
                deployment_id=deployment_id,
                answer_id=answer.id,
                output_offset=answer.offset,
                decimals=answer.decimals,
                description=answer.description,
                proxy_address=before.proxy_address
                if before is not None
                else deploy_proxy(deployer, deployment.oracle_address, answer.id),
                consumer_address=before.consumer_address if before is not None else None,
            )
            store.add(row)
        if with_consumer and row.consumer_address is None:
            row.consumer_address = deploy_consumer(deployer, deployment.oracle_address, answer.id)
            store.add(row)


def _registered(oracle: ZkOracle, feed_or_answer: str) -> bool:
    try:
        oracle.feed_params(feed_or_answer)
    except ContractLogicError:
        return False
    return True


def _sync_attesters(w3: Web3, spec: FeedSpec, oracle_address: str) -> None:
    """Rotate an attested feed's attesters on-chain when feed.toml lists others (the operator's action, an event)."""
    if spec.attestation is None:
        return
    oracle = ZkOracle(w3, oracle_address)
    wanted = {Web3.to_checksum_address(attester.address) for attester in spec.attestation.attesters}
    registered, threshold = oracle.attesters(spec.id)
    if set(registered) == wanted and threshold == spec.attestation.threshold:
        return
    log.info("feed '%s': registering its %d attesters, threshold %d", spec.id, len(wanted), spec.attestation.threshold)
    sender_for(w3, "deployer").transact(
        oracle.set_attesters(spec.id, sorted(wanted), spec.attestation.threshold),
        what=f"rotate the data attesters of '{spec.id}'",
    )


def feed_record(spec: FeedSpec) -> Feed:
    """The store's row of a feed's definition: what `zkoracle status` and the read API describe it by."""
    schedule = spec.schedule
    return Feed(
        id=spec.id,
        description=spec.description,
        folder=str(spec.folder),
        spec_json=spec.model_dump_json(),
        decimals=spec.decimals,
        schedule=f"every {schedule.interval_seconds:g}s" if schedule.cron is None else f"cron {schedule.cron}",
    )


def _deploy_or_rotate(
    store: Store,
    w3: Web3,
    rpc_url: str,
    spec: FeedSpec,
    circuit: FeedCircuit,
    current: Deployment | None,
    *,
    oracle_address: str | None,
    force_dev_srs: bool,
) -> Deployment:
    deployer = sender_for(w3, "deployer")
    reusable = known_reusable_verifier(store, w3)
    if current is not None:
        verifier_address = _rotate(
            deployer,
            spec,
            circuit,
            oracle_address=current.oracle_address,
            force_dev_srs=force_dev_srs,
            reusable_verifier=reusable,
        )
        deployed = FeedDeployment(
            oracle_address=current.oracle_address,
            verifier_address=verifier_address,
            proxy_address=current.proxy_address,
            consumer_address=current.consumer_address,
        )
    else:
        deployed = deploy_feed(
            deployer,
            spec,
            circuit,
            submitter=account_for("relayer", chain_id=w3.eth.chain_id, feed=spec).address,
            oracle_address=oracle_address,
            force_dev_srs=force_dev_srs,
            reusable_verifier=reusable,
        )
    deployment = Deployment(
        feed_id=spec.id,
        chain_id=w3.eth.chain_id,
        rpc_url=rpc_url,
        oracle_address=deployed.oracle_address,
        verifier_address=deployed.verifier_address,
        proxy_address=deployed.proxy_address,
        consumer_address=deployed.consumer_address,
        circuit_key=circuit.key,
        model_commitment=circuit.model_commitment,
        dev_srs=circuit.dev_srs,
    )
    store.add(deployment)
    return deployment


def known_reusable_verifier(store: Store, w3: Web3) -> str | None:
    """EZKL's reusable verifier behind a feed this node deployed on the chain, for the next feed to share."""
    for deployment in store.chain_deployments(w3.eth.chain_id):
        reusable = reusable_verifier_behind(w3, deployment.verifier_address)
        if reusable is not None:
            return reusable
    return None


def _rotate(
    deployer: TransactionSender,
    spec: FeedSpec,
    circuit: FeedCircuit,
    *,
    oracle_address: str,
    force_dev_srs: bool,
    reusable_verifier: str | None,
) -> str:
    """Propose ``circuit`` (or find it already proposed) and start it once the oracle's rotation delay has passed.

    Until then the feed keeps its current circuit on-chain and this waits, saying until when:
    a restart during the wait finds the proposal and waits for the same moment.
    """
    oracle = ZkOracle(deployer.w3, oracle_address)
    commitment = bytes.fromhex(circuit.model_commitment.removeprefix("0x"))
    pending = oracle.pending_rotation(spec.id)
    if pending is not None and oracle.phase_circuit(spec.id, pending[0]).model_commitment == commitment:
        verifier_address, executable_at = oracle.phase_circuit(spec.id, pending[0]).verifier, pending[1]
    else:
        verifier_address, executable_at = rotate_feed(
            deployer,
            spec,
            circuit,
            oracle_address=oracle_address,
            force_dev_srs=force_dev_srs,
            reusable_verifier=reusable_verifier,
        )
    # The next block's time is at least the latest's and, on a live chain, about this machine's clock
    # (an idle dev chain mines no blocks meanwhile).
    while (wait := executable_at - max(int(deployer.w3.eth.get_block("latest")["timestamp"]), int(time.time()))) > 0:
        log.warning(
            "feed '%s': circuit %s proposed; the oracle's rotation delay lets it start in %d s, waiting",
            spec.id,
            circuit.key,
            wait,
        )
        time.sleep(min(wait, ROTATION_POLL_SECONDS))
    execute_rotation(deployer, spec.id, oracle_address=oracle_address)
    return verifier_address


def current_deployment(store: Store, w3: Web3, feed_id: str, *, oracle_address: str | None = None) -> Deployment | None:
    """The newest recorded deployment that the chain still has as the feed's current circuit.

    The chain is the judge: a record may outlive its chain (a restarted Anvil reuses
    chain id and addresses), so each is checked against the oracle's registration.
    """
    for deployment in store.deployments(feed_id, chain_id=w3.eth.chain_id):
        if oracle_address is not None and deployment.oracle_address != oracle_address:
            continue
        if not w3.eth.get_code(Web3.to_checksum_address(deployment.oracle_address)):
            continue
        try:
            _phase, registered = ZkOracle(w3, deployment.oracle_address).circuit(feed_id)
        except ContractLogicError:  # the feed is not registered on that oracle
            continue
        if registered.verifier == deployment.verifier_address:
            return deployment
    return None
