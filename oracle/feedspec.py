"""Feed definitions: ``feeds/<id>/feed.toml``, validated with pydantic.

Every validation error is reported as a :class:`FeedSpecError` naming the feed, the
field and the fix.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oracle.circuits.quantize import OBSERVED_AT_LIMB_BITS, OBSERVED_AT_LIMBS, time_limbs
from oracle.circuits.slicing.build import SlicingPlan
from oracle.exceptions import FeedSpecError, SourceError
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.evm_view import EvmViewSource, View
from oracle.sources.file import FileSourceSpec
from oracle.sources.http_json import HttpJsonSourceSpec
from oracle.sources.python_callable import CallableSourceSpec
from oracle.sources.synthetic import SyntheticPriceSource
from oracle.transforms import InputSpec

FEED_FILE = "feed.toml"
FEED_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

_FIXES = {
    "id": "use lowercase letters, digits, '-' or '_' (e.g. id = \"eth-usd\")",
    "model": 'point it at an ONNX file relative to the feed folder (e.g. model = "model.onnx")',
    "samples": "point it at a JSON list of sample inputs relative to the feed folder",
    "decimals": "use an integer from 0 to 36 (8 is Chainlink's usual for prices)",
    "schedule": 'set exactly one of interval_seconds = 30 and cron = "*/5 * * * *"',
    "schedule.interval_seconds": "use a positive number of seconds (e.g. interval_seconds = 30)",
    "schedule.cron": 'use five crontab fields, days of the week by name (e.g. cron = "0 * * * mon-fri")',
    "source.kind": 'use one of the supported source kinds ("synthetic", "evm_view", "http_json", "file", "callable")',
    "source.headers": 'map each header to the NAME of an environment variable (e.g. Authorization = "PRICES_TOKEN")',
    "input.evm_view": "the contract checks the views' raw values; remove [input] and transform inside the model",
    "chain.rpc_url": 'use the chain\'s HTTP(S) JSON-RPC URL (e.g. rpc_url = "https://mainnet.base.org")',
    "chain.secret": 'name an environment variable (relayer_key_env = "MY_RELAYER_KEY") or a keystore + password_env',
    "slicing": 'set slices = 3 (a count to balance) or cuts = ["tensor", ...], and prove = [0, ..., last] or nothing',
    "onchain.permissionless": "prove freshness with circuit.observation_time = true, or keep an allow-list",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticSourceSpec(_Strict):
    """The deterministic synthetic price series (see :mod:`oracle.sources.synthetic`)."""

    kind: Literal["synthetic"]
    window: int = Field(gt=0, description="how many consecutive prices the model takes")
    tick_seconds: float = Field(gt=0, description="seconds per step of the series")
    base: float = Field(default=2000.0, gt=0, description="the series' central price")
    seed: str = Field(default="zkoracle", description="changes the noise, not the cycles")

    def create(self, context: SourceContext | None = None) -> InputSource:
        return SyntheticPriceSource(window=self.window, tick_seconds=self.tick_seconds, base=self.base, seed=self.seed)


class ViewSpec(_Strict):
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    function: str = Field(default="value()", pattern=r"^[A-Za-z_][A-Za-z0-9_]*\(\)$")
    decimals: int = Field(ge=0, le=36)


class EvmViewSourceSpec(_Strict):
    """Inputs read from view functions returning int256 on the oracle's chain.

    The contract reads the same views in ``submit`` and requires the proof to have used
    exactly these values, so the feed's inputs are as trustworthy as those contracts.
    """

    kind: Literal["evm_view"]
    views: list[ViewSpec] = Field(min_length=1)

    def create(self, context: SourceContext | None = None) -> InputSource:
        if context is None or context.w3 is None or context.input_scale is None:
            raise SourceError("an evm_view source reads the oracle's chain and needs the circuit's input scale")
        views = [View(address=v.address, function=v.function, decimals=v.decimals) for v in self.views]
        return EvmViewSource(views, w3=context.w3, input_scale=context.input_scale)


SourceSpec = Annotated[
    SyntheticSourceSpec | EvmViewSourceSpec | HttpJsonSourceSpec | FileSourceSpec | CallableSourceSpec,
    Field(discriminator="kind"),
]


class ScheduleSpec(_Strict):
    """When the feed ticks: every ``interval_seconds``, or on a crontab schedule (UTC)."""

    interval_seconds: float | None = Field(default=None, gt=0)
    cron: str | None = Field(default=None, description="five crontab fields, evaluated in UTC")

    @field_validator("cron")
    @classmethod
    def _crontab(cls, cron: str | None) -> str | None:
        if cron is not None:
            CronTrigger.from_crontab(cron, timezone=UTC)  # its ValueError says which field is wrong
        return cron

    @model_validator(mode="after")
    def _exactly_one(self) -> ScheduleSpec:
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError("set exactly one of interval_seconds and cron")
        return self

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger for this schedule."""
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=UTC)
        return IntervalTrigger(seconds=self.interval_seconds, timezone=UTC)

    def seconds_to_next_tick(self, *, now: float) -> float:
        """How long after ``now`` the next tick comes (used to post heartbeats one tick early)."""
        if self.interval_seconds is not None:
            return self.interval_seconds
        moment = datetime.fromtimestamp(now, UTC)
        upcoming = self.trigger().get_next_fire_time(None, moment)
        return (upcoming - moment).total_seconds() if upcoming else 0.0


class CircuitSpec(_Strict):
    # Only public inputs and outputs are supported end to end so far: the contract
    # derives the answer from a public output instance.
    input_visibility: Literal["public"] = "public"
    output_visibility: Literal["public"] = "public"
    calibration_target: Literal["resources", "accuracy"] = "resources"
    observation_time: bool = Field(
        default=False,
        description="the model's last input is the observation time as 3 limbs, checked on-chain for freshness",
    )


class SlicingSpec(_Strict):
    """Prove the model as slices linked by Poseidon commitments (DSperse-style), in parallel."""

    slices: int | None = Field(default=None, ge=2, le=16, description="cut into this many cost-balanced slices")
    cuts: tuple[str, ...] = Field(default=(), description="or: the tensors to cut at, in graph order")
    prove: tuple[int, ...] | None = Field(
        default=None,
        description="targeted verification: the slices to prove (0-based; must include the first and last); "
        "unset: all. Unproven slices run as plain inference and the rounds record partial coverage",
    )

    @model_validator(mode="after")
    def _one_plan(self) -> SlicingSpec:
        if (self.slices is None) == (not self.cuts):
            raise ValueError("set exactly one of slices (a count) and cuts (tensor names)")
        return self

    @property
    def proven_count(self) -> int:
        """How many slice proofs each round takes."""
        return len(set(self.prove)) if self.prove is not None else self.slices or len(self.cuts) + 1

    def plan(self, *, calibration_target: Literal["resources", "accuracy"]) -> SlicingPlan:
        return SlicingPlan(slices=self.slices, cuts=self.cuts, proven=self.prove, calibration_target=calibration_target)


class TriggerSpec(_Strict):
    """When a tick's inference becomes a proven round (inference is cheap, proving is not)."""

    deviation_percent: float | None = Field(
        default=None,
        gt=0,
        description="post when the output moves this many percent from the last landed round; unset: every tick",
    )


class OnchainSpec(_Strict):
    """What the feed promises on-chain."""

    heartbeat_seconds: int = Field(default=0, ge=0, lt=2**32)
    permissionless: bool = False
    max_observation_age_seconds: int = Field(default=300, gt=0, lt=2**32)


class StaticProverSpec(_Strict):
    """A prover named by the feed: the hotkey that must sign its answers, and where it listens."""

    hotkey: str = Field(pattern=r"^[1-9A-HJ-NP-Za-km-z]{46,48}$", description="ss58 address of its hotkey")
    url: str = Field(pattern=r"^https?://\S+$", description="e.g. http://10.0.0.5:8091")


class ProverSpec(_Strict):
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


class ChainSpec(_Strict):
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


class FeedSpec(_Strict):
    id: str = Field(pattern=FEED_ID_PATTERN)
    description: str = Field(min_length=1, max_length=200)
    model: Path
    samples: Path
    decimals: int = Field(ge=0, le=36)
    output: int = Field(default=0, ge=0, description="which model output is the feed's answer")
    source: SourceSpec
    schedule: ScheduleSpec
    input: InputSpec = InputSpec()
    circuit: CircuitSpec = CircuitSpec()
    onchain: OnchainSpec = OnchainSpec()
    trigger: TriggerSpec = TriggerSpec()
    slicing: SlicingSpec | None = None
    prover: ProverSpec = ProverSpec()
    chain: ChainSpec | None = None
    folder: Path = Field(exclude=True)

    @property
    def model_path(self) -> Path:
        return self.folder / self.model

    @property
    def samples_path(self) -> Path:
        return self.folder / self.samples

    def load_samples(self) -> list[list[float]]:
        try:
            samples = json.loads(self.samples_path.read_text())
        except (OSError, ValueError) as exc:
            raise FeedSpecError(
                self.id, "samples", f"cannot read {self.samples_path} ({exc})", _FIXES["samples"]
            ) from exc
        if not isinstance(samples, list) or not samples or not all(isinstance(s, list) for s in samples):
            raise FeedSpecError(
                self.id, "samples", f"{self.samples_path} is not a non-empty list of input lists", _FIXES["samples"]
            )
        return [[float(x) for x in sample] for sample in samples]

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


def load_feed(path: Path) -> FeedSpec:
    """Load ``path`` (a feed folder or its feed.toml)."""
    file = path / FEED_FILE if path.is_dir() else path
    name = file.parent.name
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError as exc:
        raise FeedSpecError(
            name, FEED_FILE, f"{file} does not exist", "pass a feed folder containing feed.toml"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise FeedSpecError(name, FEED_FILE, f"invalid TOML ({exc})", "fix the syntax of the file") from exc
    feed_name = str(raw.get("id", name))
    _refuse_raw_keys(feed_name, raw.get("chain"))
    folder = file.parent.resolve()
    try:
        # The context lets sources resolve their files against the feed folder.
        spec = FeedSpec.model_validate({**raw, "folder": folder}, context={"folder": folder})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        source = raw.get("source")
        if loc[:1] == ["source"] and len(loc) > 1 and isinstance(source, dict) and loc[1] == source.get("kind"):
            del loc[1]  # pydantic puts the union's tag in the path; the user wrote [source]
        field = ".".join(str(part) for part in loc) or FEED_FILE
        if first["type"].startswith("union_tag"):
            field += ".kind"
        fix = _fix_for(field) or ("remove it" if first["type"] == "extra_forbidden" else "")
        fix = (fix + "; " if fix else "") + "see the feed.toml reference in README.md"
        problem = first["msg"].removeprefix("Value error, ")
        raise FeedSpecError(feed_name, field, problem[:1].lower() + problem[1:], fix) from exc
    if not spec.model_path.is_file():
        raise FeedSpecError(spec.id, "model", f"{spec.model_path} does not exist", _FIXES["model"])
    if spec.onchain.permissionless and not spec.circuit.observation_time:
        # Without a proven observation time anyone could replay old inputs with a fresh proof.
        raise FeedSpecError(
            spec.id,
            "onchain.permissionless",
            "a permissionless feed must prove its observation time",
            _FIXES["onchain.permissionless"],
        )
    if spec.source.kind == "evm_view" and not spec.input.is_identity:
        # submit() compares the proof's inputs with the views' raw values, untransformed.
        raise FeedSpecError(
            spec.id, "input", "an evm_view feed's inputs cannot be transformed", _FIXES["input.evm_view"]
        )
    return spec


def _fix_for(field: str) -> str:
    """The fix for ``field`` or, failing that, for the nearest enclosing field (source.values.0 → source.values)."""
    parts = field.split(".")
    return next((_FIXES[key] for n in range(len(parts), 0, -1) if (key := ".".join(parts[:n])) in _FIXES), "")


_RAW_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_SECRET_NAMES = re.compile(r"(^|_)(key|private_key|secret|password|mnemonic|seed)$")


def _refuse_raw_keys(feed: str, chain: Any) -> None:
    """A relayer key or password pasted into feed.toml would end up in git; refuse it by name."""
    if not isinstance(chain, dict):
        return
    for name, value in chain.items():
        text = value.strip() if isinstance(value, str) else ""
        if _RAW_KEY.match(text) or len(text.split()) in (12, 15, 18, 21, 24) or _SECRET_NAMES.search(name):
            raise FeedSpecError(
                feed, f"chain.{name}", "looks like a secret (a raw key, password or mnemonic)", _FIXES["chain.secret"]
            )
