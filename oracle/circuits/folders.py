"""Build folders that appear atomically: built under a temporary name, then renamed.

A crash never leaves a half-built folder that looks complete, and two processes
building the same content keep whichever finished first.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from oracle.circuits.artifacts import MANIFEST

EZKL_VERSION = importlib.metadata.version("ezkl")


def content_key(
    *, build_format: int, onnx_bytes: bytes, samples: Sequence[Sequence[float]], **choices: object
) -> str:
    """A build folder's name: the hash of everything its artifacts depend on (format, EZKL, model, samples, choices)."""
    material = {
        "format": build_format,
        "ezkl": EZKL_VERSION,
        "onnx": hashlib.sha256(onnx_bytes).hexdigest(),
        "samples": [[float(x) for x in sample] for sample in samples],
        **choices,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


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
