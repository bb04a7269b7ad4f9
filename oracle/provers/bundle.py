"""Circuit bundles: what a remote prover needs to prove, addressed by the hash of its content.

A bundle is the compiled circuit, the proving key and the SRS. Its digest hashes
those bytes (not the build inputs that name a build folder), so a prover that
receives a bundle from anyone can check it is the circuit it was asked about.
Nothing in a bundle is secret: the node still verifies every proof against its own
verifying key.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverError
from oracle.provers.local import ProvingMaterial

COMPILED, PROVING_KEY, SRS = "network.ezkl", "pk.key", "kzg.srs"
BUNDLE_FILES = (COMPILED, PROVING_KEY, SRS)
_DIGEST_HEADER = b"zkoracle-bundle/1\n"
_CHUNK = 1 << 20


def bundle_files(circuit: CircuitArtifacts) -> dict[str, Path]:
    return {COMPILED: circuit.compiled, PROVING_KEY: circuit.pk, SRS: circuit.srs}


def bundle_digest(files: Mapping[str, Path]) -> str:
    """sha256 over each file's name and sha256, in a fixed order."""
    if sorted(files) != sorted(BUNDLE_FILES):
        raise ProverError(f"a circuit bundle holds exactly {', '.join(BUNDLE_FILES)}; got {', '.join(sorted(files))}")
    digest = hashlib.sha256(_DIGEST_HEADER)
    for name in BUNDLE_FILES:
        digest.update(f"{name} {_file_sha256(files[name])}\n".encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def material_in(root: Path, digest: str) -> ProvingMaterial:
    return ProvingMaterial(compiled=root / COMPILED, pk=root / PROVING_KEY, srs=root / SRS, label=f"bundle {digest}")


class NodeBundles:
    """The node's side: each circuit's digest (hashed once) and its archive for uploads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digests: dict[Path, str] = {}
        self._archive: tuple[str, bytes] | None = None  # the last one: every prover of a round asks for the same

    def digest(self, circuit: CircuitArtifacts) -> str:
        with self._lock:
            if circuit.root not in self._digests:
                self._digests[circuit.root] = bundle_digest(bundle_files(circuit))
            return self._digests[circuit.root]

    def archive(self, circuit: CircuitArtifacts) -> bytes:
        """An uncompressed tar of the bundle (proving keys do not compress)."""
        digest = self.digest(circuit)
        with self._lock:
            if self._archive is None or self._archive[0] != digest:
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w") as tar:
                    for name, path in bundle_files(circuit).items():
                        tar.add(path, arcname=name, recursive=False)
                self._archive = (digest, buffer.getvalue())
            return self._archive[1]


class BundleCache:
    """The prover's side: bundles checked against their digest on arrival, kept under ``root/<digest>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._checked: set[str] = set()

    def digests(self) -> list[str]:
        return sorted(path.name for path in self.root.iterdir() if path.is_dir() and _is_digest(path.name))

    def get(self, digest: str) -> ProvingMaterial | None:
        """The cached bundle, re-hashed once per process (a disk can rot); None when absent."""
        _require_digest(digest)
        folder = self.root / digest
        if not folder.is_dir():
            return None
        with self._lock:
            if digest not in self._checked:
                actual = bundle_digest({name: folder / name for name in BUNDLE_FILES})
                if actual != digest:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise ProverError(f"cached bundle {digest} hashes to {actual}; it was removed, send it again")
                self._checked.add(digest)
        return material_in(folder, digest)

    def install(self, digest: str, archive: BinaryIO) -> ProvingMaterial:
        """Unpack a tar of the bundle, keep it only when its content hashes to ``digest``."""
        _require_digest(digest)
        partial = Path(tempfile.mkdtemp(prefix=f".{digest}.partial-", dir=self.root))
        try:
            _unpack(archive, partial)
            actual = bundle_digest({name: partial / name for name in BUNDLE_FILES})
            if actual != digest:
                raise ProverError(f"the bundle sent as {digest} hashes to {actual}; refusing it")
            with self._lock:
                try:
                    partial.rename(self.root / digest)
                except OSError:  # a concurrent upload of the same bundle got there first
                    shutil.rmtree(partial, ignore_errors=True)
                self._checked.add(digest)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return material_in(self.root / digest, digest)


def _unpack(archive: BinaryIO, into: Path) -> None:
    """Only the bundle's regular files, by their exact names: no paths, links or extras."""
    try:
        with tarfile.open(fileobj=archive, mode="r|") as tar:
            for member in tar:
                if member.name not in BUNDLE_FILES or not member.isfile():
                    raise ProverError(f"a circuit bundle may only hold {', '.join(BUNDLE_FILES)}; got {member.name!r}")
                source = tar.extractfile(member)
                if source is None:
                    raise ProverError(f"the circuit bundle's {member.name} has no content")
                with (into / member.name).open("wb") as target:
                    shutil.copyfileobj(source, target, _CHUNK)
    except tarfile.TarError as exc:
        raise ProverError(f"the circuit bundle is not a readable tar archive: {exc}") from exc
    missing = [name for name in BUNDLE_FILES if not (into / name).is_file()]
    if missing:
        raise ProverError(f"the circuit bundle lacks {', '.join(missing)}")


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _require_digest(digest: str) -> None:
    if not _is_digest(digest):
        raise ProverError(f"{digest!r} is not a bundle digest (64 lowercase hex characters)")
