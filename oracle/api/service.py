"""Answers to the read API's questions, from the store, the build folder and the feed's registration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from oracle.api.evidence import ArtifactIndex, answer_round_out, deployment_out, round_evidence, round_out
from oracle.api.registration import RegistrationReader
from oracle.api.schemas import (
    AnswerOut,
    AnswerRoundOut,
    ChainOut,
    FeedOut,
    RegistrationOut,
    RoundEvidence,
    RoundOut,
    RoundPage,
    StatusCounts,
)
from oracle.exceptions import ApiError
from oracle.feeds.schema import FeedSpec
from oracle.store import Deployment, DeploymentAnswer, Round, RoundStatus, Store

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
        """A feed, or an answer of a feed with ``[[answers]]`` read like one."""
        if feed_id not in self.store.feed_ids():
            owner = self.store.answer_owner(feed_id)
            return None if owner is None else self._answer_feed(feed_id, owner)
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
            answers=self._feed_answers(current) if current else [],
            rounds_url=f"/api/feeds/{feed_id}/rounds",
        )

    def _feed_answers(self, deployment: Deployment) -> list[AnswerOut]:
        """The answers registered with the feed's current deployment, each with its latest landed round."""
        answers = []
        for registered in self.store.deployment_answers(int(deployment.id)):  # type: ignore[arg-type]
            landed = self.store.answer_rounds(registered.answer_id, limit=1, status=RoundStatus.LANDED)
            answers.append(
                AnswerOut(
                    id=registered.answer_id,
                    description=registered.description,
                    decimals=registered.decimals,
                    output_offset=registered.output_offset,
                    proxy_address=registered.proxy_address,
                    latest=answer_round_out(landed[0][0], registered, status=RoundStatus.LANDED) if landed else None,
                    url=f"/api/feeds/{registered.answer_id}",
                    rounds_url=f"/api/feeds/{registered.answer_id}/rounds",
                )
            )
        return answers

    def _answer_feed(self, answer_id: str, owner: str) -> FeedOut:
        """An answer read like a feed: its own description, decimals, proxy per chain and rounds."""
        deployments = self.store.deployments(owner)
        by_id = {int(d.id): d for d in deployments}  # type: ignore[arg-type]
        newest_on: dict[int, Deployment] = {}
        for deployment in deployments:  # newest first
            newest_on.setdefault(deployment.chain_id, deployment)
        current = deployments[0]
        registered = self._registered_answer(current, answer_id)
        counts = self.store.answer_status_counts(answer_id)
        by_chain = {(answer_id, chain, status): count for (chain, status), count in counts.items()}
        latest_on = {
            chain_id: found[0]
            for chain_id in newest_on
            if (found := self.store.answer_rounds(answer_id, limit=1, status=RoundStatus.LANDED, chain_id=chain_id))
        }
        latest = max(latest_on.values(), key=lambda pair: int(pair[1].id), default=None)  # type: ignore[arg-type]
        registration = self.registration(current)
        chains = [
            ChainOut(
                chain_id=chain_id,
                oracle_address=deployment.oracle_address,
                proxy_address=getattr(self._registered_answer(deployment, answer_id), "proxy_address", None),
                rounds=_status_counts(by_chain, answer_id, chain_id=chain_id),
                latest=self._round_out(latest_on[chain_id][1], by_id, answer_id=answer_id)
                if chain_id in latest_on
                else None,
            )
            for chain_id, deployment in sorted(newest_on.items())
        ]
        return FeedOut(
            id=answer_id,
            answer_of=owner,
            description=registered.description if registered else None,
            decimals=registered.decimals if registered else None,
            deployments=[deployment_out(d) for d in reversed(deployments)],
            input_policy=registration.input_policy if registration else None,
            rounds=_status_counts(by_chain, answer_id),
            latest=self._round_out(latest[1], by_id, answer_id=answer_id) if latest else None,
            chains=chains,
            rounds_url=f"/api/feeds/{answer_id}/rounds",
        )

    def _registered_answer(self, deployment: Deployment, answer_id: str) -> DeploymentAnswer | None:
        found = self.store.deployment_answers(int(deployment.id))  # type: ignore[arg-type]
        return next((answer for answer in found if answer.answer_id == answer_id), None)

    def _answers_of(self, row: Round, deployment: Deployment) -> list[AnswerRoundOut]:
        """The answers ``row`` posts (none for a feed of one answer), with what ``deployment`` registered for each."""
        posted = self.store.round_answers(int(row.id))  # type: ignore[arg-type]
        if not posted:
            return []
        registered = {a.answer_id: a for a in self.store.deployment_answers(int(deployment.id))}  # type: ignore[arg-type]
        return [answer_round_out(answer, registered.get(answer.answer_id), status=row.status) for answer in posted]

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
        owner = None if feed_id in self.store.feed_ids() else self.store.answer_owner(feed_id)
        if owner is None:
            found = self.store.recent_rounds(
                feed_id, limit=limit + 1, before_id=before, status=status, chain_id=chain_id
            )
        else:
            found = [
                row
                for _answer, row in self.store.answer_rounds(
                    feed_id, limit=limit + 1, before_id=before, status=status, chain_id=chain_id
                )
            ]
        page = found[:limit]
        deployments = {int(d.id): d for d in self.store.deployments(owner or feed_id)}  # type: ignore[arg-type]
        following = None
        if len(found) > limit:
            query = f"limit={limit}&before={page[-1].id}" + (f"&status={status.value}" if status else "")
            query += f"&chain_id={chain_id}" if chain_id is not None else ""
            following = f"/api/feeds/{feed_id}/rounds?{query}"
        answer_id = None if owner is None else feed_id
        return RoundPage(rounds=[self._round_out(r, deployments, answer_id=answer_id) for r in page], next=following)

    def round(self, round_id: int) -> RoundEvidence | None:
        row = self.store.round(round_id)
        return self._evidence(row) if row else None

    def latest(self, feed_id: str, *, chain_id: int | None = None) -> RoundEvidence | None:
        """The feed's latest landed round; for an answer of a feed, the latest that posted it."""
        if feed_id not in self.store.feed_ids() and self.store.answer_owner(feed_id) is not None:
            found = self.store.answer_rounds(feed_id, limit=1, status=RoundStatus.LANDED, chain_id=chain_id)
            return self._evidence(found[0][1], answer_id=feed_id) if found else None
        row = self.store.latest_landed(feed_id, chain_id=chain_id)
        return self._evidence(row) if row else None

    def artifact(self, sha256: str) -> Path | None:
        keys = {d.circuit_key for feed in self.store.feed_ids() for d in self.store.deployments(feed)}
        return self.index.path_for(sha256, circuit_keys=sorted(keys))

    def _round_out(
        self, row: Round, deployments: Mapping[int, Deployment], *, answer_id: str | None = None
    ) -> RoundOut:
        """``row`` as listed, given its feed's deployments by id; ``answer_id``: as a round of that answer."""
        deployment = deployments[row.deployment_id]
        return round_out(
            row,
            self.registration(deployment, row),
            deployment=deployment,
            answers=self._answers_of(row, deployment),
            answer_id=answer_id,
        )

    def _evidence(self, row: Round, *, answer_id: str | None = None) -> RoundEvidence:
        deployment = self.store.deployment(row.deployment_id)
        return round_evidence(
            row,
            deployment=deployment,
            circuit=self.index.circuit(row.circuit_key),
            registration=self.registration(deployment, row),
            index=self.index,
            answers=self._answers_of(row, deployment),
            answer_id=answer_id,
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
