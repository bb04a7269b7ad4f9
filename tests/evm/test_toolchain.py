from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oracle.evm import toolchain
from oracle.evm.compiler import compile_project, compile_sources
from oracle.exceptions import ToolchainError
from oracle.paths import PROJECT_ROOT


def test_resolved_solc_is_recent_enough_and_registered_for_ezkl() -> None:
    solc = toolchain.resolve_solc()
    assert solc.version >= toolchain.EZKL_SOLC_VERSION
    slot = toolchain._svm_home() / "0.8.20" / "solc-0.8.20"
    assert slot.is_file()


def test_project_contracts_compile_to_deployable_bytecode() -> None:
    compiled = compile_project()
    # Creation code starts with a PUSH (PUSH1 from the legacy pipeline, PUSH2 from the IR one).
    assert compiled["ZkOracle"].bytecode[:4] in ("0x60", "0x61")
    assert 0 < compiled["ZkOracle"].deployed_size <= 24_576  # EIP-170 limit
    assert compiled["IZkOracle"].bytecode == ""


def test_compile_error_names_the_problem() -> None:
    with pytest.raises(ToolchainError, match="compilation failed"):
        compile_sources({"Broken.sol": "pragma solidity ^0.8.20; contract Broken { function f( }"})


def test_missing_solc_js_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ZKORACLE_SOLC", raising=False)
    monkeypatch.setenv("ZKORACLE_NODE_MODULES", str(tmp_path))
    monkeypatch.setattr(toolchain, "_native_solc", lambda: None)
    toolchain.resolve_solc.cache_clear()
    try:
        with pytest.raises(ToolchainError, match="make install"):
            toolchain.resolve_solc()
    finally:
        toolchain.resolve_solc.cache_clear()


def test_missing_anvil_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZKORACLE_ANVIL", str(tmp_path / "no-anvil"))
    with pytest.raises(ToolchainError, match="anvil not found.*make install"):
        toolchain.anvil_path()


def test_ezkl_slot_is_rewritten_when_stale_but_a_real_solc_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SVM_HOME", str(tmp_path))
    solc = toolchain.resolve_solc()
    slot = tmp_path / "0.8.20" / "solc-0.8.20"
    slot.parent.mkdir(parents=True, exist_ok=True)
    slot.write_text('#!/bin/sh\n# written by zkoracle\nexec "/gone/checkout/solc" "$@"\n')
    toolchain._register_for_ezkl(solc)
    assert str(solc.path) in slot.read_text() and "/gone/" not in slot.read_text()

    native = b"\x7fELF pretend native solc"
    slot.write_bytes(native)
    toolchain._register_for_ezkl(solc)
    assert slot.read_bytes() == native


def test_a_wrapper_rewritten_while_other_processes_run_it_never_fails_them(tmp_path: Path) -> None:
    """Node processes started together all check, and may rewrite, the same solc wrapper while others exec it."""
    wrapper = tmp_path / "zkoracle-solc"
    # Each process writes its own script (as checkouts in different folders would) and runs the wrapper.
    loop = (
        "import subprocess, sys\n"
        "from pathlib import Path\n"
        "from oracle.evm.toolchain import _install_script\n"
        "wrapper, n = Path(sys.argv[1]), sys.argv[2]\n"
        "for _ in range(60):\n"
        "    _install_script(wrapper, f'#!/bin/sh\\necho {n}\\n')\n"
        "    print(subprocess.run([str(wrapper)], capture_output=True, text=True, check=True).stdout.strip())\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", loop, str(wrapper), str(n)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    outputs = [run.communicate(timeout=120)[0].split() for run in runs]

    assert [run.returncode for run in runs] == [0] * 4  # no "Text file busy", no half-written script
    assert {line for output in outputs for line in output} <= {"0", "1", "2", "3"}
    assert [path.name for path in tmp_path.iterdir()] == ["zkoracle-solc"]  # no drafts left behind
