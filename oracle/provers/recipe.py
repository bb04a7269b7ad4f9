"""Circuit recipes: what a remote prover needs to set a circuit up itself, addressed by the hash of its content.

EZKL's setup is deterministic: from the compiled circuit and the SRS, a prover derives
byte for byte the proving and verifying keys of the node's build. So the node ships
the compiled circuit (kilobytes) and names the SRS and the verifying key by their
sha256, instead of a proving key of hundreds of megabytes. A prover derives the keys
once, keeps them only when its verifying key hashes to the one named, and caches them
under the recipe's digest; the SRS is content-addressed and sent once per prover.
Nothing in a recipe is secret: the node still verifies every proof against its own key.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO

import ezkl

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.ezkl_failures import is_ezkl_failure
from oracle.exceptions import ProverError, RecipeMismatchError
from oracle.provers.local import ProvingMaterial
from oracle.provers.pool import run_isolated
from oracle.provers.wire import Recipe

COMPILED, PROVING_KEY, VERIFYING_KEY, RECIPE, KEYS = "network.ezkl", "pk.key", "vk.key", "recipe.json", "keys.json"
_DIGEST_HEADER = b"zkoracle-recipe/1\n"
_CHUNK = 1 << 20


def recipe_digest(recipe: Recipe) -> str:
    """sha256 over the compiled circuit's sha256 and the SRS and verifying key it names."""
    digest = hashlib.sha256(_DIGEST_HEADER)
    digest.update(f"{COMPILED} {hashlib.sha256(recipe.compiled).hexdigest()}\n".encode())
    digest.update(f"srs {recipe.srs}\nvk {recipe.vk}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class NodeRecipes:
    """The node's side: each circuit's recipe and digest, and its SRS's hash (each hashed once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recipes: dict[Path, tuple[str, Recipe]] = {}

    def recipe(self, circuit: CircuitArtifacts) -> tuple[str, Recipe]:
        """The circuit's recipe and its digest."""
        with self._lock:
            if circuit.root not in self._recipes:
                recipe = Recipe(
                    compiled=circuit.compiled.read_bytes(), srs=file_sha256(circuit.srs), vk=file_sha256(circuit.vk)
                )
                self._recipes[circuit.root] = (recipe_digest(recipe), recipe)
            return self._recipes[circuit.root]

    def digest(self, circuit: CircuitArtifacts) -> str:
        return self.recipe(circuit)[0]


def derive_keys(compiled: Path, srs: Path, into: Path) -> None:
    """EZKL's setup: the circuit's proving and verifying keys, written into ``into``."""
    try:
        ezkl.setup(
            model=str(compiled), vk_path=str(into / VERIFYING_KEY), pk_path=str(into / PROVING_KEY), srs_path=str(srs)
        )
    except BaseException as exc:
        if not is_ezkl_failure(exc):
            raise
        raise ProverError(f"the key setup of circuit {compiled} failed: {exc}") from exc


class RecipeCache:
    """The prover's side: recipes under ``root/recipes/<digest>`` with the keys derived from them, SRS files
    under ``root/srs/<sha256>``, each checked against its digest on arrival."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._recipes, self._srs = root / "recipes", root / "srs"
        for folder in (self._recipes, self._srs):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._checked: set[str] = set()  # recipes whose keys were re-hashed by this process
        self._refused: dict[str, RecipeMismatchError] = {}

    def digests(self) -> list[str]:
        return sorted(path.name for path in self._recipes.iterdir() if (path / RECIPE).is_file())

    def srs_held(self) -> list[str]:
        return sorted(path.name for path in self._srs.iterdir() if _is_digest(path.name))

    def refusal(self, digest: str) -> RecipeMismatchError | None:
        """Why the recipe was refused, when its setup yielded another verifying key than it names."""
        return self._refused.get(digest)

    def recipe(self, digest: str) -> Recipe | None:
        _require_digest(digest)
        path = self._recipes / digest / RECIPE
        return Recipe.model_validate_json(path.read_bytes()) if path.is_file() else None

    def srs(self, sha256: str) -> Path | None:
        path = self._srs / sha256
        return path if path.is_file() else None

    def install(self, digest: str, recipe: Recipe) -> str | None:
        """Keep ``recipe`` when it hashes to ``digest``; the hash of its SRS when that is still to be sent."""
        _require_digest(digest)
        actual = recipe_digest(recipe)
        if actual != digest:
            raise ProverError(f"the recipe sent as {digest} hashes to {actual}; refusing it")
        if self.recipe(digest) is None:
            partial = Path(tempfile.mkdtemp(prefix=f".{digest}.partial-", dir=self._recipes))
            (partial / COMPILED).write_bytes(recipe.compiled)
            (partial / RECIPE).write_text(recipe.model_dump_json())
            try:
                partial.rename(self._recipes / digest)
            except OSError:  # a concurrent upload of the same recipe got there first
                shutil.rmtree(partial, ignore_errors=True)
        return None if self.srs(recipe.srs) else recipe.srs

    def install_srs(self, sha256: str, source: BinaryIO) -> None:
        """Copy an SRS to disk, hashing it on the way; keep it only when it hashes to ``sha256``."""
        _require_digest(sha256)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(prefix=f".{sha256}.partial-", dir=self._srs, delete=False) as target:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                target.write(chunk)
        partial = Path(target.name)
        if digest.hexdigest() != sha256:
            partial.unlink()
            raise ProverError(f"the SRS sent as {sha256} hashes to {digest.hexdigest()}; refusing it")
        partial.rename(self._srs / sha256)

    def material(self, digest: str) -> ProvingMaterial | None:
        """The recipe's keys, derived on first use; None while the recipe or its SRS is not held.

        Raises :class:`RecipeMismatchError` when the setup yields another verifying key than
        the recipe names. Callers serialise calls per digest: a setup runs once.
        """
        if (refusal := self.refusal(digest)) is not None:
            raise refusal
        recipe = self.recipe(digest)
        if recipe is None:
            return None
        srs = self.srs(recipe.srs)
        if srs is None:
            return None
        folder = self._recipes / digest
        if not self._keys_intact(digest, folder, recipe):
            self._derive(digest, folder, recipe, srs)
        return ProvingMaterial(compiled=folder / COMPILED, pk=folder / PROVING_KEY, srs=srs, label=f"recipe {digest}")

    def _keys_intact(self, digest: str, folder: Path, recipe: Recipe) -> bool:
        """Keys derived earlier (maybe by an earlier process) and, re-hashed once per process, unchanged."""
        if not (folder / KEYS).is_file():
            return False
        with self._lock:
            if digest in self._checked:
                return True
        kept = json.loads((folder / KEYS).read_text())
        if (kept["pk"], kept["vk"]) != (file_sha256(folder / PROVING_KEY), recipe.vk):  # a disk can rot
            (folder / KEYS).unlink()
            return False
        with self._lock:
            self._checked.add(digest)
        return True

    def _derive(self, digest: str, folder: Path, recipe: Recipe, srs: Path) -> None:
        partial = Path(tempfile.mkdtemp(prefix=".keys-", dir=folder))
        try:
            started = time.perf_counter()
            run_isolated(derive_keys, folder / COMPILED, srs, partial, what=f"the key setup of recipe {digest}")
            seconds = round(time.perf_counter() - started, 3)
            derived = file_sha256(partial / VERIFYING_KEY)
            if derived != recipe.vk:
                refusal = RecipeMismatchError(digest, expected_vk=recipe.vk, derived_vk=derived)
                self._refused[digest] = refusal
                shutil.rmtree(folder, ignore_errors=True)
                raise refusal
            for name in (PROVING_KEY, VERIFYING_KEY):
                (partial / name).replace(folder / name)
            # Written last: its presence says the keys beside it are whole.
            (folder / KEYS).write_text(
                json.dumps({"pk": file_sha256(folder / PROVING_KEY), "vk": derived, "setup_seconds": seconds})
            )
            with self._lock:
                self._checked.add(digest)
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _require_digest(digest: str) -> None:
    if not _is_digest(digest):
        raise ProverError(f"{digest!r} is not a sha256 digest (64 lowercase hex characters)")
