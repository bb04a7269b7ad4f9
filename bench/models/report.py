"""Real models, tried as a new user would: every ONNX export in the onnx wheel's ``pytorch-converted`` folder.

Run from the repository root::

    python -m bench.models [--only NAME [NAME ...]] [--out PATH] [--build-dir DIR] [--logs DIR] [--timeout SECONDS]
                           [--resume]

Each model goes through the command line in a process of its own, exactly as the README
tells an operator: ``init DIR --model M.onnx``, ``feeds validate DIR``, ``run DIR
--rounds 1``. Every model gets its own feed folder and its own ``ZKORACLE_HOME`` (so its
own database, and ``run`` starts its own local Anvil, as it does for a new user: Anvil
answers in about 0.3 s, nothing worth sharing); the circuit build folder is shared, so a
second run of the report reuses the circuits (their build seconds are the manifest's,
measured when they were built). Per model the report records how far it got, the
one-line reason when it stopped, whether any command printed a Python traceback, and,
from the circuit's manifest and the node's database, logrows, public instances, the
verifier's kind and size, build seconds and the landed round's submit gas. Each
command's full output is kept under ``--logs``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onnx
from rich.console import Console
from rich.markup import escape

from bench.skeleton import machine_info, write_results
from oracle.circuits.artifacts import MANIFEST, CircuitManifest
from oracle.paths import PROJECT_ROOT
from oracle.store import Deployment, Round, RoundStatus, Store

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "models.json"
DEFAULT_BUILD_DIR = PROJECT_ROOT / ".zkoracle" / "bench-models-build"
DEFAULT_LOGS = PROJECT_ROOT / ".zkoracle" / "bench-models-logs"
DEFAULT_TIMEOUT = 900.0
# The models PyTorch exported for onnx's backend tests, shipped inside the onnx wheel.
PYTORCH_CONVERTED = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted"
MODEL_PREFIX = "test_"
# The CLI prints the circuit it built (or found cached) as "<feed>: circuit <key> built in ...".
BUILT_CIRCUIT = re.compile(r"\bcircuit ([0-9a-f]{32}) (?:built|cached) in\b")
# ModelIntakeError names the node at fault as ", node <label> (<op_type>):" in its one-line
# message, and the CLI passes on nothing but that line, so the operator is read back from it.
NODE_AT_FAULT = re.compile(r", node (?P<node>.+?) \((?P<op_type>[A-Za-z0-9_.]+)\):")

CIRCUIT_FIELDS = ("circuit_key", "build_seconds", "logrows", "public_instances", "verifier_kind", "verifier_bytes")


@dataclass(frozen=True)
class StepRun:
    """One CLI command's outcome: exit code (None: killed at the timeout), output and wall seconds."""

    command: str  # init, validate or run
    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stdout or "Traceback" in self.stderr


def model_names() -> list[str]:
    """Every model of the folder, by the name PyTorch's test gave it (``Conv2d`` for ``test_Conv2d``)."""
    return sorted(path.parent.name.removeprefix(MODEL_PREFIX) for path in PYTORCH_CONVERTED.glob("*/model.onnx"))


def model_path(name: str) -> Path:
    return PYTORCH_CONVERTED / f"{MODEL_PREFIX}{name}" / "model.onnx"


def run_cli(step: str, args: Sequence[str], *, home: Path, build_dir: Path, timeout: float) -> StepRun:
    """``python -m oracle ARGS`` in a session of its own, so a timeout also ends the Anvil it started."""
    env = {
        **os.environ,
        "ZKORACLE_HOME": str(home),
        "ZKORACLE_BUILD_DIR": str(build_dir),
        "COLUMNS": "400",  # rich would otherwise wrap the one-line errors at 80 columns
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "oracle", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        returncode = None
    return StepRun(step, tuple(args), returncode, stdout, stderr, time.perf_counter() - started)


def open_store(home: Path) -> Store | None:
    """The node's database in ``home``, where ``zkoracle`` puts it by default; None before any command made it."""
    path = home / "zkoracle.db"
    return Store.sqlite(path) if path.is_file() else None


def recorded(store: Store | None) -> tuple[Deployment | None, Round | None]:
    """The model's deployment and round, if ``run`` got that far (one feed per home, one round per run)."""
    if store is None:
        return None, None
    rounds = store.rounds()
    feeds = store.feed_ids()
    deployments = store.deployments(feeds[0]) if feeds else []
    return (deployments[0] if deployments else None), (rounds[-1] if rounds else None)


def circuit_key(run: StepRun | None, deployment: Deployment | None) -> str | None:
    """The circuit ``run`` built: as recorded with its deployment, else (refused at deploy) as the CLI printed it."""
    if deployment is not None:
        return deployment.circuit_key
    found = BUILT_CIRCUIT.search(run.stdout) if run is not None else None
    return found.group(1) if found else None


def circuit_figures(build_dir: Path, key: str | None) -> dict[str, Any]:
    """What the circuit's manifest says about its size and cost; nulls when no circuit was built."""
    path = build_dir / key / MANIFEST if key else None
    if path is None or not path.is_file():
        return dict.fromkeys(CIRCUIT_FIELDS)
    data = json.loads(path.read_text())
    return {
        "circuit_key": key,
        "build_seconds": round(sum(data["timings"].values()), 2),
        "logrows": data["logrows"],
        "public_instances": CircuitManifest.from_json(data).instance_count,
        # Older manifests predate the field: every verifier was a dedicated one then.
        "verifier_kind": data.get("verifier_kind", "dedicated"),
        "verifier_bytes": data["verifier_deployed_size"],
    }


def one_line_reason(step: StepRun, *, timeout: float, failed_round: Round | None) -> str:
    """Why ``step`` failed, as the CLI said it: its ``error`` line, the failed round's reason, or the last line."""
    if step.returncode is None:
        return f"`{step.command}` timed out after {timeout:g} s"
    errors = [line.strip() for line in step.stdout.splitlines() if line.startswith("error")]
    if errors:
        return errors[-1]
    if failed_round is not None and failed_round.status == RoundStatus.FAILED:
        # The CLI prints the round's failure as the store records it: take it from there.
        kind = f" ({failed_round.failure_kind})" if failed_round.failure_kind else ""
        return f"round {failed_round.id} failed{kind}: {failed_round.failure_reason}"
    lines = [line.strip() for line in (step.stderr or step.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"`{step.command}` exited with code {step.returncode} and printed nothing"


def stage_reached(steps: list[StepRun], *, built: bool, deployment: Deployment | None, landed: bool) -> str:
    """The furthest stage: init, validate, then run's own build, deploy and round, or landed."""
    if steps[-1].command != "run":  # the commands stop at the first that fails
        return steps[-1].command
    if landed:
        return "landed"
    if not built:
        return "build"
    return "deploy" if deployment is None else "round"


def write_logs(folder: Path, steps: list[StepRun]) -> None:
    """Every command's full output, for whoever reads a failure's one line and wants the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, step in enumerate(steps, start=1):
        (folder / f"{index}-{step.command}.log").write_text(
            f"$ zkoracle {' '.join(step.args)}\nexit {step.returncode} after {step.seconds:.1f} s\n"
            f"--- stdout\n{step.stdout}\n--- stderr\n{step.stderr}"
        )


def try_model(name: str, *, build_dir: Path, logs: Path, timeout: float, keep_build: bool) -> dict[str, Any]:
    """Take one model from init to a landed round in a fresh feed folder and ``ZKORACLE_HOME``."""
    with tempfile.TemporaryDirectory(prefix=f"zkoracle-bench-{name}-") as tmp:
        home, folder = Path(tmp) / "home", Path(tmp) / name.lower()
        commands = {
            "init": ["init", str(folder), "--model", str(model_path(name))],
            "validate": ["feeds", "validate", str(folder)],
            "run": ["run", str(folder), "--rounds", "1"],
        }
        steps: list[StepRun] = []
        for step, args in commands.items():
            steps.append(run_cli(step, args, home=home, build_dir=build_dir, timeout=timeout))
            if not steps[-1].ok:
                break
        deployment, last_round = recorded(open_store(home))
    write_logs(logs / name, steps)
    run = steps[-1] if steps[-1].command == "run" else None
    key = circuit_key(run, deployment)
    figures = circuit_figures(build_dir, key)
    if key is not None and not keep_build:  # a proving key per model: all 82 would fill ~10 GB
        shutil.rmtree(build_dir / key, ignore_errors=True)
    # Landed is what the node recorded; a landed round out of tolerance still fails `run`, with its reason.
    landed = last_round is not None and last_round.status == RoundStatus.LANDED
    reason = None if steps[-1].ok else one_line_reason(steps[-1], timeout=timeout, failed_round=last_round)
    if reason is not None:
        reason = reason.replace(tmp, "$TMP")  # the same failure reads the same from one run of the report to the next
    at_fault = NODE_AT_FAULT.search(reason) if reason else None
    return {
        "name": name,
        "step": stage_reached(steps, built=figures["logrows"] is not None, deployment=deployment, landed=landed),
        "landed": landed,
        "reason": reason,
        "unsupported_operator": at_fault["op_type"] if at_fault else None,
        "traceback": any(step.traceback for step in steps),
        **figures,
        "submit_gas": last_round.gas_used if landed and last_round is not None else None,
        "seconds": {step.command: round(step.seconds, 1) for step in steps},
    }


def summary(models: list[dict[str, Any]]) -> dict[str, Any]:
    tried = len(models)
    provable = sum(model["logrows"] is not None for model in models)
    landed = sum(model["landed"] for model in models)
    return {
        "models": tried,
        "provable": provable,
        "landed": landed,
        "tracebacks": sum(model["traceback"] for model in models),
        "provable_ratio": provable / tried if tried else None,
        "landed_ratio": landed / tried if tried else None,
        "landed_of_provable": landed / provable if provable else None,
    }


def progress_line(model: dict[str, Any]) -> str:
    seconds = sum(model["seconds"].values())
    if model["landed"]:
        outcome = (
            f"[green]landed[/green]  logrows {model['logrows']}, {model['public_instances']} instances, "
            f"{model['verifier_kind']} verifier {model['verifier_bytes']:,} B, build {model['build_seconds']:.1f}s, "
            f"submit gas {model['submit_gas']:,}"
        )
    else:
        outcome = f"[red]stopped at {model['step']}[/red]: {escape(model['reason'] or '')}"
    flag = " [yellow](traceback printed)[/yellow]" if model["traceback"] else ""
    return f"{model['name']:<40} {outcome}{flag}  [{seconds:.0f} s]"


def run_all(
    names: Sequence[str],
    *,
    build_dir: Path,
    logs: Path,
    timeout: float,
    out: Path,
    console: Console,
    keep_builds: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Every model in turn; ``out`` is rewritten after each, so hours of a full run survive a crash or Ctrl-C.

    With ``resume``, the models ``out`` already holds are kept and only the others are tried.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    results: dict[str, Any] = {
        "benchmark": "models",
        "timestamp": now,
        "machine": machine_info(),
        "source": str(PYTORCH_CONVERTED),
        "onnx": onnx.__version__,
        "timeout_seconds": timeout,
        "summary": summary([]),
        "models": [],
    }
    if resume and out.is_file():
        results = json.loads(out.read_text())
        results["resumed"] = [*results.get("resumed", []), now]
    done = {model["name"] for model in results["models"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in (name for name in names if name not in done):
        model = try_model(name, build_dir=build_dir, logs=logs, timeout=timeout, keep_build=keep_builds)
        console.print(progress_line(model), soft_wrap=True)
        results["models"].append(model)
        results["summary"] = summary(results["models"])
        out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these models only (e.g. Conv2d Linear)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--build-dir", type=Path, default=DEFAULT_BUILD_DIR, help=f"circuit build cache (default: {DEFAULT_BUILD_DIR})"
    )
    parser.add_argument(
        "--logs", type=Path, default=DEFAULT_LOGS, help=f"each command's output (default: {DEFAULT_LOGS})"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds per command (default: {DEFAULT_TIMEOUT:g})"
    )
    parser.add_argument(
        "--keep-builds", action="store_true", help="keep each model's circuit (by default removed once measured)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep the models --out already holds and try only the others"
    )
    args = parser.parse_args(argv)
    available = model_names()
    unknown = sorted(set(args.only or []) - set(available))
    if unknown:
        parser.error(f"no model named {', '.join(unknown)} in {PYTORCH_CONVERTED}")
    console = Console(highlight=False)
    started = time.perf_counter()
    results = run_all(
        args.only or available,
        build_dir=args.build_dir.resolve(),
        logs=args.logs.resolve(),
        timeout=args.timeout,
        out=args.out,
        console=console,
        keep_builds=args.keep_builds,
        resume=args.resume,
    )
    counts = results["summary"]
    console.print(
        f"{counts['models']} models: {counts['provable']} provable, {counts['landed']} landed, "
        f"{counts['tracebacks']} printed a traceback"
    )
    write_results(results, args.out, console)
    console.print(f"in {time.perf_counter() - started:.0f} s")
