"""Structured reference strings: dev SRS generated locally, never downloaded.

A dev SRS is produced by ``ezkl.gen_srs``, whose toxic waste is known to this
machine: anyone holding it can forge proofs. It is fine for a local chain and must
never back a verifier on a chain that holds value.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ezkl

from oracle.evm.chains import is_dev_chain
from oracle.exceptions import CircuitError, DevSrsRefusedError

log = logging.getLogger(__name__)

DEV_SRS_WARNING = (
    "using a locally generated dev SRS (its toxic waste is known): proofs made with it are "
    "only meaningful on local chains"
)


def dev_srs_path(build_root: Path, logrows: int) -> Path:
    return build_root / "srs" / f"kzg-dev-{logrows}.srs"


def ensure_dev_srs(build_root: Path, logrows: int) -> Path:
    """Generate the dev SRS for ``logrows`` once and reuse it for every circuit."""
    path = dev_srs_path(build_root, logrows)
    if path.is_file():
        return path
    log.warning(DEV_SRS_WARNING)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    try:
        ezkl.gen_srs(str(partial), logrows)
    except Exception as exc:  # ezkl raises bare RuntimeErrors
        partial.unlink(missing_ok=True)
        raise CircuitError(f"generating the dev SRS for logrows {logrows} failed: {exc}") from exc
    partial.replace(path)
    return path


def check_srs_allowed(*, dev_srs: bool, chain_id: int, feed_id: str, force: bool = False) -> None:
    """Refuse a dev-SRS verifier on a non-dev chain unless the operator forces it."""
    if dev_srs and not is_dev_chain(chain_id) and not force:
        raise DevSrsRefusedError(
            f"feed '{feed_id}': its circuit was set up with a dev SRS, which must not secure chain {chain_id}; "
            "build it with a ceremony SRS, or pass --force-dev-srs if this chain holds nothing of value"
        )
