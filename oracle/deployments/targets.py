"""Where a feed is deployed and posted: CLI flags weighed against the feed's chain targets."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from oracle.deployments.keys import feed_relayer_account
from oracle.evm.chains import connect
from oracle.exceptions import ChainError, FeedSpecError
from oracle.feeds.schema import DEFAULT_CHAIN, ChainSpec, FeedSpec


@dataclass(frozen=True)
class Target:
    """One of a feed's chains, its RPC URL and the oracle to register on (None: deploy one)."""

    w3: Web3
    rpc_url: str
    oracle_address: str | None
    name: str = DEFAULT_CHAIN  # the feed's name for it ([chains.<name>]; "default" for [chain] or a flag)
    note: str | None = None  # what the operator should know about how the target was chosen


def resolve_targets(
    spec: FeedSpec,
    *,
    rpc_url: str | None,
    oracle: str | None,
    fallback_url: str | None,
    connections: dict[str, Web3],
) -> list[Target]:
    """Every chain the feed is posted to, the one its rounds are proven for first.

    A ``rpc_url`` flag sends the feed to that one chain only (see :func:`resolve_target`);
    otherwise each ``[chain]`` / ``[chains.<name>]`` target is connected and checked;
    a feed naming none goes to ``fallback_url``.
    """
    if rpc_url is not None or len(spec.targets) <= 1:
        return [
            resolve_target(spec, rpc_url=rpc_url, oracle=oracle, fallback_url=fallback_url, connections=connections)
        ]
    if oracle is not None:
        raise ChainError(
            f"feed '{spec.id}' is posted to {len(spec.targets)} chains: --oracle names one oracle; "
            "set oracle_address in each [chains.<name>] instead"
        )
    return [_feed_target(spec, name, chain, connections=connections) for name, chain in spec.targets.items()]


def resolve_target(
    spec: FeedSpec,
    *,
    rpc_url: str | None,
    oracle: str | None,
    fallback_url: str | None,
    connections: dict[str, Web3],
) -> Target:
    """Flags (``rpc_url``, ``oracle``) win over the feed's first target, which wins over ``fallback_url``.

    A target applies only on the chain it names: a feed sent elsewhere with
    ``--rpc-url`` (a fork, a testnet) keeps neither its oracle address nor its relayer
    key, and a target's ``rpc_url`` answering with another chain id is refused, since the
    oracle address and key there were meant for a different chain. ``connections`` is
    shared across the feeds of one run, so each URL is connected once.
    """
    first = next(iter(spec.targets.items()), None)
    if rpc_url is None and first is not None:
        target = _feed_target(spec, *first, connections=connections)
        return target if oracle is None else Target(target.w3, target.rpc_url, oracle, name=target.name)
    url = rpc_url or fallback_url
    if url is None:
        raise ChainError(f"feed '{spec.id}' names no chain: pass --rpc-url or add a [chain] section")
    w3 = _connection(url, connections)
    note = None
    if first is not None and w3.eth.chain_id != first[1].chain_id:
        note = (
            f"feed '{spec.id}': --rpc-url is chain {w3.eth.chain_id}, not chain {first[1].chain_id} of its "
            f"[{_table(spec, first[0])}]; its oracle_address and relayer key are not used there"
        )
        return Target(w3=w3, rpc_url=url, oracle_address=oracle, note=note)
    if first is not None:
        feed_relayer_account(spec, first[0])
    return Target(w3=w3, rpc_url=url, oracle_address=oracle or (first[1].oracle_address if first else None))


def _feed_target(spec: FeedSpec, name: str, chain: ChainSpec, *, connections: dict[str, Web3]) -> Target:
    table = _table(spec, name)
    try:
        w3 = _connection(chain.rpc_url, connections)
    except ChainError as exc:
        raise FeedSpecError(
            spec.id,
            f"{table}.rpc_url",
            f"no chain answers at {chain.rpc_url}",
            "start that node, fix the URL or pass --rpc-url",
        ) from exc
    actual = w3.eth.chain_id
    if actual != chain.chain_id:
        raise FeedSpecError(
            spec.id,
            f"{table}.chain_id",
            f"the chain at {chain.rpc_url} has chain id {actual}, not {chain.chain_id}",
            f"point {table}.rpc_url at chain {chain.chain_id}, or set chain_id = {actual} if that chain is meant "
            "(then check oracle_address and the relayer key)",
        )
    feed_relayer_account(spec, name)  # a missing or wrong key fails now, not after the build or halfway through
    return Target(w3=w3, rpc_url=chain.rpc_url, oracle_address=chain.oracle_address, name=name)


def _connection(url: str, connections: dict[str, Web3]) -> Web3:
    if url not in connections:
        connections[url] = connect(url)
    return connections[url]


def _table(spec: FeedSpec, name: str) -> str:
    return "chain" if name == DEFAULT_CHAIN and spec.chain is not None else f"chains.{name}"
