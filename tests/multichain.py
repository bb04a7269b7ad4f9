"""A feed posted to two chains, as the node records it: each round proven once, for the first chain, and
posted to the second by a round of its own naming the proven one (``proof_round_id``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from oracle.store import Deployment, FailureKind, Round, RoundStatus, Store

FIRST_CHAIN = 31337
SECOND_CHAIN = 31338
# Nothing listens on the discard port: a reader asking these chains for the registration is refused at once.
UNREACHABLE_RPC = "http://127.0.0.1:9"


@dataclass(frozen=True)
class TwoChains:
    """The rows written; rounds by name, as laid out in :func:`add_two_chain_feed`."""

    feed_id: str
    first: Deployment
    second: Deployment
    rounds: dict[str, Round]

    @property
    def proofs(self) -> list[float]:
        """The prove time of each proof made: once per proof, whichever chains it went to."""
        return [float(r.prove_seconds) for r in self.rounds.values() if r.proof_round_id is None]  # type: ignore[arg-type]


def _deployment(store: Store, feed_id: str, chain_id: int, byte: int) -> Deployment:
    deployment = Deployment(
        feed_id=feed_id,
        chain_id=chain_id,
        rpc_url=UNREACHABLE_RPC,
        oracle_address="0x" + f"{byte:02x}" * 20,
        verifier_address="0x" + "22" * 20,
        proxy_address="0x" + f"{byte + 1:02x}" * 20,
        circuit_key="k",
        model_commitment="0x" + "33" * 32,
        dev_srs=True,
    )
    store.add(deployment)
    return deployment


def add_two_chain_feed(store: Store, *, feed_id: str = "demo") -> TwoChains:
    """Three proofs made for the first chain (two landed there, one waiting) and their posts to the second:
    the first landed, the second superseded (that chain was unreachable until the third was proven), the third
    waiting. So the chains' latest landed rounds differ."""
    first, second = _deployment(store, feed_id, FIRST_CHAIN, 0x11), _deployment(store, feed_id, SECOND_CHAIN, 0x55)
    start = datetime.now(UTC) - timedelta(minutes=5)
    rounds: dict[str, Round] = {}

    def add(name: str, deployment: Deployment, proven: str | None, status: RoundStatus, **fields: object) -> None:
        source = rounds[proven] if proven else None
        row = Round(
            feed_id=feed_id,
            deployment_id=deployment.id,  # type: ignore[arg-type]
            circuit_key="k",
            status=status,
            inputs_json="[1.0, 2.0]",
            proof_round_id=source.id if source else None,
            # The post of a proof carries the proven round's figures, prove time included.
            prove_seconds=source.prove_seconds if source else fields.pop("prove_seconds"),
            proven_output=source.proven_output if source else fields.pop("proven_output"),
            proof_digest=source.proof_digest if source else "0x" + name.encode().hex().ljust(64, "0"),
            prover="local",
            **fields,
        )
        store.add(row)
        rounds[name] = row

    def landed(minute: int, answer: int, tx_byte: int, gas: int) -> dict[str, object]:
        return {
            "landed_at": start + timedelta(minutes=minute),
            "onchain_answer": str(answer),
            "onchain_round_id": str((1 << 64) | minute),
            "tx_hash": "0x" + f"{tx_byte:02x}" * 32,
            "gas_used": gas,
        }

    add(
        "p1",
        first,
        None,
        RoundStatus.LANDED,
        prove_seconds=4.0,
        proven_output=2000.5,
        **landed(1, 200050000000, 0xA1, 410_000),
    )
    add("c1", second, "p1", RoundStatus.LANDED, **landed(2, 200050000000, 0xB1, 350_000))
    add(
        "p2",
        first,
        None,
        RoundStatus.LANDED,
        prove_seconds=6.0,
        proven_output=2001.25,
        **landed(3, 200125000000, 0xA2, 420_000),
    )
    add(
        "c2",
        second,
        "p2",
        RoundStatus.FAILED,
        failure_kind=FailureKind.SUPERSEDED,
        failure_reason="chain 31338 was unreachable until a newer round was proven",
    )
    add("p3", first, None, RoundStatus.PROVEN, prove_seconds=5.0, proven_output=2002.0)
    add("c3", second, "p3", RoundStatus.PROVEN)
    return TwoChains(feed_id=feed_id, first=first, second=second, rounds=rounds)
