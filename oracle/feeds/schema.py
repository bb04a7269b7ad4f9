"""The schema of ``feeds/<id>/feed.toml``: plain data, validated with pydantic.

Importing it loads no EZKL, onnxruntime, APScheduler or source implementation: each
source's settings come from :mod:`oracle.sources.settings`, the schedule stays data
(:mod:`oracle.schedules` turns it into a trigger), and a feed's source is created with
:func:`oracle.feeds.source.feed_source`.
"""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from oracle.circuits.slicing_plan import MAX_LOGROWS, MAX_SLICES, RANGE_CHECK_LOGROWS, SlicingPlan
from oracle.circuits.time_limbs import OBSERVED_AT_LIMB_BITS, OBSERVED_AT_LIMBS, time_limbs
from oracle.feeds.answer import OutputRef, check_syntax
from oracle.feeds.inputs import InputSpec
from oracle.feeds.samples import flat, read_samples
from oracle.sources.settings import SourceSpec, StrictSpec

FEED_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
CHAIN_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
# The name the single-chain ``[chain]`` table goes by among a feed's targets.
DEFAULT_CHAIN = "default"


class ScheduleSpec(StrictSpec):
    """When the feed ticks: every ``interval_seconds``, or on a crontab schedule (UTC)."""

    interval_seconds: float | None = Field(default=None, gt=0)
    cron: str | None = Field(default=None, description="five crontab fields, evaluated in UTC")

    @field_validator("cron")
    @classmethod
    def _crontab(cls, cron: str | None) -> str | None:
        if cron is not None:
            # APScheduler defines the crontab dialect (days by name, ranges); its ValueError says which field
            # is wrong. Imported here, when a cron schedule is validated, so importing the schema loads no scheduler.
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(cron, timezone=UTC)
        return cron

    @model_validator(mode="after")
    def _exactly_one(self) -> ScheduleSpec:
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError("set exactly one of interval_seconds and cron")
        return self


class CircuitSpec(StrictSpec):
    # Only public inputs and outputs are supported end to end so far: the contract
    # derives the answer from a public output instance.
    input_visibility: Literal["public"] = "public"
    output_visibility: Literal["public"] = "public"
    calibration_target: Literal["resources", "accuracy"] = "resources"
    observation_time: Literal[True] = Field(
        default=True,
        description="every circuit proves its observation time (3 limbs after the source's values; model intake "
        "adds an observed_at input to a model without one); rounds are ordered by it on-chain",
    )
    input_scale: int | None = Field(
        default=None,
        ge=0,
        le=20,
        description="fix EZKL's input (and param) scale: values are proven in steps of 2**-input_scale. Unset: "
        "calibration picks it (13 for small models). EZKL reads inputs as f32, so an on-chain input must stay "
        "below 2**24 steps: a price of 3,000 needs input_scale 12 or less",
    )
    max_error: float | None = Field(
        default=None,
        gt=0,
        description="refuse a circuit whose answer differs from onnxruntime's by more than this (in the answer's "
        "units, before decimals) on the held-out samples (every 5th, kept out of calibration)",
    )


class SlicingSpec(StrictSpec):
    """Prove the model as slices linked by KZG commitments (DSperse-style), in parallel."""

    slices: int | None = Field(
        default=None,
        ge=2,
        le=MAX_SLICES,
        description="cut into this many cost-balanced slices (with max_logrows: at least this many)",
    )
    cuts: tuple[str, ...] = Field(default=(), description="or: the tensors to cut at, in graph order")
    max_logrows: int | None = Field(
        default=None,
        ge=RANGE_CHECK_LOGROWS,
        le=MAX_LOGROWS,
        description="no slice may need more than 2**max_logrows rows: wide Gemm/MatMul/Conv nodes are split into "
        "pieces and the fewest slices that fit are cut",
    )
    prove: tuple[int, ...] | None = Field(
        default=None,
        description="targeted verification: the slices to prove (0-based; must include the first and last); "
        "unset: all. Unproven slices run as plain inference and the rounds record partial coverage",
    )

    @model_validator(mode="after")
    def _one_plan(self) -> SlicingSpec:
        if self.max_logrows is not None:
            if self.cuts:
                raise ValueError("max_logrows chooses the cuts itself: remove cuts (or max_logrows)")
            if self.prove is not None:
                raise ValueError("prove needs a fixed slice count, which max_logrows leaves to the planner: remove one")
        elif (self.slices is None) == (not self.cuts):
            raise ValueError("set exactly one of slices (a count), cuts (tensor names) and max_logrows")
        return self

    @property
    def proven_count(self) -> int:
        """How many slice proofs each round takes (at most, where max_logrows leaves the count to the planner)."""
        if self.prove is not None:
            return len(set(self.prove))
        if self.max_logrows is not None:
            return MAX_SLICES
        return self.slices or len(self.cuts) + 1

    def plan(self, *, calibration_target: Literal["resources", "accuracy"]) -> SlicingPlan:
        return SlicingPlan(
            slices=self.slices,
            cuts=self.cuts,
            proven=self.prove,
            calibration_target=calibration_target,
            max_logrows=self.max_logrows,
        )


class TriggerSpec(StrictSpec):
    """When a tick's inference becomes a proven round (inference is cheap, proving is not)."""

    deviation_percent: float | None = Field(
        default=None,
        gt=0,
        description="post when the output moves this many percent from the last landed round; unset: every tick",
    )


class OnchainSpec(StrictSpec):
    """What the feed promises on-chain."""

    heartbeat_seconds: int = Field(default=0, ge=0, lt=2**32)
    input_policy: Literal["operator", "attested", "onchain"] = Field(
        default="operator",
        description="who vouches for the inputs: the allow-listed submitters (operator), k of n data attesters "
        "(attested), or the chain itself, every input an AggregatorV3 round (onchain)",
    )
    permissionless: bool = Field(default=False, description="anyone may relay (attested and onchain feeds only)")
    max_observation_age_seconds: int = Field(default=300, gt=0, lt=2**32)
    rounds_retained: int = Field(
        default=0,
        ge=0,
        lt=2**32,
        description="how many of its latest rounds the oracle keeps readable (getRoundData); 0: every round. "
        "Once a feed has that many, each round rewrites the oldest one's storage slot: 17,100 gas less per round",
    )
    min_answer: float | None = Field(default=None, description="the lowest answer the oracle stores (circuit breaker)")
    max_answer: float | None = Field(default=None, description="the highest answer the oracle stores")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> OnchainSpec:
        if self.min_answer is not None and self.max_answer is not None and self.min_answer > self.max_answer:
            raise ValueError(f"min_answer {self.min_answer:g} is above max_answer {self.max_answer:g}")
        return self


class StaticProverSpec(StrictSpec):
    """A prover named by the feed: the hotkey that must sign its answers, and where it listens."""

    hotkey: str = Field(pattern=r"^[1-9A-HJ-NP-Za-km-z]{46,48}$", description="ss58 address of its hotkey")
    url: str = Field(pattern=r"^https?://\S+$", description="e.g. http://10.0.0.5:8091")


class ProverSpec(StrictSpec):
    """Who proves the feed's rounds: this node (``local``) or a network of remote provers."""

    policy: Literal["local", "network"] = "local"
    redundancy: int = Field(default=2, ge=1, le=16, description="how many provers each round is sent to")
    timeout_seconds: float = Field(default=60.0, gt=0, description="then the round is proven locally")
    provers: tuple[StaticProverSpec, ...] = ()
    subtensor: str | None = Field(
        default=None,
        pattern=r"^(finney|test|archive|devnet|local|wss?://\S+)$",
        description="discover provers on this chain: a Bittensor network name or a ws(s):// endpoint",
    )
    netuid: int = Field(default=2, ge=0, le=65535, description="the subnet whose neurons are the provers")

    @model_validator(mode="after")
    def _network_has_provers(self) -> ProverSpec:
        if self.policy == "network" and not self.provers and self.subtensor is None:
            raise ValueError("policy 'network' needs provers: list them as [[prover.provers]] or set prover.subtensor")
        return self


class ChainSpec(StrictSpec):
    """Where the feed is posted. Keys never live here: only the names of where to find them."""

    # The node talks JSON-RPC over HTTP (one request per call, safe across the scheduler's threads).
    rpc_url: str = Field(pattern=r"^https?://\S+$")
    chain_id: int = Field(gt=0)
    oracle_address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    relayer_key_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="NAME of the env var holding the relayer key"
    )
    keystore: Path | None = Field(default=None, description="an encrypted JSON keystore, relative to the feed folder")
    password_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="NAME of the env var holding its password"
    )

    @model_validator(mode="after")
    def _one_key_source(self) -> ChainSpec:
        if self.relayer_key_env is not None and self.keystore is not None:
            raise ValueError("set relayer_key_env or keystore, not both")
        if (self.keystore is None) != (self.password_env is None):
            raise ValueError("a keystore needs password_env (and password_env needs a keystore)")
        return self


class AttesterSpec(StrictSpec):
    """A data attester registered for the feed: the address that signs, and where it listens."""

    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="the attester's signing address")
    url: str = Field(pattern=r"^https?://\S+$", description="e.g. http://10.0.0.7:8093")


class AttestationSpec(StrictSpec):
    """Data attesters (the ``attested`` input policy): who vouches for the inputs, and how closely they must agree."""

    tolerance_percent: float = Field(
        default=0.5,
        ge=0,
        le=100,
        description="an attester signs when each input is within this many percent of its own observation "
        "(plus one quantisation step)",
    )
    attesters: tuple[AttesterSpec, ...] = ()
    threshold: int = Field(default=1, ge=1, description="how many attesters must sign a round")

    @model_validator(mode="after")
    def _reachable_threshold(self) -> AttestationSpec:
        addresses = [attester.address.lower() for attester in self.attesters]
        if len(set(addresses)) != len(addresses):
            raise ValueError("each attester may be listed once (the contract counts distinct signers)")
        if self.attesters and self.threshold > len(self.attesters):
            raise ValueError(f"threshold {self.threshold} is more than the {len(self.attesters)} attesters listed")
        return self


class AnswerSpec(StrictSpec):
    """One of several answers a feed publishes from each proof: an output value with its own id, proxy and rounds."""

    id: str = Field(pattern=FEED_ID_PATTERN, description="the answer's feed id on-chain (read like any feed's)")
    output: OutputRef = Field(description='which output value: "scores[3]", a one-element tensor, or a flat index')
    decimals: int | None = Field(default=None, ge=0, le=36, description="unset: the feed's")
    description: str | None = Field(default=None, min_length=1, max_length=200, description="unset: the feed's")
    min_answer: float | None = Field(default=None, description="the lowest value the oracle stores for it")
    max_answer: float | None = Field(default=None, description="the highest value the oracle stores for it")
    heartbeat_seconds: int | None = Field(default=None, ge=0, lt=2**32, description="unset: [onchain]'s")
    deviation_percent: float | None = Field(default=None, gt=0, description="unset: [trigger]'s")

    @field_validator("output")
    @classmethod
    def _output_syntax(cls, output: OutputRef) -> OutputRef:
        return check_syntax(output)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> AnswerSpec:
        if self.min_answer is not None and self.max_answer is not None and self.min_answer > self.max_answer:
            raise ValueError(f"min_answer {self.min_answer:g} is above max_answer {self.max_answer:g}")
        return self


class FeedSpec(StrictSpec):
    id: str = Field(pattern=FEED_ID_PATTERN)
    description: str = Field(min_length=1, max_length=200)
    model: Path
    samples: Path
    decimals: int = Field(ge=0, le=36)
    output: OutputRef = Field(
        default=0,
        description='the answer: an output tensor and row-major index ("logits[3]"), a one-element tensor '
        '("forecast"), or the position among all output values, flattened (0)',
    )
    source: SourceSpec
    schedule: ScheduleSpec
    input: InputSpec = InputSpec()
    circuit: CircuitSpec = CircuitSpec()
    onchain: OnchainSpec = OnchainSpec()
    trigger: TriggerSpec = TriggerSpec()
    slicing: SlicingSpec | None = None
    prover: ProverSpec = ProverSpec()
    chain: ChainSpec | None = None
    chains: dict[str, ChainSpec] = Field(
        default_factory=dict,
        description="every chain the feed is posted to, by name ([chains.<name>]); each round is proven once "
        "and posted to all of them",
    )
    attestation: AttestationSpec | None = None
    answers: tuple[AnswerSpec, ...] = Field(
        default=(),
        description="[[answers]]: several output values published from each proof, each under its own id; "
        "the feed's own id then carries no value",
    )
    folder: Path = Field(exclude=True)

    @field_validator("output")
    @classmethod
    def _output_syntax(cls, output: OutputRef) -> OutputRef:
        return check_syntax(output)

    @field_validator("chains")
    @classmethod
    def _distinct_targets(cls, chains: dict[str, ChainSpec], info: ValidationInfo) -> dict[str, ChainSpec]:
        # [chain] and [onchain] come before chains in the model, so they are validated (and in info.data) by now.
        for name in chains:
            if not re.fullmatch(CHAIN_NAME_PATTERN, name):
                raise ValueError(f"chain name {name!r} must be lowercase letters, digits, '-' or '_' (e.g. 'base')")
        chain = info.data.get("chain")
        if chain is not None and DEFAULT_CHAIN in chains:
            raise ValueError(f"[chain] is the target named '{DEFAULT_CHAIN}': rename [chains.{DEFAULT_CHAIN}]")
        ids = [target.chain_id for target in ([chain] if chain is not None else []) + list(chains.values())]
        if len(set(ids)) != len(ids):
            raise ValueError(f"two targets name the same chain id ({ids}): a feed is posted once per chain")
        policy = getattr(info.data.get("onchain"), "input_policy", None)
        if len(ids) > 1 and policy == "onchain":
            raise ValueError(
                "an 'onchain' input policy reads its source feeds on one chain: such a feed has one target"
            )
        if len(ids) > 1 and policy == "attested":
            raise ValueError(
                "an 'attested' feed's attesters sign for one oracle on one chain: such a feed has one target"
            )
        return chains

    @field_validator("answers")
    @classmethod
    def _distinct_answers(cls, answers: tuple[AnswerSpec, ...], info: ValidationInfo) -> tuple[AnswerSpec, ...]:
        ids = [answer.id for answer in answers]
        repeated = sorted({answer for answer in ids if ids.count(answer) > 1})
        if repeated:
            raise ValueError(f"answer ids must be unique in the feed: {', '.join(repeated)} listed twice")
        if info.data.get("id") in ids:
            raise ValueError(f"an answer's id must differ from the feed's own ({info.data['id']!r})")
        return answers

    @property
    def targets(self) -> dict[str, ChainSpec]:
        """Every chain the feed is posted to, by name, in feed.toml's order; the first is where rounds are proven for."""
        return ({DEFAULT_CHAIN: self.chain} if self.chain is not None else {}) | self.chains

    def target_on(self, chain_id: int) -> tuple[str, ChainSpec] | None:
        """The target (name and table) on chain ``chain_id``, if the feed names one."""
        return next(((name, chain) for name, chain in self.targets.items() if chain.chain_id == chain_id), None)

    @property
    def model_path(self) -> Path:
        return self.folder / self.model

    @property
    def samples_path(self) -> Path:
        return self.folder / self.samples

    def load_samples(self) -> list[list[float]]:
        """The samples, each flattened row-major (their shapes are checked against the model by check_feed)."""
        return flat(read_samples(self.samples_path, feed=self.id))

    def source_input_size(self, model_input_size: int) -> int:
        """How many values the source provides (after transforms): the model's inputs less the time limbs."""
        return model_input_size - (OBSERVED_AT_LIMBS if self.circuit.observation_time else 0)

    def model_input(self, source_values: list[float], *, observed_at: int) -> list[float]:
        """The model's whole input: the source's values, then the observation time when the feed proves it."""
        return source_values + time_limbs(observed_at) if self.circuit.observation_time else source_values

    def model_samples(self) -> list[list[float]]:
        """Calibration inputs for the whole model: the samples plus observation times spanning all limb values."""
        samples = self.load_samples()
        if not self.circuit.observation_time:
            return samples
        last = (1 << (OBSERVED_AT_LIMBS * OBSERVED_AT_LIMB_BITS)) - 1
        times = [0, last] + [1_700_000_000 + 7919 * i for i in range(len(samples))]
        return [sample + time_limbs(times[i % len(times)]) for i, sample in enumerate(samples)]
