"""Answers to the read API's questions, from the store, the build folder and the feed's registration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from oracle.api.evidence import ArtifactIndex, deployment_out, round_evidence, round_out
from oracle.api.registration import RegistrationReader
from oracle.api.schemas import (
    ChainOut,
    FeedOut,
    RegistrationOut,
    RoundEvidence,
    RoundOut,
    RoundPage,
    SlicedRoundEvidence,
    StatusCounts,
)
from oracle.exceptions import ApiError
from oracle.feeds.schema import FeedSpec
from oracle.store import Deployment, Round, RoundStatus, Store

IN_FLIGHT = (RoundStatus.OBSERVED, RoundStatus.PROVEN, RoundStatus.SUBMITTED)


class ReadService:
    def __init__(self, store: Store, *, build_root: Path, specs: Mapping[str, FeedSpec], rpc_timeout: float) -> None:
        self.store = store
        self.index = ArtifactIndex(build_root)
        self._registrations = RegistrationReader(specs=specs, rpc_timeout=rpc_timeout)

    def registration(self, deployment: Deployment, row: Round | None = None) -> RegistrationOut | None:
        try:
            circuit = self.index.circuit(deployment.circuit_key)
        except ApiError:
            circuit = None  # listings still work; only this feed's evidence needs its build
        return self._registrations.read(deployment, circuit, row)

    def feeds(self) -> list[FeedOut]:
        counts = self.store.status_counts()
        return [self._feed(feed_id, counts) for feed_id in self.store.feed_ids()]

    def feed(self, feed_id: str) -> FeedOut | None:
        if feed_id not in self.store.feed_ids():
            return None
        return self._feed(feed_id, self.store.status_counts())

    def _feed(self, feed_id: str, counts: Mapping[tuple[str, int, RoundStatus], int]) -> FeedOut:
        deployments = self.store.deployments(feed_id)
        by_id = {int(d.id): d for d in deployments}  # type: ignore[arg-type]
        newest_on: dict[int, Deployment] = {}
        for deployment in deployments:  # newest first
            newest_on.setdefault(deployment.chain_id, deployment)
        landed = self.store.latest_landed_per_chain(feed_id)
        latest = max(landed.values(), key=lambda row: int(row.id), default=None)  # type: ignore[arg-type]
        current = deployments[0] if deployments else None
        registration = self.registration(current) if current else None
        spec = self._registrations.spec(feed_id)
        chains = [
            ChainOut(
                chain_id=chain_id,
                oracle_address=deployment.oracle_address,
                proxy_address=deployment.proxy_address,
                rounds=_status_counts(counts, feed_id, chain_id=chain_id),
                latest=self._round_out(landed[chain_id], by_id) if chain_id in landed else None,
            )
            for chain_id, deployment in sorted(newest_on.items())
        ]
        return FeedOut(
            id=feed_id,
            description=registration.description if registration else (spec.description if spec else None),
            decimals=registration.decimals if registration else (spec.decimals if spec else None),
            deployments=[deployment_out(d) for d in reversed(deployments)],
            coverage=registration.coverage if registration else None,
            input_policy=registration.input_policy if registration else (spec.onchain.input_policy if spec else None),
            rounds=_status_counts(counts, feed_id),
            latest=self._round_out(latest, by_id) if latest else None,
            chains=chains,
            rounds_url=f"/api/feeds/{feed_id}/rounds",
        )

    def rounds(
        self,
        feed_id: str,
        *,
        limit: int,
        before: int | None = None,
        status: RoundStatus | None = None,
        chain_id: int | None = None,
    ) -> RoundPage:
        # One extra row tells whether an older page exists.
        found = self.store.recent_rounds(feed_id, limit=limit + 1, before_id=before, status=status, chain_id=chain_id)
        page = found[:limit]
        deployments = {int(d.id): d for d in self.store.deployments(feed_id)}  # type: ignore[arg-type]
        following = None
        if len(found) > limit:
            query = f"limit={limit}&before={page[-1].id}" + (f"&status={status.value}" if status else "")
            query += f"&chain_id={chain_id}" if chain_id is not None else ""
            following = f"/api/feeds/{feed_id}/rounds?{query}"
        return RoundPage(rounds=[self._round_out(r, deployments) for r in page], next=following)

    def round(self, round_id: int) -> RoundEvidence | SlicedRoundEvidence | None:
        row = self.store.round(round_id)
        return self._evidence(row) if row else None

    def latest(self, feed_id: str, *, chain_id: int | None = None) -> RoundEvidence | SlicedRoundEvidence | None:
        row = self.store.latest_landed(feed_id, chain_id=chain_id)
        return self._evidence(row) if row else None

    def artifact(self, sha256: str) -> Path | None:
        keys = {d.circuit_key for feed in self.store.feed_ids() for d in self.store.deployments(feed)}
        return self.index.path_for(sha256, circuit_keys=sorted(keys))

    def _round_out(self, row: Round, deployments: Mapping[int, Deployment]) -> RoundOut:
        """``row`` as listed, given its feed's deployments by id."""
        deployment = deployments[row.deployment_id]
        return round_out(row, self.registration(deployment, row), deployment=deployment)

    def _evidence(self, row: Round) -> RoundEvidence | SlicedRoundEvidence:
        deployment = self.store.deployment(row.deployment_id)
        return round_evidence(
            row,
            deployment=deployment,
            circuit=self.index.circuit(row.circuit_key),
            registration=self.registration(deployment, row),
            index=self.index,
        )


def _status_counts(
    counts: Mapping[tuple[str, int, RoundStatus], int], feed_id: str, *, chain_id: int | None = None
) -> StatusCounts:
    """The feed's rounds by status, on ``chain_id`` or summed over every chain."""
    by_status: dict[RoundStatus, int] = {}
    for (feed, chain, status), count in counts.items():
        if feed == feed_id and chain_id in (None, chain):
            by_status[status] = by_status.get(status, 0) + count
    return StatusCounts(
        landed=by_status.get(RoundStatus.LANDED, 0),
        failed=by_status.get(RoundStatus.FAILED, 0),
        in_flight=sum(by_status.get(status, 0) for status in IN_FLIGHT),
    )
