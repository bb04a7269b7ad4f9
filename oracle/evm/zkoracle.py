"""The one typed binding of the ZkOracle contract: its structs, round ids, calls, views and events.

Every Python caller (node, deployments, relayer, read API, tests, benchmarks) goes through
this module instead of building positional tuples or shifting round ids itself. The
dataclasses mirror the structs of ``contracts/interfaces/IZkOracle.sol`` field for field and
in order; ``tests/evm/test_zkoracle_binding.py`` fails when the two drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from enum import IntEnum
from typing import Any

from py_ecc.bn128 import curve_order
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from oracle.evm.contracts import ORACLE, bind, feed_key

# EZKL's public instances are elements of the BN254 scalar field; a negative fixed-point
# value x is encoded as FIELD_MODULUS - |x|.
FIELD_MODULUS: int = curve_order
# Mirrors of ZkOracle's constants (the binding test reads the public ones back from a deployed oracle).
PHASE_BITS = 64  # round ids are (phaseId << 64) | roundInPhase, as Chainlink's proxies number them
MAX_SLICES = 16
# ``SliceConfig.verifier`` of a slice that is run but not proven (targeted verification).
UNPROVEN_VERIFIER = "0x" + "00" * 20
# The custom errors of ZkOracle the relayer acts on; every other revert is reported as it is.
STALE_ROUND = "ZkOracleStaleRound"  # a round observed as late or later landed, by some transaction
OBSERVATION_FROM_FUTURE = "ZkOracleObservationFromFuture"  # observed after the latest block's time

FeedRef = str | bytes  # a feed's string id, or its on-chain key (keccak256 of the id)


def key_of(feed: FeedRef) -> bytes:
    return feed if isinstance(feed, bytes) else feed_key(feed)


@dataclass(frozen=True, order=True)
class RoundId:
    """A round id split into the phase (one per circuit of the feed) and the round within it."""

    phase: int
    n: int

    def __post_init__(self) -> None:
        if not (0 <= self.phase < 1 << 16 and 0 <= self.n < 1 << PHASE_BITS):
            raise ValueError(f"round id ({self.phase}, {self.n}) does not fit uint16 phase and uint64 round")

    def __int__(self) -> int:
        return (self.phase << PHASE_BITS) | self.n

    @classmethod
    def decode(cls, value: int) -> RoundId:
        return cls(phase=value >> PHASE_BITS, n=value & ((1 << PHASE_BITS) - 1))

    def __str__(self) -> str:
        return f"phase {self.phase} round {self.n}"


def _address(value: str) -> str:
    return Web3.to_checksum_address(value)


class InputPolicy(IntEnum):
    """``IZkOracle.InputPolicy``: who vouches for a feed's inputs."""

    OPERATOR = 0
    ATTESTED = 1
    ONCHAIN = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class OnchainInputKind(IntEnum):
    """``IZkOracle.OnchainInputKind``: a plain getter (Operator feeds only) or an AggregatorV3 round."""

    GETTER = 0
    AGGREGATOR = 1


# Answers are stored as int192 (as Chainlink's): a feed declaring no answer bounds registers
# int192's own, accepts every answer that fits and never reads its bounds in a submission.
INT192_MIN = -(2**191)
INT192_MAX = 2**191 - 1


@dataclass(frozen=True)
class FeedParams:
    """``IZkOracle.FeedParams``."""

    decimals: int
    heartbeat: int
    max_observation_age: int
    input_policy: InputPolicy
    permissionless: bool
    min_answer: int
    max_answer: int
    description: str
    # How many of its latest rounds per phase stay readable on-chain; 0: every round.
    rounds_retained: int = 0

    def to_abi(self) -> tuple:
        return astuple(self)

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> FeedParams:
        decimals, heartbeat, max_age, policy, permissionless, low, high, description, retained = value
        return cls(
            int(decimals),
            int(heartbeat),
            int(max_age),
            InputPolicy(int(policy)),
            bool(permissionless),
            int(low),
            int(high),
            str(description),
            int(retained),
        )


@dataclass(frozen=True)
class AnswerParams:
    """``IZkOracle.AnswerParams``: an answer of a feed, ``output_offset`` instances past the feed's output."""

    output_offset: int
    decimals: int
    heartbeat: int
    min_answer: int
    max_answer: int
    description: str

    def to_abi(self) -> tuple:
        return astuple(self)


@dataclass(frozen=True)
class OnchainInput:
    """``IZkOracle.OnchainInput``: a value the oracle reads itself during ``submit``."""

    kind: OnchainInputKind
    target: str
    selector: bytes
    decimals: int
    instance_index: int
    max_age: int = 0

    def to_abi(self) -> tuple:
        return (int(self.kind), _address(self.target), self.selector, self.decimals, self.instance_index, self.max_age)

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> OnchainInput:
        kind, target, selector, decimals, index, max_age = value
        return cls(OnchainInputKind(int(kind)), _address(target), bytes(selector), int(decimals), int(index), int(max_age))


@dataclass(frozen=True)
class Attestation:
    """``IZkOracle.Attestation``: one data attester's signature of a round's Observation."""

    signer: str
    signature: bytes

    def to_abi(self) -> tuple:
        return (_address(self.signer), self.signature)


@dataclass(frozen=True)
class InputEvidence:
    """``IZkOracle.InputEvidence``: what the feed's input policy needs besides the proof."""

    attestations: tuple[Attestation, ...] = ()
    source_rounds: tuple[int, ...] = ()

    def to_abi(self) -> tuple:
        ordered = sorted(self.attestations, key=lambda item: int(item.signer, 16))
        return ([item.to_abi() for item in ordered], list(self.source_rounds))

    def to_json(self) -> str:
        return json.dumps(
            {
                "attestations": [{"signer": a.signer, "signature": "0x" + a.signature.hex()} for a in self.attestations],
                "source_rounds": [str(r) for r in self.source_rounds],  # uint80: beyond JSON's exact integers
            }
        )

    @classmethod
    def from_json(cls, text: str) -> InputEvidence:
        data = json.loads(text)
        return cls(
            attestations=tuple(
                Attestation(item["signer"], bytes.fromhex(item["signature"].removeprefix("0x")))
                for item in data["attestations"]
            ),
            source_rounds=tuple(int(r) for r in data["source_rounds"]),
        )


@dataclass(frozen=True)
class SliceConfig:
    """``IZkOracle.SliceConfig``: a slice after the first; ``UNPROVEN_VERIFIER`` when it is not proven."""

    verifier: str
    instance_count: int

    @property
    def proven(self) -> bool:
        return int(self.verifier, 16) != 0

    def to_abi(self) -> tuple:
        return (_address(self.verifier), self.instance_count)

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> SliceConfig:
        verifier, instance_count = value
        return cls(_address(verifier), int(instance_count))


@dataclass(frozen=True)
class CircuitConfig:
    """``IZkOracle.CircuitConfig``: how one phase's proofs are checked and its answer derived."""

    verifier: str
    model_commitment: bytes
    instance_count: int
    input_count: int
    output_index: int
    input_scale: int
    output_scale: int
    observed_at_index: int
    onchain_inputs: tuple[OnchainInput, ...] = ()
    slices: tuple[SliceConfig, ...] = ()

    @property
    def coverage(self) -> tuple[int, int]:
        """(proven, total) slices of the model, as ``getCoverage`` reports for this phase's rounds."""
        return 1 + sum(piece.proven for piece in self.slices), 1 + len(self.slices)

    def to_abi(self) -> tuple:
        return (
            _address(self.verifier),
            self.model_commitment,
            self.instance_count,
            self.input_count,
            self.output_index,
            self.input_scale,
            self.output_scale,
            self.observed_at_index,
            [item.to_abi() for item in self.onchain_inputs],
            [item.to_abi() for item in self.slices],
        )

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> CircuitConfig:
        (verifier, commitment, instances, inputs, output, in_scale, out_scale, time_index, onchain, slices) = value
        return cls(
            verifier=_address(verifier),
            model_commitment=bytes(commitment),
            instance_count=int(instances),
            input_count=int(inputs),
            output_index=int(output),
            input_scale=int(in_scale),
            output_scale=int(out_scale),
            observed_at_index=int(time_index),
            onchain_inputs=tuple(OnchainInput.from_abi(item) for item in onchain),
            slices=tuple(SliceConfig.from_abi(item) for item in slices),
        )


@dataclass(frozen=True)
class RoundRecord:
    """``IZkOracle.Round``: one accepted round as stored, with its phase's model commitment.

    Who submitted it and its inputs hash are in its ``RoundSubmitted`` event
    (:meth:`ZkOracle.round_submission`), its instances in that transaction's calldata.
    """

    answer: int
    observed_at: int
    included_at: int
    model_commitment: bytes

    def to_abi(self) -> tuple:
        return astuple(self)

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> RoundRecord:
        answer, observed_at, included_at, commitment = value
        return cls(int(answer), int(observed_at), int(included_at), bytes(commitment))


@dataclass(frozen=True)
class RoundData:
    """A round in Chainlink's AggregatorV3 shape, as ``latestRoundData``/``getRoundData`` return it."""

    round_id: RoundId
    answer: int
    started_at: int
    updated_at: int
    answered_in_round: RoundId

    @classmethod
    def from_abi(cls, value: Sequence[Any]) -> RoundData:
        round_id, answer, started_at, updated_at, answered_in_round = value
        return cls(
            RoundId.decode(round_id), int(answer), int(started_at), int(updated_at), RoundId.decode(answered_in_round)
        )


@dataclass(frozen=True)
class RoundSubmitted:
    """A ``RoundSubmitted`` event and the transaction that emitted it."""

    feed_key: bytes
    round_id: RoundId
    submitter: str
    answer: int
    observed_at: int
    inputs_hash: bytes  # keccak256 of the packed input instances (the first slice's when sliced)
    tx_hash: str
    block_number: int

    @classmethod
    def from_event(cls, event: EventData) -> RoundSubmitted:
        args = event["args"]
        return cls(
            feed_key=bytes(args["feedId"]),
            round_id=RoundId.decode(args["roundId"]),
            submitter=_address(args["submitter"]),
            answer=int(args["answer"]),
            observed_at=int(args["observedAt"]),
            inputs_hash=bytes(args["inputsHash"]),
            tx_hash=event["transactionHash"].to_0x_hex(),
            block_number=int(event["blockNumber"]),
        )


class ZkOracle:
    """A deployed ZkOracle: typed views and events, and the contract calls a sender transacts."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.contract: Contract = bind(w3, ORACLE, address)

    @property
    def address(self) -> str:
        return self.contract.address

    @property
    def w3(self) -> Web3:
        return self.contract.w3

    # ------------------------------------------------------------- calls to transact

    def register_feed(self, feed: FeedRef, params: FeedParams, circuit: CircuitConfig) -> ContractFunction:
        return self.contract.functions.registerFeed(key_of(feed), params.to_abi(), circuit.to_abi())

    def register_answer(self, feed: FeedRef, answer: FeedRef, params: AnswerParams) -> ContractFunction:
        return self.contract.functions.registerAnswer(key_of(feed), key_of(answer), params.to_abi())

    def propose_rotation(self, feed: FeedRef, circuit: CircuitConfig) -> ContractFunction:
        return self.contract.functions.proposeRotation(key_of(feed), circuit.to_abi())

    def execute_rotation(self, feed: FeedRef) -> ContractFunction:
        return self.contract.functions.executeRotation(key_of(feed))

    def cancel_rotation(self, feed: FeedRef) -> ContractFunction:
        return self.contract.functions.cancelRotation(key_of(feed))

    def set_halted(self, feed: FeedRef, halted: bool) -> ContractFunction:
        return self.contract.functions.setHalted(key_of(feed), halted)

    def set_attesters(self, feed: FeedRef, attesters: Sequence[str], threshold: int) -> ContractFunction:
        return self.contract.functions.setAttesters(key_of(feed), [_address(a) for a in attesters], threshold)

    def set_paused(self, feed: FeedRef, paused: bool) -> ContractFunction:
        return self.contract.functions.setPaused(key_of(feed), paused)

    def set_heartbeat(self, feed: FeedRef, heartbeat: int) -> ContractFunction:
        return self.contract.functions.setHeartbeat(key_of(feed), heartbeat)

    def set_submitter(self, feed: FeedRef, submitter: str, allowed: bool) -> ContractFunction:
        return self.contract.functions.setSubmitter(key_of(feed), _address(submitter), allowed)

    def submit(
        self, feed: FeedRef, proof: bytes, instances: Sequence[int], evidence: InputEvidence = InputEvidence()
    ) -> ContractFunction:
        return self.contract.functions.submit(key_of(feed), proof, list(instances), evidence.to_abi())

    def submit_answers(
        self,
        feed: FeedRef,
        proof: bytes,
        instances: Sequence[int],
        answers: Sequence[FeedRef],
        evidence: InputEvidence = InputEvidence(),
    ) -> ContractFunction:
        """Verify as ``submit`` does, then store each of ``answers`` (the feed's registered answers); the feed's
        own id gets no round."""
        return self.contract.functions.submitAnswers(
            key_of(feed), proof, list(instances), evidence.to_abi(), [key_of(answer) for answer in answers]
        )

    def submit_slices(
        self,
        feed: FeedRef,
        proofs: Sequence[bytes],
        instances: Sequence[Sequence[int]],
        evidence: InputEvidence = InputEvidence(),
    ) -> ContractFunction:
        return self.contract.functions.submitSlices(
            key_of(feed), list(proofs), [list(group) for group in instances], evidence.to_abi()
        )

    def submit_slice_answers(
        self,
        feed: FeedRef,
        proofs: Sequence[bytes],
        instances: Sequence[Sequence[int]],
        answers: Sequence[FeedRef],
        evidence: InputEvidence = InputEvidence(),
    ) -> ContractFunction:
        """Verify as ``submit_slices`` does, then store each of ``answers`` from the last slice's instances; the
        feed's own id gets no round."""
        return self.contract.functions.submitSliceAnswers(
            key_of(feed),
            list(proofs),
            [list(group) for group in instances],
            evidence.to_abi(),
            [key_of(answer) for answer in answers],
        )

    # ------------------------------------------------------------- views

    def feed_params(self, feed: FeedRef) -> FeedParams:
        return FeedParams.from_abi(self.contract.functions.getFeedParams(key_of(feed)).call())

    def circuit(self, feed: FeedRef) -> tuple[int, CircuitConfig]:
        """The feed's current phase and its circuit."""
        phase, circuit = self.contract.functions.getCircuit(key_of(feed)).call()
        return int(phase), CircuitConfig.from_abi(circuit)

    def phase_circuit(self, feed: FeedRef, phase: int) -> CircuitConfig:
        return CircuitConfig.from_abi(self.contract.functions.getPhaseCircuit(key_of(feed), phase).call())

    def pending_rotation(self, feed: FeedRef) -> tuple[int, int] | None:
        """(phase, executable at) of the feed's pending rotation, None when none is pending."""
        phase, executable_at = self.contract.functions.getPendingRotation(key_of(feed)).call()
        return (int(phase), int(executable_at)) if phase else None

    def attesters(self, feed: FeedRef) -> tuple[tuple[str, ...], int]:
        """An Attested feed's registered attesters and threshold."""
        attesters, threshold = self.contract.functions.getAttesters(key_of(feed)).call()
        return tuple(_address(a) for a in attesters), int(threshold)

    def observation_digest(self, feed: FeedRef, phase: int, inputs_hash: bytes, observed_at: int) -> bytes:
        """The EIP-712 digest a data attester signs for a round (computed by the contract)."""
        return bytes(self.contract.functions.observationDigest(key_of(feed), phase, inputs_hash, observed_at).call())

    def is_paused(self, feed: FeedRef) -> bool:
        return bool(self.contract.functions.isPaused(key_of(feed)).call())

    def is_halted(self, feed: FeedRef) -> bool:
        return bool(self.contract.functions.isHalted(key_of(feed)).call())

    def is_submitter(self, feed: FeedRef, submitter: str) -> bool:
        return bool(self.contract.functions.isSubmitter(key_of(feed), _address(submitter)).call())

    def latest_round_data(self, feed: FeedRef) -> RoundData:
        return RoundData.from_abi(self.contract.functions.latestRoundData(key_of(feed)).call())

    def round_data(self, feed: FeedRef, round_id: RoundId) -> RoundData:
        return RoundData.from_abi(self.contract.functions.getRoundData(key_of(feed), int(round_id)).call())

    def round(self, feed: FeedRef, round_id: RoundId) -> RoundRecord:
        return RoundRecord.from_abi(self.contract.functions.getRound(key_of(feed), int(round_id)).call())

    def coverage(self, feed: FeedRef, round_id: RoundId) -> tuple[int, int]:
        """(proven, total) slices behind the round."""
        proven, total = self.contract.functions.getCoverage(key_of(feed), int(round_id)).call()
        return int(proven), int(total)

    def latest_round_id(self, feed: FeedRef) -> RoundId | None:
        """The latest round's id, None before the first round."""
        value = int(self.contract.functions.latestRoundId(key_of(feed)).call())
        return RoundId.decode(value) if value else None

    # ------------------------------------------------------------- events

    def round_submitted(self, receipt: TxReceipt, *, feed: FeedRef | None = None) -> list[RoundSubmitted]:
        """The RoundSubmitted events of a receipt (of ``feed`` only, if given)."""
        events = [
            RoundSubmitted.from_event(event)
            for event in self.contract.events.RoundSubmitted().process_receipt(receipt, errors=DISCARD)
        ]
        return [event for event in events if feed is None or event.feed_key == key_of(feed)]

    def round_submission(self, feed: FeedRef, round_id: RoundId, *, from_block: int = 0) -> RoundSubmitted | None:
        """The event that stored round ``round_id``: what the round's storage leaves out (submitter,
        inputs hash) and the transaction whose calldata holds its proof and instances."""
        logs = self.contract.events.RoundSubmitted().get_logs(
            argument_filters={"feedId": key_of(feed), "roundId": int(round_id)}, from_block=from_block
        )
        return RoundSubmitted.from_event(logs[0]) if logs else None

    def round_submitted_logs(self, feed: FeedRef, *, from_block: int, to_block: int) -> list[RoundSubmitted]:
        logs = self.contract.events.RoundSubmitted().get_logs(
            argument_filters={"feedId": key_of(feed)}, from_block=from_block, to_block=to_block
        )
        return [RoundSubmitted.from_event(event) for event in logs]
