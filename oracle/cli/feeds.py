"""``zkoracle feeds validate|list``, ``zkoracle init`` and ``zkoracle build``: feed folders and their circuits."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from oracle.circuits.intake import check_public_values, prepare_model
from oracle.circuits.native_log import native_stderr_to
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.cli.app import DEFAULT_FEED, FeedArg, app, console
from oracle.exceptions import FeedSpecError, ZkOracleError
from oracle.feed_circuit import FeedCircuit, build_feed_circuit, describe
from oracle.feeds.bundle import write_bundle
from oracle.feeds.checks import check_feed, slicing_layout, source_input_shapes
from oracle.feeds.loader import FEED_FILE, load_feed
from oracle.feeds.samples import check_sample_shapes, flat, read_samples
from oracle.feeds.schema import FEED_ID_PATTERN, FeedSpec
from oracle.paths import PROJECT_ROOT, build_dir, state_dir

feeds_app = typer.Typer(no_args_is_help=True, help="Check and list feed definitions (feeds/<id>/feed.toml).")
app.add_typer(feeds_app, name="feeds")

FEEDS_DIR = PROJECT_ROOT / "feeds"
FoldersArg = Annotated[
    list[Path] | None, typer.Argument(help="feed folders (default: every folder under feeds/ with a feed.toml)")
]
SCAFFOLD_SAMPLES = 16


def _folders(folders: list[Path] | None) -> list[Path]:
    return folders or sorted(path.parent for path in FEEDS_DIR.glob(f"*/{FEED_FILE}"))


def _load_checked(folder: Path) -> FeedSpec:
    spec = load_feed(folder)
    check_feed(spec)
    return spec


@feeds_app.command()
def validate(folders: FoldersArg = None) -> None:
    """Check feed definitions: feed.toml, the model, the samples and the transforms. Exit 1 on any error."""
    failed = 0
    for folder in _folders(folders):
        try:
            spec = _load_checked(folder)
        except ZkOracleError as exc:
            failed += 1
            console.print(f"[red]error[/red] {folder}: {escape(str(exc))}", soft_wrap=True)
        else:
            console.print(f"[green]ok[/green]    {folder}: {spec.id}")
            if spec.slicing is not None:
                for line in _plan_lines(spec):
                    console.print(f"      {escape(line)}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _plan_lines(spec: FeedSpec) -> list[str]:
    """The slicing plan: per slice its ops, estimated rows and logrows, and the values entering and leaving it."""
    graph, cuts = slicing_layout(spec)
    estimates = graph.estimates(cuts)
    logrows = max(e.logrows for e in estimates)
    limit = (
        "" if spec.slicing is None or spec.slicing.max_logrows is None else f"max_logrows {spec.slicing.max_logrows}; "
    )
    ops = [_compact_ops(e.ops) for e in estimates]
    width, digits = max(len(text) for text in ops), len(str(len(ops) - 1))
    lines = [f"{len(estimates)} slices, est. logrows {logrows} ({limit}every slice is built at the largest)"]
    if graph.splits:
        lines.append("split: " + ", ".join(f"{s.name} ({s.op_type}) in {s.pieces}" for s in graph.splits))
    return lines + [
        f"slice {index:<{digits}}  {text:<{width}}  {f'~{e.rows:,}':>8} rows  logrows {e.logrows}  "
        f"in {e.input_width} → out {e.output_width}"
        for index, (text, e) in enumerate(zip(ops, estimates, strict=True))
    ]


def _compact_ops(ops: list[str]) -> str:
    """``Gemm 1/5 Gemm 2/5 Relu`` as ``Gemm 1-2/5 Relu``: consecutive pieces of one node as a range."""
    runs: list[list[str]] = []
    for op in ops:
        name, _, piece = op.partition(" ")
        if runs and piece and runs[-1][0] == name and runs[-1][2] == piece.split("/")[1]:
            runs[-1][1] = runs[-1][1].split("-")[0] + "-" + piece.split("/")[0]
        else:
            runs.append([name, piece.split("/")[0], piece.split("/")[1]] if piece else [name, "", ""])
    return " ".join(f"{name} {first}/{count}" if count else name for name, first, count in runs)


@feeds_app.command("list")
def list_feeds(folders: FoldersArg = None) -> None:
    """Show each feed's id, description, source, schedule, model, its input and output shapes, answer and decimals."""
    table = Table("id", "description", "source", "schedule", "model", "inputs", "outputs", "answer", "decimals")
    errors = []
    for folder in _folders(folders):
        try:
            spec = load_feed(folder)
            model = prepare_model(
                spec.model_path, feed=spec.id, input_size=len(spec.model_samples()[0]), observation_time=True
            ).inference()
        except ZkOracleError as exc:
            errors.append(f"[red]error[/red] {folder}: {escape(str(exc))}")
            continue
        schedule = spec.schedule
        when = f"every {schedule.interval_seconds:g}s" if schedule.cron is None else f"cron {schedule.cron}"
        table.add_row(
            spec.id,
            spec.description,
            spec.source.kind,
            when,
            os.path.relpath(spec.model_path),
            _shapes(model.input_names, model.input_shapes),
            _shapes(model.output_names, model.output_shapes),
            escape(str(spec.output)) if not spec.answers else f"{len(spec.answers)} answers",
            str(spec.decimals),
        )
    console.print(table)
    for line in errors:
        console.print(line)
    if errors:
        raise typer.Exit(1)


def _shapes(names: list[str], shapes: list[list[int]]) -> str:
    return ", ".join(escape(f"{name} {shape}") for name, shape in zip(names, shapes, strict=True))


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="the new feed folder (created)")],
    model: Annotated[Path, typer.Option("--model", help="the ONNX model to serve (copied into the folder)")],
    feed_id: Annotated[str | None, typer.Option("--id", help="the feed id (default: the folder's name)")] = None,
    samples_file: Annotated[
        Path | None,
        typer.Option(
            "--samples",
            help="real model inputs to calibrate on: CSV (one sample a row, header optional), JSON (flat lists or "
            "tensors) or NumPy .npy (one sample per row); default: random placeholders",
        ),
    ] = None,
) -> None:
    """Scaffold a feed folder from an ONNX model: feed.toml, the model, samples (given or placeholders) and inputs."""
    feed_id = feed_id or re.sub(r"[^a-z0-9_-]+", "-", folder.resolve().name.lower()).strip("-_") or "feed"
    if not re.fullmatch(FEED_ID_PATTERN, feed_id):
        raise FeedSpecError(
            feed_id, "id", "is not a feed id", "use lowercase letters, digits, '-' or '_' (e.g. --id eth-usd)"
        )
    if (folder / FEED_FILE).exists():
        raise FeedSpecError(feed_id, FEED_FILE, f"{folder / FEED_FILE} already exists", "choose a new folder")
    if not model.is_file():
        raise FeedSpecError(feed_id, "model", f"{model} does not exist", "pass --model path/to/model.onnx")
    given = None if samples_file is None else read_samples(samples_file, feed=feed_id, field="--samples")
    # The original is copied as it is; the input size is the prepared model's, as built (a dynamic
    # dimension solved from the samples' size), less the observation time's limbs, which the node
    # adds to the source's values.
    circuit_model = prepare_model(
        model,
        feed=feed_id,
        input_size=None if given is None else given[0].size + OBSERVED_AT_LIMBS,
        observation_time=True,
    )
    check_public_values(circuit_model, feed=feed_id)
    prepared = circuit_model.inference()
    size = prepared.input_size - OBSERVED_AT_LIMBS
    if given is None:
        samples = _placeholder_samples(size, seed=hashlib.sha256(model.read_bytes()).digest())
    else:
        assert samples_file is not None
        check_sample_shapes(
            given, source_input_shapes(prepared), feed=feed_id, file=samples_file.name, field="--samples"
        )
        samples = flat(given)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, folder / "model.onnx")
    (folder / "samples.json").write_text(json.dumps(samples) + "\n")
    columns = [f"x{i}" for i in range(size)]
    rows = "\n".join(",".join(f"{value:g}" for value in sample) for sample in samples)
    (folder / "inputs.csv").write_text(",".join(columns) + "\n" + rows + "\n")
    (folder / FEED_FILE).write_text(
        _scaffold_toml(feed_id, model.name, columns, samples_from=None if samples_file is None else samples_file.name)
    )
    spec = _load_checked(folder)
    todo = "replace the placeholder samples.json and the source" if given is None else "point [source] at real inputs"
    console.print(
        f"[bold]{spec.id}[/bold]: created {folder} for a model taking {size + OBSERVED_AT_LIMBS} values "
        f"({size} from the source, {OBSERVED_AT_LIMBS} for the observation time), {len(samples)} "
        f"{'placeholder' if given is None else 'real'} samples\n"
        f"  next: {todo} (see the TODO in {folder / FEED_FILE}),\n"
        f"  then `zkoracle feeds validate {folder}` and `zkoracle run {folder}`"
    )


def _placeholder_samples(size: int, *, seed: bytes) -> list[list[float]]:
    """Values in [-1, 1] with both corners, so a build works before real samples exist."""
    rng = np.random.default_rng(int.from_bytes(seed[:8], "big"))
    rows = rng.uniform(-1.0, 1.0, size=(SCAFFOLD_SAMPLES - 2, size)).round(4).tolist()
    return [[-1.0] * size, [1.0] * size, *rows]


def _scaffold_toml(feed_id: str, model_name: str, columns: list[str], *, samples_from: str | None) -> str:
    quoted = ", ".join(f'"{column}"' for column in columns)
    samples_note = (
        """#  1. samples.json holds PLACEHOLDER calibration inputs (random values in [-1, 1]).
#     Replace them with real model inputs covering every value the source will
#     produce (or run init again with --samples): the circuit is calibrated on them,
#     and a round whose input lies outside their range (plus input.range_margin of
#     their span) is refused."""
        if samples_from is None
        else f"""#  1. samples.json holds the inputs of {samples_from}, flattened: the circuit is calibrated
#     on them (every 5th held out to measure its error), and a round whose input lies
#     outside their range (plus input.range_margin of their span) is refused."""
    )
    return f'''# Feed "{feed_id}", scaffolded by `zkoracle init` from {model_name}.
# The full feed.toml reference is in README.md ("Feed definition").
#
# TODO before going live:
{samples_note}
#  2. Point [source] at the real inputs (http_json, file, callable, evm_view,
#     synthetic); inputs.csv only replays the samples.
#  3. Set the description, decimals and schedule; add [onchain] / [trigger] as needed.
id = "{feed_id}"
description = "TODO: what the answer means, and its unit"
model = "model.onnx"
samples = "samples.json"
decimals = 8

[source]
kind = "file"
path = "inputs.csv"
columns = [{quoted}]
replay_seconds = 60   # one row per minute, wrapping around

[schedule]
interval_seconds = 60

[circuit]
input_visibility = "public"    # inputs are public instances, on-chain in each submit for audit
output_visibility = "public"

[onchain]
# getRoundData serves the latest 1,024 rounds; from then on each round rewrites the oldest's
# storage slot, 17,100 gas less than filling a new one. 0 keeps every round.
rounds_retained = 1024
'''


@app.command()
def build(feed: FeedArg = DEFAULT_FEED) -> None:
    """Build the feed's circuit and Solidity verifier (cached by content hash)."""
    build_circuit_of(load_feed(feed))


def build_circuit_of(spec: FeedSpec) -> FeedCircuit:
    check_feed(spec)  # a misfit of model, samples and output is one line here, before an expensive build
    with (
        console.status(f"[bold]{spec.id}[/bold]: checking the circuit cache") as status,
        native_stderr_to(state_dir() / "ezkl.log"),
    ):
        result = build_feed_circuit(
            spec, build_root=build_dir(), progress=lambda step: status.update(f"[bold]{spec.id}[/bold]: {step}")
        )
    circuit = result.circuit
    how = "cached" if result.cached else "built"
    console.print(
        f"[bold]{spec.id}[/bold]: circuit {circuit.key} {how} in {result.seconds:.2f}s ({describe(spec, circuit)})"
    )
    if circuit.dev_srs:
        console.print("[yellow]warning:[/yellow] dev SRS (toxic waste known locally): fit for local chains only")
    return circuit


@feeds_app.command("bundle")
def bundle(
    members: Annotated[list[Path], typer.Argument(help="the member feed folders, in answer order")],
    bundle_id: Annotated[str, typer.Option("--id", help="the bundle's own feed id (e.g. majors)")],
    out: Annotated[Path, typer.Option("--out", help="the bundle's feed folder (created)")],
    description: Annotated[str | None, typer.Option(help="default: the members' ids")] = None,
    interval_seconds: Annotated[
        float | None, typer.Option(help="the bundle's tick (default: the members' shortest interval)")
    ] = None,
) -> None:
    """Write a feed folder proving the member feeds together: one composed model, one proof and one transaction."""
    if not re.fullmatch(FEED_ID_PATTERN, bundle_id):
        raise FeedSpecError(bundle_id, "id", "is not a feed id", "use lowercase letters, digits, '-' or '_' (--id)")
    spec = write_bundle(members, bundle=bundle_id, out=out, description=description, interval_seconds=interval_seconds)
    check_feed(spec)
    answers = ", ".join(f"{answer.id} ({answer.output})" for answer in spec.answers)
    console.print(
        f"[bold]{spec.id}[/bold]: wrote {out} proving {len(spec.answers)} members together: {escape(answers)}\n"
        f"  next: `zkoracle build {out}`, then `zkoracle run {out}`"
    )
