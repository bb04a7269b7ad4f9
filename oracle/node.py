"""A feed wired to a chain: deploy once, then each tick prove a round and relay it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError

from oracle.evm.accounts import account_for
from oracle.evm.contracts import CONSUMER, ORACLE, bind, feed_key, project_error_decoder
from oracle.exceptions import ChainError
from oracle.feed_circuit import FeedCircuit
from oracle.feedspec import FeedSpec
from oracle.pipeline import RoundPipeline
from oracle.provers.base import Prover
from oracle.sources.base import InputSource, SourceContext
from oracle.store import Deployment, Round, RoundStatus, Store
from oracle.triggers import decide
from relayer.deployer import FeedDeployment, deploy_feed, rotate_feed
from relayer.rounds import RoundRelayer
from relayer.sender import TransactionSender


def connect(rpc_url: str) -> Web3:
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    if not w3.is_connected():
        raise ChainError(
            f"no chain answers at {rpc_url}; start one (e.g. `zkoracle run` starts Anvil) or fix --rpc-url"
        )
    return w3


def sender_for(w3: Web3, role: str, *, feed: FeedSpec | None = None) -> TransactionSender:
    """A sender signing as ``role``; for a ``feed``, its relayer signs with the key the feed's ``[chain]`` names."""
    account = account_for(role, chain_id=w3.eth.chain_id, feed=feed)
    return TransactionSender(w3, account, decoder=project_error_decoder())


def ensure_deployment(
    store: Store,
    w3: Web3,
    rpc_url: str,
    spec: FeedSpec,
    circuit: FeedCircuit,
    *,
    oracle_address: str | None = None,
    force_dev_srs: bool = False,
) -> Deployment:
    """The feed's live deployment on this chain for this circuit.

    Reuses the current registration when its circuit is this one; when the feed is live
    with another circuit (a new model or new settings), rotates it to this one, so the
    oracle, proxy, consumers and round ids carry on; otherwise deploys it afresh.
    """
    current = current_deployment(store, w3, spec.id, oracle_address=oracle_address)
    if current is None or current.circuit_key != circuit.manifest.key:
        current = _deploy_or_rotate(
            store, w3, rpc_url, spec, circuit, current, oracle_address=oracle_address, force_dev_srs=force_dev_srs
        )
    store.save_feed(spec)
    return current


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
    if current is not None:
        verifier_address = rotate_feed(
            deployer, spec, circuit, oracle_address=current.oracle_address, force_dev_srs=force_dev_srs
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
        )
    deployment = Deployment(
        feed_id=spec.id,
        chain_id=w3.eth.chain_id,
        rpc_url=rpc_url,
        oracle_address=deployed.oracle_address,
        verifier_address=deployed.verifier_address,
        proxy_address=deployed.proxy_address,
        consumer_address=deployed.consumer_address,
        circuit_key=circuit.manifest.key,
        model_commitment=circuit.manifest.model_commitment,
        dev_srs=circuit.manifest.dev_srs,
    )
    store.add(deployment)
    return deployment


def current_deployment(store: Store, w3: Web3, feed_id: str, *, oracle_address: str | None = None) -> Deployment | None:
    """The newest recorded deployment that the chain still has as the feed's current circuit.

    The chain is the judge: a record may outlive its chain (a restarted Anvil reuses
    chain id and addresses), so each is checked against the oracle's registration.
    """
    for deployment in store.deployments(feed_id, chain_id=w3.eth.chain_id):
        if oracle_address is not None and deployment.oracle_address != oracle_address:
            continue
        if not _has_code(w3, deployment.oracle_address):
            continue
        try:
            _phase, registered = (
                bind(w3, ORACLE, deployment.oracle_address).functions.getCircuit(feed_key(feed_id)).call()
            )
        except ContractLogicError:  # the feed is not registered on that oracle
            continue
        if registered[0] == deployment.verifier_address:
            return deployment
    return None


def _has_code(w3: Web3, address: str) -> bool:
    return len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0


@dataclass(frozen=True)
class ConsumerReading:
    answer: int
    decimals: int
    round_id: int

    @property
    def value(self) -> float:
        return self.answer / 10**self.decimals


@dataclass(frozen=True)
class RoundReport:
    """One tick's outcome: a round that landed or failed, or an observation not worth posting."""

    round: Round
    reading: ConsumerReading | None
    quantization_error: float
    trigger: str | None = None  # why the tick was posted, or why not
    skipped: bool = False

    @property
    def landed(self) -> bool:
        return self.round.status is RoundStatus.LANDED

    @property
    def error(self) -> float | None:
        """|value read on-chain − float model output|."""
        if self.reading is None or self.round.model_output is None:
            return None
        return abs(self.reading.value - self.round.model_output)

    @property
    def tolerance(self) -> float:
        """The circuit's quantisation error plus one unit of the feed's decimals (on-chain rounding)."""
        decimals = self.reading.decimals if self.reading else 0
        return self.quantization_error + 10.0**-decimals


class FeedNode:
    """Runs rounds of one deployed feed: pipeline (prove) then relayer (post), then a consumer read."""

    def __init__(
        self,
        spec: FeedSpec,
        circuit: FeedCircuit,
        *,
        store: Store,
        w3: Web3,
        deployment: Deployment,
        prover: Prover,
        proofs_dir: Path,
        source: InputSource | None = None,
        confirmations: int | None = None,
    ) -> None:
        self.spec = spec
        self.circuit = circuit
        self.deployment = deployment
        self._w3 = w3
        self._pipeline = RoundPipeline(
            spec,
            circuit,
            source=source or spec.source.create(SourceContext(w3=w3, input_scale=circuit.manifest.input_scales[0])),
            prover=prover,
            store=store,
            deployment_id=int(deployment.id),  # type: ignore[arg-type]
            proofs_dir=proofs_dir,
        )
        self._store = store
        self._relayer = RoundRelayer(store, sender_for(w3, "relayer", feed=spec), confirmations=confirmations)

    def resume(self) -> list[RoundReport]:
        """Finish rounds an earlier run left observed, proven or in flight (after a crash, say)."""
        outcomes = self._relayer.reconcile(int(self.deployment.id))  # type: ignore[arg-type]
        return [self._report(outcome.round) for outcome in outcomes]

    def tick(self, *, now: float | None = None) -> RoundReport:
        """Infer; then, if a trigger fires, prove, relay and read the consumer."""
        now = time.time() if now is None else now
        row = self._pipeline.observe(now=now)
        if row.status is RoundStatus.FAILED:
            return self._report(row)
        last = self._store.last_landed(self.spec.id, oracle_address=self.deployment.oracle_address)
        decision = decide(self.spec, row, last, now=now)
        if not decision.post:
            return self._report(row, trigger=decision.reason, skipped=True)
        row = self._pipeline.prove(row)
        if row.status is RoundStatus.PROVEN:
            row = self._relayer.relay(int(row.id)).round  # type: ignore[arg-type]
        return self._report(row, trigger=decision.reason)

    def _report(self, row: Round, *, trigger: str | None = None, skipped: bool = False) -> RoundReport:
        reading = self.read_consumer() if row.status is RoundStatus.LANDED else None
        return RoundReport(
            round=row,
            reading=reading,
            quantization_error=self.circuit.manifest.quantization_error,
            trigger=trigger,
            skipped=skipped,
        )

    def read_consumer(self) -> ConsumerReading | None:
        if self.deployment.consumer_address is None:
            return None
        answer, decimals, round_id, _updated_at = (
            bind(self._w3, CONSUMER, self.deployment.consumer_address).functions.readLatest().call()
        )
        return ConsumerReading(answer=int(answer), decimals=int(decimals), round_id=int(round_id))
