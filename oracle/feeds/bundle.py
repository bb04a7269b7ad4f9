"""Feed bundles: several small feeds proven together, one proof and one transaction a round.

``zkoracle feeds bundle <member folders...> --id majors --out feeds/majors`` writes a
normal feed folder: the members' ONNX models composed into one graph (``onnx.compose``:
each member's names prefixed with its id, then merged) with disjoint inputs and outputs,
except the observation time, which all members share as the one last input (the contract
checks one time a proof); samples composed the same way; and a feed.toml whose source is
the members' sources in member order (``kind = "bundle"``) and whose ``[[answers]]`` are
the members, each under its own id and at its own output of the composed graph. The
bundle's own id holds no value; its input policy, schedule and targets are the members'.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.compose
import onnx.version_converter

from oracle.circuits.intake import OBSERVED_AT_INPUT, default_opset, prepare_model
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.exceptions import BundleError, ZkOracleError
from oracle.feeds.answer import answer_position
from oracle.feeds.inputs import InputSpec
from oracle.feeds.loader import FEED_FILE, load_feed
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel

MODEL_FILE = "model.onnx"
SAMPLES_FILE = "samples.json"
# Sources whose values the contract reads back itself: a bundle's source is off-chain, so such a
# member would silently lose that check.
ONCHAIN_SOURCES = ("evm_view", "evm_aggregator")
# How close the composed model's outputs must be to each member's own (float32 arithmetic).
COMPOSITION_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Member:
    """A member feed as the bundle sees it: its spec, its prepared model and where its answer lies."""

    spec: FeedSpec
    model: onnx.ModelProto
    output_names: tuple[str, ...]
    output_shapes: tuple[tuple[int, ...], ...]
    answer: int  # flat position of its answer among its own model's output values

    @property
    def prefix(self) -> str:
        return f"{self.spec.id}/"

    @property
    def output_size(self) -> int:
        return sum(math.prod(shape) for shape in self.output_shapes)

    def answer_ref(self) -> str:
        """Its answer's spelling in the composed graph: the prefixed tensor, indexed unless it holds one value."""
        offset = self.answer
        for name, shape in zip(self.output_names, self.output_shapes, strict=True):
            size = math.prod(shape)
            if offset < size:
                return f"{self.prefix}{name}" if size == 1 else f"{self.prefix}{name}[{offset}]"
            offset -= size
        raise AssertionError("answer_position keeps the answer among the outputs")


def load_members(bundle: str, folders: Sequence[Path]) -> list[Member]:
    """The member feeds in ``folders``, each checked to fit a bundle named ``bundle``."""
    if not folders:
        raise BundleError(bundle, "-", "a bundle needs members", "pass the member feed folders")
    members: list[Member] = []
    for folder in folders:
        try:
            spec = load_feed(folder)
        except ZkOracleError as exc:
            raise BundleError(bundle, folder.name, str(exc), "fix the member feed first") from exc
        _check_alone(bundle, spec)
        prepared = prepare_model(
            spec.model_path, feed=spec.id, input_size=len(spec.model_samples()[0]), observation_time=True
        )
        model = onnx.load_from_string(prepared.onnx_bytes)
        inputs = _graph_inputs(model)
        if inputs[-1].name != OBSERVED_AT_INPUT:
            raise BundleError(
                bundle,
                spec.id,
                f"its model's last input is {inputs[-1].name!r}, not {OBSERVED_AT_INPUT!r}",
                f"export the model with {OBSERVED_AT_INPUT} [1, {OBSERVED_AT_LIMBS}] as its last input (the one "
                "observation time the members share)",
            )
        inference = OnnxModel(prepared.onnx_bytes, name=spec.model.name)
        names, shapes = inference.output_names, inference.output_shapes
        answer = answer_position(spec.output, names, shapes, feed=spec.id)
        members.append(Member(spec, model, tuple(names), tuple(tuple(s) for s in shapes), answer))
    _check_together(bundle, [member.spec for member in members])
    return members


def _check_alone(bundle: str, spec: FeedSpec) -> None:
    """What a member may not be, whatever the other members are."""
    if spec.id == bundle:
        raise BundleError(bundle, spec.id, "has the bundle's own id", "give the bundle another id (--id)")
    if spec.slicing is not None:
        raise BundleError(
            bundle,
            spec.id,
            "its model is sliced ([slicing]): a bundle is proven as one circuit",
            "remove [slicing] from the member, or keep it a feed of its own",
        )
    if spec.source.kind in ONCHAIN_SOURCES:
        raise BundleError(
            bundle,
            spec.id,
            f"its {spec.source.kind} source is read back on-chain, which a bundle's source is not",
            "keep it a feed of its own",
        )
    if spec.answers:
        raise BundleError(
            bundle,
            spec.id,
            f"it posts {len(spec.answers)} further answers ([[answers]]); a bundle posts one answer per member",
            "bundle it without [[answers]], or keep it a feed of its own",
        )
    if spec.source.kind == "bundle":
        raise BundleError(bundle, spec.id, "is itself a bundle", "list its members instead")


# Settings one circuit and one registration have once for all members: (field, read, fix).
_SHARED = (
    ("circuit.input_scale", lambda s: s.circuit.input_scale, "set the same circuit.input_scale on every member"),
    (
        "circuit.calibration_target",
        lambda s: s.circuit.calibration_target,
        "set the same circuit.calibration_target on every member",
    ),
    ("onchain.input_policy", lambda s: s.onchain.input_policy, "give every member the same onchain.input_policy"),
    ("onchain.permissionless", lambda s: s.onchain.permissionless, "set onchain.permissionless alike on every member"),
    ("attestation", lambda s: s.attestation, "give every member the same [attestation] attesters and threshold"),
    ("prover", lambda s: s.prover, "give every member the same [prover] table"),
    ("chain", lambda s: s.targets, "post every member to the same chains ([chain] / [chains.<name>])"),
)


def _check_together(bundle: str, specs: Sequence[FeedSpec]) -> None:
    first = specs[0]
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise BundleError(bundle, spec.id, "is listed twice", "list each member once")
        seen.add(spec.id)
        for field, read, fix in _SHARED:
            if read(spec) != read(first):
                raise BundleError(
                    bundle,
                    spec.id,
                    f"its {field} is {read(spec)!r}, member '{first.id}' has {read(first)!r} (a bundle has one for all members)",
                    fix,
                )


def compose_models(members: Sequence[Member]) -> onnx.ModelProto:
    """One graph computing every member's outputs from its own inputs and the one shared ``observed_at``.

    Inputs: each member's source inputs in member order, then ``observed_at``; outputs: each
    member's, in member order, every name prefixed with the member's id.
    """
    opset = max(default_opset(member.model) for member in members)
    ir_version = max(member.model.ir_version for member in members)
    prefixed = []
    for member in members:
        model = member.model
        if default_opset(model) != opset:  # merge_models needs one opset per domain
            model = onnx.version_converter.convert_version(model, opset)
        model.ir_version = ir_version
        prefixed.append(onnx.compose.add_prefix(model, member.prefix))
    composed = prefixed[0]
    for model in prefixed[1:]:
        composed = onnx.compose.merge_models(composed, model, io_map=[])
    _share_observation_time(composed, [member.prefix + OBSERVED_AT_INPUT for member in members])
    # merge_models lists a domain once per model it merged.
    imports = {entry.domain: entry.version for entry in composed.opset_import}
    del composed.opset_import[:]
    composed.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in imports.items())
    composed.producer_name = "zkoracle feeds bundle"
    onnx.checker.check_model(composed, full_check=True)
    return composed


def _share_observation_time(model: onnx.ModelProto, member_times: Sequence[str]) -> None:
    """Replace each member's ``observed_at`` input by one shared input, the graph's last."""
    graph = model.graph
    template = next(value for value in graph.input if value.name == member_times[0])
    kept = [value for value in graph.input if value.name not in member_times]
    shared = onnx.ValueInfoProto()
    shared.CopyFrom(template)
    shared.name = OBSERVED_AT_INPUT
    del graph.input[:]
    graph.input.extend([*kept, shared])
    names = set(member_times)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in names:
                node.input[i] = OBSERVED_AT_INPUT


def compose_samples(members: Sequence[Member]) -> list[list[float]]:
    """Bundle samples: row i joins each member's sample i (a member with fewer samples starts over)."""
    rows = [member.spec.load_samples() for member in members]
    count = max(len(samples) for samples in rows)
    columns = [list(islice(cycle(samples), count)) for samples in rows]
    return [[value for member_sample in row for value in member_sample] for row in zip(*columns, strict=True)]


def check_composition(composed: onnx.ModelProto, members: Sequence[Member], *, bundle: str) -> None:
    """Each member's outputs in the composed model equal its own model's, on its samples (onnxruntime)."""
    whole = OnnxModel(composed.SerializeToString(), name=MODEL_FILE)
    own = [OnnxModel(member.model.SerializeToString(), name=member.spec.model.name) for member in members]
    for row, sample in enumerate(_model_samples(members)):
        outputs, values, time = whole.run(sample), sample[:-OBSERVED_AT_LIMBS], sample[-OBSERVED_AT_LIMBS:]
        for member, model in zip(members, own, strict=True):
            sources = model.input_size - OBSERVED_AT_LIMBS
            expected = model.run(values[:sources] + time)
            got, outputs, values = outputs[: member.output_size], outputs[member.output_size :], values[sources:]
            if not np.allclose(got, expected, rtol=COMPOSITION_TOLERANCE, atol=COMPOSITION_TOLERANCE):
                raise BundleError(
                    bundle,
                    member.spec.id,
                    f"on sample {row} the composed model answers {got}, the member's own model {expected}",
                    "report this: the composition changed what the member computes",
                )


def _model_samples(members: Sequence[Member]) -> list[list[float]]:
    """Composed samples with an observation time each, as the bundle feed calibrates on."""
    times = members[0].spec.model_samples()
    return [sample + times[i % len(times)][-OBSERVED_AT_LIMBS:] for i, sample in enumerate(compose_samples(members))]


def bundle_toml(
    bundle: str, members: Sequence[Member], *, out: Path, description: str | None, interval_seconds: float | None
) -> str:
    """The bundle's feed.toml: its own settings taken from the members, and one ``[[answers]]`` each."""
    first = members[0].spec
    raw = tomllib.loads((first.folder / FEED_FILE).read_text())
    specs = [member.spec for member in members]
    document: dict[str, Any] = {
        "id": bundle,
        "description": description or ("bundle of " + ", ".join(spec.id for spec in specs))[:200],
        "model": MODEL_FILE,
        "samples": SAMPLES_FILE,
        "decimals": first.decimals,
        # The bundle's own id holds no value: its answers are the members'; the first lies at output 0.
        "output": 0,
        "source": {"kind": "bundle", "members": [os.path.relpath(spec.folder, out.resolve()) for spec in specs]},
        "schedule": _schedule(bundle, specs, raw, interval_seconds),
    }
    margin = min(spec.input.range_margin for spec in specs)
    if margin != InputSpec.model_fields["range_margin"].default:
        document["input"] = {"range_margin": margin}
    circuit: dict[str, Any] = {"calibration_target": first.circuit.calibration_target}
    if first.circuit.input_scale is not None:
        circuit["input_scale"] = first.circuit.input_scale
    errors = [spec.circuit.max_error for spec in specs if spec.circuit.max_error is not None]
    if errors:
        circuit["max_error"] = min(errors)
    document["circuit"] = circuit
    onchain: dict[str, Any] = {
        "input_policy": first.onchain.input_policy,
        "permissionless": first.onchain.permissionless,
        "max_observation_age_seconds": min(spec.onchain.max_observation_age_seconds for spec in specs),
    }
    retained = [spec.onchain.rounds_retained for spec in specs]
    if all(retained):  # each member keeps at least the rounds it asked for; one asking for every round gets them all
        onchain["rounds_retained"] = max(retained)
    document["onchain"] = onchain
    for table in ("prover", "chain", "chains", "attestation"):
        if table in raw:
            document[table] = raw[table]
    document["answers"] = [_answer(member, offset) for member, offset in zip(members, _offsets(members), strict=True)]
    return "# Written by `zkoracle feeds bundle`: the members' models composed into one circuit.\n" + _toml(document)


def _offsets(members: Sequence[Member]) -> list[int]:
    sizes = [member.output_size for member in members]
    return [sum(sizes[:i]) for i in range(len(sizes))]


def _answer(member: Member, offset: int) -> dict[str, Any]:
    spec = member.spec
    entry: dict[str, Any] = {
        "id": spec.id,
        "output": member.answer_ref(),
        "decimals": spec.decimals,
        "description": spec.description,
        "heartbeat_seconds": spec.onchain.heartbeat_seconds,
    }
    for key in ("min_answer", "max_answer"):
        if getattr(spec.onchain, key) is not None:
            entry[key] = getattr(spec.onchain, key)
    if spec.trigger.deviation_percent is not None:
        entry["deviation_percent"] = spec.trigger.deviation_percent
    return entry


def _schedule(
    bundle: str, specs: Sequence[FeedSpec], raw: dict[str, Any], interval_seconds: float | None
) -> dict[str, Any]:
    """The given interval; else the members' shortest (a member is never ticked less often than alone)."""
    if interval_seconds is not None:
        return {"interval_seconds": interval_seconds}
    intervals = [spec.schedule.interval_seconds for spec in specs]
    if all(interval is not None for interval in intervals):
        return {"interval_seconds": min(i for i in intervals if i is not None)}
    if all(spec.schedule == specs[0].schedule for spec in specs):
        return dict(raw["schedule"])
    odd = next(spec for spec in specs if spec.schedule != specs[0].schedule)
    raise BundleError(
        bundle, odd.id, "the members' cron schedules differ", "give the bundle one (--interval-seconds N)"
    )


def write_bundle(
    folders: Sequence[Path],
    *,
    bundle: str,
    out: Path,
    description: str | None = None,
    interval_seconds: float | None = None,
) -> FeedSpec:
    """Write the bundle feed folder ``out`` from the member feeds in ``folders``, and load it."""
    if (out / FEED_FILE).exists():
        raise BundleError(bundle, "-", f"{out / FEED_FILE} already exists", "choose a new --out folder")
    members = load_members(bundle, folders)
    composed = compose_models(members)
    check_composition(composed, members, bundle=bundle)
    toml = bundle_toml(bundle, members, out=out, description=description, interval_seconds=interval_seconds)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(composed, out / MODEL_FILE)
    (out / SAMPLES_FILE).write_text(json.dumps(compose_samples(members)) + "\n")
    (out / FEED_FILE).write_text(toml)
    return load_feed(out)


def _toml(document: dict[str, Any]) -> str:
    """``document`` as TOML: scalars first, then tables, then arrays of tables (what feed.toml uses)."""
    return _table(document, ())


def _table(table: dict[str, Any], path: tuple[str, ...]) -> str:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in table.items() if _is_table_array(v)}
    lines = [f"{_key(key)} = {_value(value)}" for key, value in scalars.items()]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, sub in tables.items():
        name = ".".join(_key(part) for part in (*path, key))
        text += f"\n[{name}]\n" + _table(sub, (*path, key))
    for key, items in arrays.items():
        name = ".".join(_key(part) for part in (*path, key))
        for item in items:
            text += f"\n[[{name}]]\n" + _table(item, (*path, key))
    return text


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"no TOML spelling for {value!r}")


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    weights = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in weights]
