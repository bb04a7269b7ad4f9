"""The Solidity suite (tests/forge, see foundry.toml) run by `forge test`, so `make test` runs it too.

forge comes from the npm package ``@foundry-rs/forge`` (``make install``) and compiles with the
solc the node resolves (native, or solc-js behind the shim): nothing is downloaded.
"""

from __future__ import annotations

import json
import subprocess

from oracle.evm.toolchain import node_modules, resolve_solc
from oracle.paths import PROJECT_ROOT

# Every unit, fuzz and invariant test of tests/forge; a suite that silently ran fewer fails here.
EXPECTED_TESTS = 103
# A clean compile with solc-js (ZkOracle through the IR pipeline) takes minutes on 2 cores.
FORGE_TIMEOUT_SECONDS = 900


def test_forge_suite_passes() -> None:
    forge = node_modules() / ".bin" / "forge"
    assert forge.is_file(), f"no forge at {forge}: run `make install` (npm package @foundry-rs/forge)"
    command = [str(forge), "test", "--offline", "--use", str(resolve_solc().path), "--json"]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=FORGE_TIMEOUT_SECONDS, check=False
    )
    # With --json, stdout is one JSON object per suite run: {"path:Contract": {"test_results": {...}}}.
    suites = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    results = {
        f"{suite}::{name}": result["status"]
        for suite, outcome in suites.items()
        for name, result in outcome["test_results"].items()
    }
    failed = sorted(name for name, status in results.items() if status != "Success")
    assert done.returncode == 0 and not failed, f"forge test failed: {failed}\n{done.stderr[-4000:]}"
    assert len(results) == EXPECTED_TESTS, sorted(results)


def test_readme_quotes_the_safe_reading_example_as_it_is() -> None:
    # The README's "Reading a feed safely" shows this test file; a quote that drifted would teach
    # consumers an API the mock no longer has.
    example = (PROJECT_ROOT / "tests" / "forge" / "SafeConsumer.t.sol").read_text()
    assert f"```solidity\n{example}```" in (PROJECT_ROOT / "README.md").read_text()
