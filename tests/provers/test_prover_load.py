"""Under load, with a prover killed mid-proof: every round lands once, busy answers go elsewhere, memory stays bounded.

Three ``zkoracle run`` nodes with two feeds each against two ``zkoracle prover serve``
(one worker, no queue: a second job at the same time is answered 429), all real
processes on loopback against the session's Anvil; prover ``a`` is SIGKILLed while it
runs a proof and restarted on its port with its cache. The same run, longer, is
``python -m bench.prover_load``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.prover_load import NODE_MEMORY_BOUND_MIB, PROVER_MEMORY_BOUND_MIB, VICTIM, LoadShape, run_load
from oracle.evm.anvil import AnvilNode

# With no queue at the provers, which waiting round gets a freed worker is chance, so a round's wait has a
# long tail (in a 20-round bench run one waited past 240 s and was proven locally): this run's rounds must
# not hang on that chance, so their network timeout outlasts the whole proving phase here.
SHAPE = LoadShape(nodes=3, feeds=2, rounds=2, kill=True, network_timeout=480.0)


def test_three_nodes_two_provers_one_killed_mid_proof_every_round_lands_once_within_memory(
    anvil: AnvilNode, tmp_path: Path
) -> None:
    results = run_load(SHAPE, rpc_url=anvil.rpc_url, workdir=tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(results, indent=2))  # with the services' logs, for a failure
    nodes, provers, kill = results["nodes"], results["provers"], results["kill"]

    # Every round a node observed to post landed, once: the chain's counter is the store's landed rounds.
    for name, node in nodes.items():
        assert node["exit_code"] == 0, name
        assert sum(feed["landed"] for feed in node["feeds"].values()) >= SHAPE.rounds, name
        for feed_id, feed in node["feeds"].items():
            assert feed["rounds"] >= 1 and feed["status"] == {"landed": feed["rounds"]}, (feed_id, feed["failures"])
            assert feed["onchain_round_numbers"] == list(range(1, feed["on_chain"] + 1)), feed_id
            assert feed["on_chain"] == feed["landed"] == feed["distinct_tx"], feed_id

    # Two single-worker provers for six feeds: busy answers were sent, and every round was still proven
    # by a prover, the other one or the same one once it had room: none fell back to local proving.
    assert sum(prover["busy_answers"] for prover in provers.values()) > 0
    proven_by = {who for node in nodes.values() for feed in node["feeds"].values() for who in feed["proven_by"]}
    assert proven_by <= {f"prover-{name}" for name in provers}, proven_by

    # The killed prover held a job; its requester counted one failure (and any request sent while it was
    # down), retried elsewhere: the round landed. It came back with the recipe it had set up, from its cache.
    assert kill["running"] == 1
    failed = sum(node["prover_records"].get(f"prover-{VICTIM}", {}).get("failed", 0) for node in nodes.values())
    assert failed >= 1
    assert kill["recipes_after_restart"] == kill["recipes_before"] != []
    for node in nodes.values():
        for record in node["prover_records"].values():
            assert record["invalid"] == 0

    for name, prover in provers.items():
        assert prover["peak_tree_rss_mib"] < PROVER_MEMORY_BOUND_MIB, name
    for name, node in nodes.items():
        assert node["peak_tree_rss_mib"] < NODE_MEMORY_BOUND_MIB, name
