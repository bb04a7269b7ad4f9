"""EZKL's Rust core prints calibration tables straight to file descriptor 2, past Python's logging."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def native_stderr_to(log_path: Path) -> Iterator[None]:
    """Send whatever native code writes to fd 2 into ``log_path`` (appended) for the duration."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
