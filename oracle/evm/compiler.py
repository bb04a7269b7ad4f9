"""Compiling Solidity with the resolved solc through py-solc-x's standard-JSON interface."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solcx.exceptions import SolcError
from solcx.wrapper import solc_wrapper

from oracle.evm.toolchain import node_modules, resolve_solc
from oracle.exceptions import ToolchainError
from oracle.paths import PROJECT_ROOT

CONTRACTS_DIR = PROJECT_ROOT / "contracts"


@dataclass(frozen=True)
class CompiledContract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_size: int


def compile_sources(sources: dict[str, str], *, optimize_runs: int = 200) -> dict[str, CompiledContract]:
    """Compile in-memory sources keyed by unit name; every import must be among them."""
    solc = resolve_solc()
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": optimize_runs},
            "evmVersion": "shanghai",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    try:
        # Imports such as "@openzeppelin/contracts/..." resolve as with native solc:
        # against the project root, then node_modules.
        stdout, _stderr, _command, _process = solc_wrapper(
            solc_binary=solc.path,
            stdin=json.dumps(request),
            standard_json=True,
            base_path=str(PROJECT_ROOT),
            include_path=str(node_modules()),
        )
        output = json.loads(stdout)
    except SolcError as exc:
        raise ToolchainError(f"solc ({solc.kind} {solc.version}) failed: {exc.message}") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        details = "; ".join(e["formattedMessage"].strip().splitlines()[0] for e in errors)
        raise ToolchainError(f"solidity compilation failed ({solc.kind} solc {solc.version}): {details}")
    compiled: dict[str, CompiledContract] = {}
    for unit in output["contracts"].values():
        for name, artifact in unit.items():
            bytecode = artifact["evm"]["bytecode"]["object"]
            if bytecode:
                compiled[name] = CompiledContract(
                    name=name,
                    abi=artifact["abi"],
                    bytecode="0x" + bytecode,
                    deployed_size=len(artifact["evm"]["deployedBytecode"]["object"]) // 2,
                )
            else:
                compiled.setdefault(
                    name, CompiledContract(name=name, abi=artifact["abi"], bytecode="", deployed_size=0)
                )
    return compiled


def project_sources(directory: Path = CONTRACTS_DIR) -> dict[str, str]:
    return {str(path.relative_to(directory.parent)): path.read_text() for path in sorted(directory.rglob("*.sol"))}


def compile_project() -> dict[str, CompiledContract]:
    """The oracle's own contracts (``contracts/``)."""
    return compile_sources(project_sources())


def compile_file(path: Path) -> dict[str, CompiledContract]:
    """A standalone source file, such as a generated EZKL verifier."""
    return compile_sources({path.name: path.read_text()})
