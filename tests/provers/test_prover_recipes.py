"""Ship the recipe, not the key: a prover derives a circuit's keys itself and keeps them only when they are the feed's.

The node sends a new prover the compiled circuit, the SRS's hash and the verifying key's
hash (kilobytes), plus the SRS once; the prover sets the circuit up (EZKL's setup is
deterministic), checks its verifying key against the hash, and caches the keys.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bittensor.keyfiles import Keypair
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.exceptions import ProverError, RemoteProverError
from oracle.feeds.schema import FeedSpec, TriggerSpec
from oracle.node import FeedNode
from oracle.provers import Proof
from oracle.provers.discovery import StaticDiscovery
from oracle.provers.dispatch import NetworkProver
from oracle.provers.factory import PipelineAcceptance
from oracle.provers.recipe import KEYS, NodeRecipes, RecipeCache, file_sha256, recipe_digest
from oracle.provers.remote import RemoteProver
from oracle.provers.scoring import Scoreboard
from oracle.provers.wire import SRS, Recipe
from oracle.store import RoundStatus, Store
from tests.provers.conftest import SERVE, ProverLauncher, ProverProcess

MEGABYTE = 1_000_000


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    bytes: int  # request line, headers and body, as the node put them on the wire


def _counting_client(sent: list[Sent]) -> httpx.AsyncClient:
    async def count(request: httpx.Request) -> None:
        head = (
            len(request.method) + len(request.url.raw_path) + sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
        )
        # Uploads are streamed: their bodies are not in memory to measure, but their length is declared.
        sent.append(Sent(request.method, request.url.path, head + int(request.headers.get("content-length", 0))))

    return httpx.AsyncClient(timeout=300.0, event_hooks={"request": [count]})


def _prove(
    prover: ProverProcess,
    signer: Keypair,
    recipes: NodeRecipes,
    circuit: CircuitArtifacts,
    inputs: Sequence[float],
    *,
    sent: list[Sent] | None = None,
) -> tuple[Proof, list[Sent]]:
    """The prover's proof and what was sent for it (also into ``sent``, which keeps it when proving fails)."""
    sent = [] if sent is None else sent

    async def once() -> Proof:
        async with _counting_client(sent) as client:
            return await RemoteProver(prover.endpoint, signer=signer, recipes=recipes).aprove(client, circuit, inputs)

    return asyncio.run(once()), sent


def _keys_folder(prover: ProverProcess, digest: str) -> Path:
    """Where ``launcher`` put the prover's cache (``--cache-dir <workdir>/<name>/recipes``)."""
    return prover.log.parent / prover.log.stem / "recipes" / "recipes" / digest


@pytest.fixture(scope="module")
def fresh(launcher: ProverLauncher, node_signer: Keypair) -> ProverProcess:
    (prover,) = launcher.start(("fresh", [*SERVE, "--allow", node_signer.ss58_address]))
    return prover


def test_recipe_digest_covers_the_circuit_and_the_srs_and_vk_it_names() -> None:
    recipe = Recipe(compiled=b"circuit", srs="01" * 32, vk="02" * 32)
    others = [
        recipe.model_copy(update={"compiled": b"circuiu"}),
        recipe.model_copy(update={"srs": "03" * 32}),
        recipe.model_copy(update={"vk": "03" * 32}),
    ]
    assert len({recipe_digest(r) for r in [recipe, *others]}) == 4
    assert Recipe.model_validate_json(recipe.model_dump_json()) == recipe  # compiled bytes travel as base64


def test_a_prover_cache_keeps_recipe_and_srs_only_when_they_hash_to_their_names(tmp_path: Path) -> None:
    cache = RecipeCache(tmp_path)
    recipe = Recipe(compiled=b"circuit", srs=hashlib.sha256(b"srs").hexdigest(), vk="02" * 32)
    with pytest.raises(ProverError, match="hashes to"):
        cache.install("0" * 64, recipe)
    assert cache.install(recipe_digest(recipe), recipe) == recipe.srs  # the SRS is still to be sent
    with pytest.raises(ProverError, match="hashes to"):
        cache.install_srs(recipe.srs, io.BytesIO(b"not the srs"))
    assert cache.srs_held() == [] and cache.material(recipe_digest(recipe)) is None
    cache.install_srs(recipe.srs, io.BytesIO(b"srs"))
    assert cache.srs_held() == [recipe.srs] and cache.install(recipe_digest(recipe), recipe) is None


def test_derived_keys_are_the_builds_and_a_restarted_prover_does_not_derive_them_again(
    demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    digest, recipe = NodeRecipes().recipe(demo_circuit)
    cache = RecipeCache(tmp_path)
    cache.install(digest, recipe)
    with demo_circuit.srs.open("rb") as srs:
        cache.install_srs(recipe.srs, srs)

    material = cache.material(digest)

    assert material is not None
    assert file_sha256(material.pk) == file_sha256(demo_circuit.pk)  # EZKL's setup is deterministic
    kept = json.loads((material.pk.parent / KEYS).read_text())
    print(f"key setup of the demo circuit: {kept['setup_seconds']:.1f}s")
    derived_at = material.pk.stat().st_mtime_ns

    again = RecipeCache(tmp_path).material(digest)  # a new process: re-hashes the keys, derives nothing
    assert again == material and again.pk.stat().st_mtime_ns == derived_at

    material.pk.write_bytes(b"bit rot")
    healed = RecipeCache(tmp_path).material(digest)
    assert healed is not None and file_sha256(healed.pk) == file_sha256(demo_circuit.pk)


def test_a_new_prover_is_sent_under_a_megabyte_besides_the_srs_and_its_proofs_land_on_chain(
    fresh: ProverProcess,
    node_signer: Keypair,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    tmp_path: Path,
) -> None:
    recipes = NodeRecipes()
    digest, recipe = recipes.recipe(demo_circuit)
    inputs = demo_spec.model_samples()[3]

    proof, sent = _prove(fresh, node_signer, recipes, demo_circuit, inputs)

    PipelineAcceptance(demo_spec)(demo_circuit, proof, inputs)
    srs_uploads = [s for s in sent if s.path.startswith(SRS + "/")]
    besides_srs = sum(s.bytes for s in sent if s not in srs_uploads)
    print(
        f"sent to a new prover before its first proof: {besides_srs} bytes besides the SRS "
        f"({demo_circuit.srs.stat().st_size} bytes), in {[(s.method, s.path) for s in sent]}"
    )
    assert besides_srs < MEGABYTE
    assert [(s.method, s.path) for s in srs_uploads] == [("PUT", f"{SRS}/{recipe.srs}")]
    kept = json.loads((_keys_folder(fresh, digest) / KEYS).read_text())
    print(f"the prover's key setup took {kept['setup_seconds']:.1f}s")
    # Its second proof needs nothing sent but the request.
    _, sent = _prove(fresh, node_signer, recipes, demo_circuit, demo_spec.model_samples()[4])
    assert [s.method for s in sent] == ["POST"]

    # The feed's node, asking only this prover, lands a round: the deployed verifier accepts its proof.
    spec = demo_spec.model_copy(update={"trigger": TriggerSpec()})
    store = Store.sqlite(tmp_path / "node.db")
    network = NetworkProver(
        discovery=StaticDiscovery([fresh.endpoint]),
        scoreboard=Scoreboard(store),
        signer=node_signer,
        accept=PipelineAcceptance(spec),
        fallback=_NoFallback(),
        redundancy=1,
        timeout=120.0,
    )
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(demo_circuit))
    node = FeedNode(spec, FeedCircuit.whole(demo_circuit), store=store, w3=w3, deployment=deployment, prover=network, proofs_dir=tmp_path)
    report = node.tick()
    assert report.round.status is RoundStatus.LANDED, report.round.failure_reason
    assert report.round.prover == fresh.hotkey


class _NoFallback:
    name = "no-fallback"

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        raise ProverError("the prover delivered no acceptable proof, and this test forbids local proving")


def test_a_restarted_prover_with_its_cache_is_sent_nothing_and_derives_nothing(
    fresh: ProverProcess,
    launcher: ProverLauncher,
    node_signer: Keypair,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
) -> None:
    recipes = NodeRecipes()
    digest = recipes.digest(demo_circuit)
    _prove(fresh, node_signer, recipes, demo_circuit, demo_spec.model_samples()[5])  # holds the keys by now
    keys = _keys_folder(fresh, digest)
    restarted_cache = fresh.log.parent / "fresh-restarted" / "recipes"
    shutil.copytree(keys.parent.parent, restarted_cache)  # its disk, as it was when it stopped
    (restarted,) = launcher.start(("fresh-restarted", [*SERVE, "--allow", node_signer.ss58_address]))
    derived_at = (restarted_cache / "recipes" / digest / "pk.key").stat().st_mtime_ns

    proof, sent = _prove(restarted, node_signer, recipes, demo_circuit, demo_spec.model_samples()[6])

    assert [s.method for s in sent] == ["POST"]
    PipelineAcceptance(demo_spec)(demo_circuit, proof, demo_spec.model_samples()[6])
    assert (restarted_cache / "recipes" / digest / "pk.key").stat().st_mtime_ns == derived_at


class ForgedRecipes(NodeRecipes):
    """An attacker's node: the feed's compiled circuit and SRS, but a verifying key of its choosing."""

    def recipe(self, circuit: CircuitArtifacts) -> tuple[str, Recipe]:
        _, honest = super().recipe(circuit)
        forged = honest.model_copy(update={"vk": hashlib.sha256(b"the attacker's verifying key").hexdigest()})
        return recipe_digest(forged), forged


def test_attack_a_recipe_naming_a_verifying_key_its_circuit_does_not_set_up_to_is_refused(
    fresh: ProverProcess, node_signer: Keypair, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    """Whoever sends a recipe (a node, an artifact mirror) cannot make a prover take its circuit for another.

    The recipe's digest is honest (it covers the forged hash), so only the setup can tell:
    the prover derives the keys, finds a verifying key other than the one named, keeps
    nothing, and says so in a signed refusal, at once for every later request.
    """
    forged = ForgedRecipes()
    digest, recipe = forged.recipe(demo_circuit)
    inputs = demo_spec.model_samples()[0]

    sent: list[list[Sent]] = [[], []]
    for attempt in sent:
        with pytest.raises(RemoteProverError, match=f"refused recipe {digest}") as refused:
            _prove(fresh, node_signer, forged, demo_circuit, inputs, sent=attempt)
        assert recipe.vk in str(refused.value) and file_sha256(demo_circuit.vk) in str(refused.value)

    # The second refusal comes from memory: the recipe is not asked for again, nor set up again.
    assert [s.method for s in sent[1]] == ["POST"]

    assert not _keys_folder(fresh, digest).exists()
