"""PNG plots of a benchmark-suite result (matplotlib, no display needed).

python -m bench.plots [RESULTS.json]   # draw again from a saved result (the suite's, or gas.json's bundles)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: the benchmark runs headless

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

BUILD_STEPS = ("settings", "compile", "srs", "setup", "fidelity", "verifier")


def _bars(axes: Axes, labels: list[str], series: dict[str, list[float]], *, legend: str = "upper left") -> None:
    width = 0.8 / len(series)
    for offset, (name, values) in enumerate(series.items()):
        positions = [i + (offset - (len(series) - 1) / 2) * width for i in range(len(labels))]
        axes.bar(positions, values, width, label=name)
    axes.set_xticks(range(len(labels)), labels)
    axes.legend(fontsize=8, loc=legend)
    axes.grid(axis="y", alpha=0.3)
    axes.margins(y=0.12)  # room above the tallest bar for its annotation


def _annotate(axes: Axes, values: list[float], texts: list[str]) -> None:
    for i, (value, text) in enumerate(zip(values, texts, strict=True)):
        axes.annotate(text, (i, value), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8)


def _labels(models: dict[str, Any], *, shapes: bool = True) -> list[str]:
    return [
        f"{name}\n{m['shape']}\nlogrows {m['logrows']}" if shapes else f"{name}\nlogrows {m['logrows']}"
        for name, m in models.items()
    ]


def plot_latency(models: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4))
    e2e = [m["end_to_end"]["median_seconds"] for m in models.values()]
    _bars(
        axes,
        _labels(models),
        {
            "bare ezkl.prove": [m["prove"]["median_seconds"] for m in models.values()],
            "end to end (fetch → consumer read)": e2e,
        },
    )
    _annotate(axes, e2e, [f"{m['ratios']['pipeline_overhead']:.2f}× prove" for m in models.values()])
    axes.set_ylabel("seconds (median)")
    axes.set_title("Prove time and end-to-end latency")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_gas(models: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4))
    submit = [m["gas"]["submit"] for m in models.values()]
    _bars(
        axes,
        _labels(models),
        {"bare verifyProof": [m["gas"]["verify"] for m in models.values()], "ZkOracle.submit": submit},
        legend="lower right",
    )
    _annotate(axes, submit, [f"{m['ratios']['oracle_gas_overhead']:.3f}×" for m in models.values()])
    axes.set_ylabel("gas")
    axes.set_title("Gas: bare verification vs. oracle submit (same proof)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_build(models: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4))
    labels = _labels(models)
    bottoms = [0.0] * len(labels)
    for step in BUILD_STEPS:
        values = [m["build"]["steps_seconds"].get(step, 0.0) for m in models.values()]
        axes.bar(range(len(labels)), values, 0.5, bottom=bottoms, label=step)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("seconds")
    axes.set_title("Cold circuit build, by step")
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_resources(models: dict[str, Any], path: Path) -> None:
    figure, (memory, size) = plt.subplots(1, 2, figsize=(9, 4))
    labels = _labels(models, shapes=False)  # two panels side by side: the shapes would overlap
    _bars(
        memory,
        labels,
        {
            "prover process at start": [m["prove"]["baseline_rss_bytes"] / 2**20 for m in models.values()],
            "prover process peak": [m["prove"]["peak_rss_bytes"] / 2**20 for m in models.values()],
        },
    )
    memory.set_ylabel("MiB")
    memory.set_title("Peak RSS of proving")
    _bars(
        size,
        labels,
        {
            "proof": [m["proof_bytes"] / 1024 for m in models.values()],
            "verifying key": [m["build"]["vk_bytes"] / 1024 for m in models.values()],
        },
    )
    size.set_ylabel("KiB")
    size.set_title("Proof and verifying key size")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_bundles(bundles: list[dict[str, Any]], path: Path) -> None:
    """Gas and prove time per answer against the bundle size (bench.gas's ``bundles``)."""
    figure, (gas, prove) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{b['members']}\n({b['instances']} inst.)" for b in bundles]
    per_answer = [b["gas_per_answer"] for b in bundles]
    _bars(gas, labels, {"submitAnswers gas per answer": per_answer}, legend="upper right")
    _annotate(gas, per_answer, [f"{b['gas_per_answer_over_single_submit']:.3f}×" for b in bundles])
    gas.set_xlabel("members (× the single-feed submit, 670,798)")
    gas.set_ylabel("gas")
    gas.set_title("Gas per answer")
    seconds = [b["prove_seconds_per_answer"] for b in bundles]
    _bars(prove, labels, {"prove seconds per answer": seconds}, legend="upper right")
    _annotate(prove, seconds, [f"{b['prove_per_answer_over_single']:.2f}×" for b in bundles])
    prove.set_xlabel("members (× a single demo feed's prove)")
    prove.set_ylabel("seconds")
    prove.set_title("Prove time per answer")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# The targets for N slices against the whole model (bench.slicing's ``ratios``).
SLICING_TARGETS = {"largest_slice_rss": 0.4, "total_cpu": 1.25, "critical_path": 0.35}


def plot_slicing(ratios_by_slices: dict[str, dict[str, float]], path: Path) -> None:
    """Sliced over whole per slice count (bench.slicing's ``ratios_by_slices``), each target drawn as a line."""
    figure, axes = plt.subplots(figsize=(11, 4))
    labels = [f"{count} slices" for count in ratios_by_slices]
    series = {
        "largest slice peak RSS": [r["largest_slice_rss"] for r in ratios_by_slices.values()],
        "total CPU": [r["total_cpu"] for r in ratios_by_slices.values()],
        "critical path (slowest slice alone)": [r["critical_path"] for r in ratios_by_slices.values()],
        "wall, slices side by side here": [r["pool_wall"] for r in ratios_by_slices.values()],
    }
    _bars(axes, labels, series)
    for (name, target), colour in zip(SLICING_TARGETS.items(), ("C0", "C1", "C2"), strict=True):
        axes.axhline(target, color=colour, linestyle="--", linewidth=1, label=f"target {name} ≤ {target}")
    axes.axhline(1.0, color="grey", linewidth=0.8)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the bars, covering none
    axes.set_ylabel("× proving the whole model")
    axes.set_title("Slices against the whole model (MLP 64 → 512 → 512 → 256 → 1)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_plots(results: dict[str, Any], folder: Path) -> list[Path]:
    models = results["models"]
    paths = []
    for name, plot in (
        ("latency", plot_latency),
        ("gas", plot_gas),
        ("build", plot_build),
        ("resources", plot_resources),
    ):
        path = folder / f"{name}.png"
        plot(models, path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> None:
    source = Path(argv[0]) if argv else Path(__file__).parent / "results" / "suite" / "suite.json"
    results = json.loads(source.read_text())
    if "bundles" in results:
        path = source.parent / "gas-bundles.png"
        plot_bundles(results["bundles"], path)
        print(path)
    elif "ratios_by_slices" in results:
        path = source.parent / "slicing.png"
        plot_slicing(results["ratios_by_slices"], path)
        print(path)
    else:
        for path in write_plots(results, source.parent):
            print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
