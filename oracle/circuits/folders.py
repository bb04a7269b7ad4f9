"""Build folders that appear atomically: built under a temporary name, then renamed.

A crash never leaves a half-built folder that looks complete, and two processes
building the same content keep whichever finished first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from oracle.circuits.artifacts import MANIFEST


def fresh_workdir(final: Path) -> Path:
    """An empty folder beside ``final`` to build into, private to this process."""
    workdir = final.with_name(f"{final.name}.partial-{os.getpid()}")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return workdir


def publish(workdir: Path, final: Path) -> None:
    """Rename a finished ``workdir`` (its manifest written last) to ``final``."""
    try:
        workdir.rename(final)
    except OSError:
        if (final / MANIFEST).is_file():  # another process finished the same build first
            shutil.rmtree(workdir, ignore_errors=True)
        else:  # a leftover without a manifest is not a build; replace it
            shutil.rmtree(final)
            workdir.rename(final)
