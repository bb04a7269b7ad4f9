"""Every error zkoracle raises on purpose: one root, one class per area.

Messages name what failed and how to fix it; the CLI prints them as one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oracle.evm.errors import DecodedRevert


class ZkOracleError(Exception):
    """Root of all zkoracle errors."""


class ToolchainError(ZkOracleError):
    """A required external tool (solc, anvil, node) is missing or unusable."""


class FeedSpecError(ZkOracleError):
    """A feed definition is invalid; the message names the feed, the field and the fix."""

    def __init__(self, feed: str, field: str, problem: str, fix: str) -> None:
        self.feed = feed
        self.field = field
        super().__init__(f"feed '{feed}', field '{field}': {problem}; {fix}")


class BundleError(ZkOracleError):
    """Member feeds cannot be proven together as a bundle; names the bundle, the member at fault and the fix."""

    def __init__(self, bundle: str, member: str, problem: str, fix: str) -> None:
        self.bundle = bundle
        self.member = member
        super().__init__(f"bundle '{bundle}', member '{member}': {problem}; {fix}")


class SourceError(ZkOracleError):
    """An input source could not produce a usable model input."""


class CircuitError(ZkOracleError):
    """Building, loading or checking a circuit's artifacts failed."""


class ModelIntakeError(CircuitError):
    """An ONNX model cannot be prepared for a circuit; names the feed, the node at fault (when one is) and the fix."""

    def __init__(
        self,
        feed: str | None,
        model: str,
        problem: str,
        fix: str,
        *,
        node: str | None = None,
        op_type: str | None = None,
    ) -> None:
        self.feed = feed
        self.model = model
        self.node = node
        self.op_type = op_type
        owner = f"feed '{feed}', field 'model': {model}" if feed else f"model {model}"
        where = f", node {node} ({op_type})" if node is not None else ""
        super().__init__(f"{owner}{where}: {problem}; {fix}")


class SlicePlanError(CircuitError):
    """No cuts keep every slice within ``max_logrows``: one node is too big for a slice (``node`` set), or the
    graph has too few places to cut. Carries the offending figures; ``problem`` and ``fix`` are the message's parts."""

    def __init__(
        self,
        *,
        model: str,
        node: str | None,
        op_type: str | None,
        rows: int,
        needed_logrows: int,
        max_logrows: int,
        splittable: bool,
        slices: int | None = None,
    ) -> None:
        self.model, self.node, self.op_type, self.rows = model, node, op_type, rows
        self.max_logrows, self.needed_logrows = max_logrows, needed_logrows
        if node is not None:
            why = "even split into one output feature a piece" if splittable else "and it cannot be split"
            self.problem = (
                f"node '{node}' ({op_type}) of {model} alone needs about {rows:,} rows (logrows "
                f"{self.needed_logrows}), more than max_logrows {max_logrows} holds, {why}"
            )
        else:
            self.problem = (
                f"{model} cannot be cut into at most {slices} slices of logrows {max_logrows} or less: the "
                f"largest would need about {rows:,} rows (logrows {self.needed_logrows}); the graph has too few "
                "places where a single tensor crosses"
            )
        self.fix = f"set max_logrows = {self.needed_logrows} or more"
        super().__init__(f"{self.problem}; {self.fix}")


class DevSrsRefusedError(CircuitError):
    """A verifier built on a locally generated (dev) SRS was headed for a non-dev chain."""


class ProverError(ZkOracleError):
    """Producing or verifying a proof failed."""


class ChainError(ZkOracleError):
    """Talking to the chain or to a deployed contract failed."""


class DeploymentError(ChainError):
    """Contracts are missing or do not match what the node expects."""


class RelayError(ChainError):
    """A transaction was rejected, reverted or never confirmed; ``revert`` says why, when the contract reverted."""

    def __init__(self, message: str, *, tx_hash: str | None = None, revert: DecodedRevert | None = None) -> None:
        self.tx_hash = tx_hash
        self.revert = revert
        super().__init__(message)


class StoreError(ZkOracleError):
    """The database could not be opened or written."""


class ApiError(ZkOracleError):
    """The read API could not answer: a missing round, feed or artifact, or an unreachable server."""


class VerificationError(ZkOracleError):
    """A round fetched from the read API failed an offline check; the message names the check."""


class ProverBusyError(ProverError):
    """A prover has every worker taken and its queue full: ask another, or this one after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class UploadMismatchError(ProverError):
    """An upload's body does not hash to the sha256 its sender signed."""


class RemoteProverError(ProverError):
    """A remote prover gave no usable answer: unreachable, refused, timed out, or not signed by its hotkey."""


class RecipeMismatchError(ProverError):
    """A circuit recipe's setup yielded another verifying key than the one it names: its circuit is not that one."""

    def __init__(self, recipe: str, *, expected_vk: str, derived_vk: str) -> None:
        self.recipe = recipe
        self.expected_vk = expected_vk
        self.derived_vk = derived_vk
        super().__init__(
            f"recipe {recipe} names verifying key {expected_vk}, but its circuit sets up to {derived_vk}; refused"
        )


if TYPE_CHECKING:
    from collections.abc import Sequence

    from oracle.attestation.kinds import Refusal


class AttestationError(ZkOracleError):
    """Fewer attesters than the feed's threshold signed a round's observation.

    ``kind`` is an :class:`oracle.attestation.kinds.AttestationFailure`; ``signed`` and
    ``needed`` count signatures; ``refusals`` holds each other attester's reason as data
    (:class:`oracle.attestation.kinds.Refusal`: attester, url, kind, detail).
    """

    def __init__(
        self,
        feed: str,
        kind: str,
        detail: str,
        *,
        signed: int = 0,
        needed: int = 0,
        refusals: Sequence[Refusal] = (),
    ) -> None:
        self.feed = feed
        self.kind = kind
        self.detail = detail
        self.signed = signed
        self.needed = needed
        self.refusals: list[Refusal] = list(refusals)
        reasons = "; ".join(str(refusal) for refusal in self.refusals)
        super().__init__(f"feed '{feed}': {detail}" + (f" — {reasons}" if reasons else ""))
