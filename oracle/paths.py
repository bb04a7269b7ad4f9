"""Where zkoracle keeps its files: the project root, the state dir and the build cache."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    """Mutable node state (database, proofs); ``ZKORACLE_HOME`` overrides ``./.zkoracle``."""
    return Path(os.environ.get("ZKORACLE_HOME", Path.cwd() / ".zkoracle")).resolve()


def build_dir() -> Path:
    """Content-addressed circuit artifacts; shared across state dirs unless overridden."""
    override = os.environ.get("ZKORACLE_BUILD_DIR")
    return Path(override).resolve() if override else PROJECT_ROOT / ".zkoracle" / "build"
