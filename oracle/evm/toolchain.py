"""Finding solc and anvil without downloading anything.

Order for solc: ``ZKORACLE_SOLC``, then a native solc (on PATH or installed by
py-solc-x), then the npm ``solc`` package (solc-js) behind :file:`solc_shim.js`.
EZKL's verifier builder only looks in svm's folder for solc 0.8.20, so the chosen
command is registered there, and in py-solc-x's folder, when those slots are empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import solcx
from packaging.version import Version
from solcx.install import get_executable

from oracle.exceptions import ToolchainError
from oracle.paths import PROJECT_ROOT

EZKL_SOLC_VERSION = Version("0.8.20")
_SHIM = Path(__file__).with_name("solc_shim.js")
_INSTALL_HINT = "run `make install` (it runs `npm ci` in the project root)"


@dataclass(frozen=True)
class Solc:
    path: Path
    version: Version
    kind: str  # "env", "native" or "solc-js"


def node_modules() -> Path:
    return Path(os.environ.get("ZKORACLE_NODE_MODULES", PROJECT_ROOT / "node_modules"))


def _version_of(command: Path) -> Version:
    try:
        out = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"solc at {command} does not answer --version ({exc})") from exc
    for line in out.splitlines():
        if line.startswith("Version:"):
            return Version(line.split()[1].split("+")[0])
    raise ToolchainError(f"solc at {command} printed no version line")


def _native_solc() -> Path | None:
    on_path = shutil.which("solc")
    if on_path:
        return Path(on_path)
    installed = [
        path
        for version in sorted(solcx.get_installed_solc_versions(), reverse=True)
        if not _written_by_us(path := Path(get_executable(version)))
    ]
    return installed[0] if installed else None


def _shim_command() -> Path:
    """A solc-compatible executable wrapping solc-js from the project's node_modules."""
    if not (node_modules() / "solc" / "package.json").is_file():
        raise ToolchainError(
            f"no solc found: neither a native solc nor the npm package 'solc' in {node_modules()}; {_INSTALL_HINT}"
        )
    node = shutil.which("node")
    if node is None:
        raise ToolchainError("no solc found and no `node` to run solc-js; install Node.js 18+ and " + _INSTALL_HINT)
    wrapper = node_modules() / ".bin" / "zkoracle-solc"
    script = f'#!/bin/sh\nNODE_PATH="{node_modules()}" exec "{node}" "{_SHIM}" "$@"\n'
    if not wrapper.is_file() or wrapper.read_text() != script:
        _install_script(wrapper, script)
    return wrapper


def _install_script(path: Path, script: str) -> None:
    """An executable script at ``path``, renamed into place once written.

    Node processes started together all check (and may write) the same wrappers: one
    written in place would make another's exec of it fail with ETXTBSY ("Text file
    busy") or run half a file. A rename swaps whole files, never one open for writing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as draft:
        draft.write(script)
    os.chmod(draft.name, 0o755)
    os.replace(draft.name, path)


@cache
def resolve_solc() -> Solc:
    """The solc the node compiles with; registered for EZKL as a side effect."""
    override = os.environ.get("ZKORACLE_SOLC")
    if override:
        solc = Solc(Path(override), _version_of(Path(override)), "env")
    elif (native := _native_solc()) is not None:
        solc = Solc(native, _version_of(native), "native")
    else:
        shim = _shim_command()
        solc = Solc(shim, _version_of(shim), "solc-js")
    if solc.version < EZKL_SOLC_VERSION:
        raise ToolchainError(f"solc {solc.version} at {solc.path} is older than {EZKL_SOLC_VERSION}; {_INSTALL_HINT}")
    _register_for_ezkl(solc)
    return solc


def _svm_home() -> Path:
    return Path(os.environ.get("SVM_HOME", Path.home() / ".svm"))


_SLOT_MARKER = "# written by zkoracle"


def _written_by_us(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return _SLOT_MARKER.encode() in file.read(256)
    except OSError:
        return False


def _register_for_ezkl(solc: Solc) -> None:
    """Make the 0.8.20 slots of svm (where ezkl looks) and py-solc-x answer offline.

    A real solc already in a slot is left alone; a wrapper we wrote earlier (perhaps
    from another checkout) is rewritten to point at this one.
    """
    command = solc.path if solc.version == EZKL_SOLC_VERSION else _shim_command()
    script = f'#!/bin/sh\n{_SLOT_MARKER}\nexec "{command}" "$@"\n'
    slots = (
        _svm_home() / str(EZKL_SOLC_VERSION) / f"solc-{EZKL_SOLC_VERSION}",
        Path(solcx.get_solcx_install_folder()) / f"solc-v{EZKL_SOLC_VERSION}",
    )
    for slot in slots:
        if slot.exists() and (not _written_by_us(slot) or slot.read_text() == script):
            continue
        _install_script(slot, script)


def anvil_path() -> Path:
    """The anvil binary from the npm package ``@foundry-rs/anvil`` (or ``ZKORACLE_ANVIL``)."""
    override = os.environ.get("ZKORACLE_ANVIL")
    candidates = [Path(override)] if override else [node_modules() / ".bin" / "anvil"]
    if not override and (on_path := shutil.which("anvil")):
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ToolchainError(f"anvil not found (looked in {', '.join(map(str, candidates))}); {_INSTALL_HINT}")
