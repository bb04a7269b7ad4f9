"""What a tick tells the operator: a round's outcome on one chain, and the value a contract reads back there."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from oracle.evm.contracts import CONSUMER, PROXY, bind
from oracle.evm.zkoracle import RoundId
from oracle.store import Deployment, Round, RoundStatus, Store


@dataclass(frozen=True)
class OnchainReading:
    """The feed's latest value as a contract reads it: the example consumer when deployed, else the proxy."""

    answer: int
    decimals: int
    round_id: RoundId
    reader: str  # "consumer" or "proxy"

    @property
    def value(self) -> float:
        return self.answer / 10**self.decimals


@dataclass(frozen=True)
class AnswerReport:
    """One answer a round of a feed with ``[[answers]]`` posted: its inferred value and, landed, its stored one."""

    answer_id: str
    model_output: float
    value: float | None  # the answer stored on-chain / 10**decimals, once landed


def answer_reports(store: Store, deployment: Deployment, row: Round) -> tuple[AnswerReport, ...]:
    """The answers ``row`` posted (none for a feed of one answer), as the operator is told of them."""
    if row.id is None:
        return ()
    decimals = {a.answer_id: a.decimals for a in store.deployment_answers(int(deployment.id))}  # type: ignore[arg-type]
    return tuple(
        AnswerReport(
            answer_id=posted.answer_id,
            model_output=posted.model_output,
            value=None
            if posted.onchain_answer is None or posted.answer_id not in decimals
            else int(posted.onchain_answer) / 10 ** decimals[posted.answer_id],
        )
        for posted in store.round_answers(int(row.id))
    )


@dataclass(frozen=True)
class RoundReport:
    """One tick's outcome: a round that landed or failed, or an observation not worth posting.

    A feed posted to several chains gives one report per chain for each proven round;
    ``lane`` marks those of its other chains (the tick itself reports the first chain's).
    """

    round: Round
    reading: OnchainReading | None
    quantization_error: float
    trigger: str | None = None  # why the tick was posted, or why not
    skipped: bool = False
    chain_id: int | None = None
    lane: bool = False
    answers: tuple[AnswerReport, ...] = ()  # a feed with [[answers]]: those the round posted

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


def read_onchain(w3: Web3, deployment: Deployment) -> OnchainReading:
    """The deployment's latest value, read as a consumer contract would."""
    return _read(w3, proxy_address=deployment.proxy_address, consumer_address=deployment.consumer_address)


def read_round_onchain(w3: Web3, store: Store, deployment: Deployment, row: Round) -> OnchainReading:
    """The latest value of what ``row`` posted, read as a consumer would: the feed's, or (a feed with
    ``[[answers]]``) its first posted answer's, through that answer's own consumer or proxy."""
    posted = store.round_answers(int(row.id))  # type: ignore[arg-type]
    if not posted:
        return read_onchain(w3, deployment)
    registered = {answer.answer_id: answer for answer in store.deployment_answers(int(deployment.id))}  # type: ignore[arg-type]
    answer = registered[posted[0].answer_id]
    return _read(w3, proxy_address=answer.proxy_address, consumer_address=answer.consumer_address)


def _read(w3: Web3, *, proxy_address: str, consumer_address: str | None) -> OnchainReading:
    if consumer_address is not None:
        consumer = bind(w3, CONSUMER, consumer_address)
        answer, decimals, round_id, _updated_at = consumer.functions.readLatest().call()
        return OnchainReading(int(answer), int(decimals), RoundId.decode(round_id), reader="consumer")
    proxy = bind(w3, PROXY, proxy_address)
    round_id, answer, _started_at, _updated_at, _answered_in = proxy.functions.latestRoundData().call()
    decimals = proxy.functions.decimals().call()
    return OnchainReading(int(answer), int(decimals), RoundId.decode(round_id), reader="proxy")
