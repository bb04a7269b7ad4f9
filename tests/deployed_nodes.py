"""A feed's node ticking in-process on a deployment of its own, as the node, answer, bundle and API tests set it up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from web3 import Web3

from oracle.deployments.lifecycle import ensure_deployment
from oracle.feed_circuit import FeedCircuit
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver
from oracle.store import Store


def deployed_node(
    store: Store,
    w3: Web3,
    rpc_url: str,
    spec: FeedSpec,
    circuit: FeedCircuit,
    proofs_dir: Path,
    *,
    with_consumer: bool = False,
    **node_options: Any,
) -> FeedNode:
    """``spec``'s node on the deployment ``store`` records at ``rpc_url`` (made now if none), proving locally unless
    ``node_options`` name a prover."""
    deployment = ensure_deployment(store, w3, rpc_url, spec, circuit, with_consumer=with_consumer)
    node_options.setdefault("prover", LocalProver())
    return FeedNode(spec, circuit, store=store, w3=w3, deployment=deployment, proofs_dir=proofs_dir, **node_options)
