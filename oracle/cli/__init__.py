"""The ``zkoracle`` command line: one module per command group; library errors become one line in one place (app)."""

from oracle.cli import api, attest, chain, feeds, provers, status  # noqa: F401  (each module registers its commands)
from oracle.cli.app import app

__all__ = ["app"]
