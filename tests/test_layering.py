"""Which way the rooms depend, read from the source files (ARCHITECTURE.md: dependencies point one way)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from oracle.paths import PROJECT_ROOT

# What the relayer may use of the node: chains and contracts, the store, and the error types.
RELAYER_MAY_IMPORT = ("oracle.evm", "oracle.store", "oracle.exceptions")
# The lowest rooms: they know nothing of feeds, circuits, provers or the relayer.
EVM_MAY_IMPORT = ("oracle.evm", "oracle.exceptions", "oracle.paths")
STORE_MAY_IMPORT = ("oracle.store", "oracle.exceptions")
# The console script's entry point is the one place that starts the CLI.
CLI_ENTRY_POINT = PROJECT_ROOT / "oracle" / "__main__.py"


def _python_files(root: Path, *rooms: str) -> Iterator[Path]:
    for room in rooms:
        yield from sorted((root / room).rglob("*.py"))


def _imports(path: Path, *, root: Path = PROJECT_ROOT) -> Iterator[str]:
    """Every module ``path`` imports, type-only imports included (a dependency all the same)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _offences(rooms: tuple[str, ...], allowed: tuple[str, ...], *, root: Path = PROJECT_ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in _python_files(root, *rooms)
        for module in _imports(path, root=root)
        if module.split(".")[0] == "oracle" and not _within(module, allowed)
    ]


def test_the_relayer_uses_only_chains_the_store_and_errors_of_the_node() -> None:
    assert _offences(("relayer",), RELAYER_MAY_IMPORT) == []


def test_chains_and_the_store_depend_on_no_other_room() -> None:
    assert _offences(("oracle/evm",), EVM_MAY_IMPORT) == []
    assert _offences(("oracle/store",), STORE_MAY_IMPORT) == []


def test_sources_read_no_feed() -> None:
    """feed.toml's schema embeds the sources' settings, so the sources room must not read feeds back."""
    importers = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in _python_files(PROJECT_ROOT, "oracle/sources")
        for module in _imports(path)
        if _within(module, ("oracle.feeds",))
    ]
    assert importers == []


def test_nothing_imports_the_cli() -> None:
    importers = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in _python_files(PROJECT_ROOT, "oracle", "relayer", "bench", "tests", "feeds")
        if path != CLI_ENTRY_POINT and path.relative_to(PROJECT_ROOT).parts[:2] != ("oracle", "cli")
        for module in _imports(path)
        if _within(module, ("oracle.cli",))
    ]
    assert importers == []


def test_the_checks_see_imports_of_every_form(tmp_path: Path) -> None:
    """The checks above pass only if they would catch an offence: each import form is seen."""
    (tmp_path / "relayer").mkdir()
    sample = tmp_path / "relayer" / "probe.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "import oracle.pipeline\n"
        "from oracle import cli\n"
        "from ..oracle.circuits import build\n"
        "if TYPE_CHECKING:\n"
        "    from oracle.feedspec import FeedSpec\n"
    )
    found = set(_imports(sample, root=tmp_path))
    assert {"oracle.pipeline", "oracle.cli", "oracle.feedspec", "oracle.circuits.build"} <= found
    offences = _offences(("relayer",), RELAYER_MAY_IMPORT, root=tmp_path)
    assert "relayer/probe.py imports oracle.pipeline" in offences
