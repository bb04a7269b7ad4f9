"""bench.suite end to end on its smallest model, so `make bench`'s first step cannot rot unseen."""

from __future__ import annotations

from rich.console import Console

from bench.suite import SIZES, run
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS


def test_the_suite_benchmarks_its_tiny_model_as_the_node_builds_and_posts_it() -> None:
    results = run(["tiny"], prove_runs=1, ticks=1, console=Console(quiet=True))

    tiny = results["models"]["tiny"]
    # The feed's circuit, as the node builds it: the window plus the proven observation time.
    assert tiny["instances"] == SIZES["tiny"].window + OBSERVED_AT_LIMBS + 1
    assert tiny["build"]["seconds"] > 0 and tiny["prove"]["median_seconds"] > 0
    assert tiny["gas"]["submit"] > tiny["gas"]["verify"]
    (tick,) = tiny["end_to_end"]["runs"]  # a tick that did not land, read by the consumer, raises
    assert tick["submit_gas"] > tiny["gas"]["verify"]
