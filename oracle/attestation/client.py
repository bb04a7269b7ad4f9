"""The node's side: ask a feed's attesters to sign a round's Observation, keep only signatures that check out.

Every attester is asked at once over HTTP; an answer counts only when its signature
recovers to that attester's registered address (a key swap, a proxy or a bug would
otherwise cost a reverted transaction). As soon as ``threshold`` signatures are in the
rest are not waited for. The attestations come back sorted by signer address, as
ZkOracle takes them (strictly increasing signers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx
from eth_utils import is_hex_address, to_checksum_address

from oracle.attestation.kinds import ATTEST, AttestationFailure, Refusal, RefusalKind
from oracle.attestation.typed_data import Attestation, ObservationClaim, recover_signer
from oracle.exceptions import AttestationError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0


async def _ask(client: httpx.AsyncClient, claim: ObservationClaim, address: str, url: str) -> Attestation | Refusal:
    def refusal(kind: RefusalKind, detail: str) -> Refusal:
        return Refusal(attester=address, url=url, kind=kind, detail=detail)

    try:
        response = await client.post(url.rstrip("/") + ATTEST, json=claim.to_json())
    except httpx.TimeoutException as exc:
        return refusal(RefusalKind.TIMEOUT, f"no answer in time ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return refusal(RefusalKind.UNREACHABLE, f"{type(exc).__name__}: {exc}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        kind = body.get("kind") if isinstance(body, dict) else None
        if kind in RefusalKind.__members__:
            return refusal(RefusalKind(kind), str(body.get("detail", "")))
        return refusal(RefusalKind.BAD_ANSWER, f"HTTP {response.status_code} without a refusal")
    try:
        signature = bytes.fromhex(str(body["signature"]).removeprefix("0x"))
        signer = recover_signer(claim, signature)
    except (KeyError, TypeError, ValueError) as exc:
        return refusal(RefusalKind.BAD_ANSWER, f"not a signature answer ({type(exc).__name__}: {exc})")
    if signer.lower() != address.lower():
        return refusal(RefusalKind.WRONG_SIGNER, f"the signature recovers to {signer}, not the registered {address}")
    return Attestation(signer=signer, signature=signature)


async def gather_attestations_async(
    claim: ObservationClaim,
    attesters: Sequence[tuple[str, str]],
    *,
    threshold: int,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[Attestation]:
    """See :func:`gather_attestations`."""
    registered: dict[str, str] = {}
    for address, url in attesters:
        if not is_hex_address(address):
            raise ValueError(f"attester address {address!r} is not a 20-byte hex address")
        registered.setdefault(to_checksum_address(address), url)  # the contract counts distinct signers
    if threshold > len(registered):
        raise AttestationError(
            claim.feed_id,
            AttestationFailure.TOO_FEW_ATTESTERS,
            f"the threshold is {threshold} but only {len(registered)} attesters are registered",
            needed=threshold,
        )
    signed: list[Attestation] = []
    refusals: list[Refusal] = []
    async with httpx.AsyncClient(timeout=timeout) as client:
        tasks = [asyncio.create_task(_ask(client, claim, address, url)) for address, url in registered.items()]
        try:
            for next_answer in asyncio.as_completed(tasks):
                answer = await next_answer
                if isinstance(answer, Attestation):
                    signed.append(answer)
                    if len(signed) >= threshold:
                        break
                else:
                    log.info("feed '%s': attester %s", claim.feed_id, answer)
                    refusals.append(answer)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    if len(signed) < threshold:
        raise AttestationError(
            claim.feed_id,
            AttestationFailure.TOO_FEW_SIGNATURES,
            f"{len(signed)} of {len(registered)} attesters signed, {threshold} needed",
            signed=len(signed),
            needed=threshold,
            refusals=refusals,
        )
    return sorted(signed, key=lambda attestation: int(attestation.signer, 16))


def gather_attestations(
    claim: ObservationClaim,
    attesters: Sequence[tuple[str, str]],
    *,
    threshold: int,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[Attestation]:
    """At least ``threshold`` attestations of ``claim`` from ``attesters`` ((address, url) pairs), sorted by signer.

    Raises :class:`~oracle.exceptions.AttestationError` naming how many signed, how many
    were needed and why each other attester did not (its refusal kind, or a timeout,
    an unreachable server, a bad answer, a signature by another key).
    For a caller inside an event loop: :func:`gather_attestations_async`.
    """
    return asyncio.run(gather_attestations_async(claim, attesters, threshold=threshold, timeout=timeout))
