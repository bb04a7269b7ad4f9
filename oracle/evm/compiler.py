"""Compiling Solidity with the resolved solc through py-solc-x's standard-JSON interface."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solcx.exceptions import SolcError
from solcx.wrapper import solc_wrapper

from oracle.evm.toolchain import Solc, node_modules, resolve_solc
from oracle.exceptions import ToolchainError
from oracle.paths import PROJECT_ROOT, build_dir

CONTRACTS_DIR = PROJECT_ROOT / "contracts"
# npm packages the contracts import from (solc finds them in node_modules); their versions
# are part of the compile cache key, since the request only names their files.
IMPORTED_PACKAGES = ("@openzeppelin/contracts", "@chainlink/contracts")


# EIP-170: the most bytes of runtime code a contract may have (Spurious Dragon and every chain since).
EIP170_CODE_SIZE_LIMIT = 24_576


@dataclass(frozen=True)
class CompiledContract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_size: int
    # Each external library the bytecode calls, by name, with the byte offsets of its address.
    link_references: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def linked(self, libraries: Mapping[str, str]) -> str:
        """The bytecode with each library's address written where solc left its placeholder."""
        missing = sorted(set(self.link_references) - set(libraries))
        if missing:
            raise ToolchainError(f"{self.name} calls external libraries not given an address: {', '.join(missing)}")
        code = bytearray.fromhex(self.bytecode.removeprefix("0x").replace("_", "0").replace("$", "0"))
        for name, offsets in self.link_references.items():
            address = bytes.fromhex(libraries[name].removeprefix("0x"))
            for offset in offsets:
                code[offset : offset + len(address)] = address
        return "0x" + code.hex()


def compile_sources(
    sources: dict[str, str], *, optimize_runs: int = 200, via_ir: bool = False
) -> dict[str, CompiledContract]:
    """Compile in-memory sources keyed by unit name; imports resolve among them, then in node_modules."""
    solc = resolve_solc()
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": optimize_runs},
            "viaIR": via_ir,
            "evmVersion": "shanghai",
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object"]}
            },
        },
    }
    output = _cached_output(request, solc)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        details = "; ".join(e["formattedMessage"].strip().splitlines()[0] for e in errors)
        raise ToolchainError(f"solidity compilation failed ({solc.kind} solc {solc.version}): {details}")
    compiled: dict[str, CompiledContract] = {}
    for unit in output["contracts"].values():
        for name, artifact in unit.items():
            bytecode = artifact["evm"]["bytecode"]["object"]
            if bytecode:
                references = {
                    library: tuple(place["start"] for place in places)
                    for by_library in artifact["evm"]["bytecode"].get("linkReferences", {}).values()
                    for library, places in by_library.items()
                }
                compiled[name] = CompiledContract(
                    name=name,
                    abi=artifact["abi"],
                    bytecode="0x" + bytecode,
                    deployed_size=len(artifact["evm"]["deployedBytecode"]["object"]) // 2,
                    link_references=references,
                )
            else:
                compiled.setdefault(
                    name, CompiledContract(name=name, abi=artifact["abi"], bytecode="", deployed_size=0)
                )
    return compiled


def _cached_output(request: dict[str, Any], solc: Solc) -> dict[str, Any]:
    """solc's standard-JSON output, kept on disk by content.

    solc-js takes seconds per compile, and every process (CLI runs, provers, tests) would
    otherwise compile the same sources again.
    """
    packages = "".join(
        manifest.read_text()
        for package in IMPORTED_PACKAGES
        if (manifest := node_modules() / package / "package.json").is_file()
    )
    material = json.dumps(request, sort_keys=True) + str(solc.version) + packages
    cached = build_dir() / "solc" / f"{hashlib.sha256(material.encode()).hexdigest()[:32]}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    try:
        # Imports such as "@openzeppelin/contracts/..." resolve as with native solc: against
        # the project root, then node_modules.
        stdout, _stderr, _command, _process = solc_wrapper(
            solc_binary=solc.path,
            stdin=json.dumps(request),
            standard_json=True,
            base_path=str(PROJECT_ROOT),
            include_path=str(node_modules()),
        )
    except SolcError as exc:
        raise ToolchainError(f"solc ({solc.kind} {solc.version}) failed: {exc.message}") from exc
    output = json.loads(stdout)
    if not any(e.get("severity") == "error" for e in output.get("errors", [])):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".partial-{os.getpid()}")
        partial.write_text(stdout)
        partial.replace(cached)
    return output


def project_sources(directory: Path = CONTRACTS_DIR) -> dict[str, str]:
    return {str(path.relative_to(directory.parent)): path.read_text() for path in sorted(directory.rglob("*.sol"))}


def compile_project() -> dict[str, CompiledContract]:
    """The oracle's own contracts (``contracts/``).

    Through the IR pipeline: the legacy one leaves ZkOracle over the 24,576-byte EIP-170 limit.
    """
    return compile_sources(project_sources(), via_ir=True)


def compile_file(path: Path) -> dict[str, CompiledContract]:
    """A standalone source file, such as a generated EZKL verifier."""
    return compile_sources({path.name: path.read_text()})
