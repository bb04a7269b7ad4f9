"""The pure libraries of ``contracts/libraries/`` behind harness contracts, deployed on the session's Anvil.

The harnesses live under ``tests/contracts/harness/``, outside ``contracts/``, so they are
never part of the project's compiled set; they are compiled here with the project's sources.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from oracle.evm.compiler import CompiledContract, compile_sources, project_sources
from oracle.paths import PROJECT_ROOT

HARNESS_DIR = Path(__file__).parent / "harness"


@cache
def harness_contracts() -> dict[str, CompiledContract]:
    harnesses = {str(path.relative_to(PROJECT_ROOT)): path.read_text() for path in sorted(HARNESS_DIR.glob("*.sol"))}
    # Only the libraries and interfaces: the contracts need the IR pipeline, the libraries do not.
    libraries = {
        name: text
        for name, text in project_sources().items()
        if name.startswith(("contracts/libraries/", "contracts/interfaces/"))
    }
    return compile_sources(libraries | harnesses)
