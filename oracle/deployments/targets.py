"""Where a feed is deployed and posted: CLI flags weighed against the feed's ``[chain]``."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from oracle.deployments.keys import feed_relayer_account
from oracle.evm.chains import connect
from oracle.exceptions import ChainError, FeedSpecError
from oracle.feeds.schema import FeedSpec


@dataclass(frozen=True)
class Target:
    """One feed's chain, its RPC URL and the oracle to register on (None: deploy one)."""

    w3: Web3
    rpc_url: str
    oracle_address: str | None
    note: str | None = None  # what the operator should know about how the target was chosen


def resolve_target(
    spec: FeedSpec,
    *,
    rpc_url: str | None,
    oracle: str | None,
    fallback_url: str | None,
    connections: dict[str, Web3],
) -> Target:
    """Flags (``rpc_url``, ``oracle``) win over the feed's ``[chain]``, which wins over ``fallback_url``.

    ``[chain]`` applies only on the chain it names: a feed sent elsewhere with
    ``--rpc-url`` (a fork, a testnet) keeps neither its oracle address nor its relayer
    key, and a ``chain.rpc_url`` answering with another chain id is refused, since the
    oracle address and key there were meant for a different chain. ``connections`` is
    shared across the feeds of one run, so each URL is connected once.
    """
    chain = spec.chain
    from_feed = rpc_url is None and chain is not None
    url = rpc_url or (chain.rpc_url if chain is not None else fallback_url)
    if url is None:
        raise ChainError(f"feed '{spec.id}' names no chain: pass --rpc-url or add a [chain] section")
    if url not in connections:
        try:
            connections[url] = connect(url)
        except ChainError as exc:
            if not from_feed:
                raise
            raise FeedSpecError(
                spec.id, "chain.rpc_url", f"no chain answers at {url}", "start that node, fix the URL or pass --rpc-url"
            ) from exc
    w3 = connections[url]
    actual = w3.eth.chain_id
    note = None
    if chain is not None and actual != chain.chain_id:
        if from_feed:
            raise FeedSpecError(
                spec.id,
                "chain.chain_id",
                f"the chain at {url} has chain id {actual}, not {chain.chain_id}",
                f"point chain.rpc_url at chain {chain.chain_id}, or set chain_id = {actual} if that chain is meant "
                "(then check oracle_address and the relayer key)",
            )
        note = (
            f"feed '{spec.id}': --rpc-url is chain {actual}, not chain {chain.chain_id} of its [chain]; "
            "its oracle_address and relayer key are not used there"
        )
        chain = None
    else:
        feed_relayer_account(spec)  # a missing or wrong key fails now, not after the build or halfway through deploying
    return Target(w3=w3, rpc_url=url, oracle_address=oracle or (chain.oracle_address if chain else None), note=note)
