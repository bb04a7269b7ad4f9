"""Circuit bundles are addressed by their content: the digest is checked on arrival and on first use."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverError
from oracle.provers.bundle import BUNDLE_FILES, BundleCache, NodeBundles, bundle_digest, bundle_files


def _files(folder: Path, **contents: bytes) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, default in zip(BUNDLE_FILES, (b"circuit", b"proving key", b"srs"), strict=True):
        path = folder / name
        path.write_bytes(contents.get(name.split(".")[0], default))
        paths[name] = path
    return paths


def _tar(files: dict[str, Path]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)
    buffer.seek(0)
    return buffer


def test_digest_covers_every_byte_of_every_file(tmp_path: Path) -> None:
    original = bundle_digest(_files(tmp_path / "a"))
    assert bundle_digest(_files(tmp_path / "b")) == original
    assert bundle_digest(_files(tmp_path / "c", pk=b"proving kez")) != original
    assert bundle_digest(_files(tmp_path / "d", kzg=b"SRS")) != original


def test_install_keeps_a_bundle_only_when_it_hashes_to_its_digest(tmp_path: Path) -> None:
    files = _files(tmp_path / "source")
    digest = bundle_digest(files)
    cache = BundleCache(tmp_path / "cache")

    with pytest.raises(ProverError, match="hashes to"):
        cache.install("0" * 64, _tar(files))
    assert cache.digests() == [] and cache.get("0" * 64) is None

    material = cache.install(digest, _tar(files))
    assert cache.digests() == [digest]
    assert material.pk.read_bytes() == b"proving key" and material.pk.parent == tmp_path / "cache" / digest


def test_a_cached_bundle_that_rotted_on_disk_is_dropped(tmp_path: Path) -> None:
    files = _files(tmp_path / "source")
    digest = bundle_digest(files)
    BundleCache(tmp_path / "cache").install(digest, _tar(files))
    (tmp_path / "cache" / digest / "pk.key").write_bytes(b"bit rot")

    restarted = BundleCache(tmp_path / "cache")  # a new process re-hashes what it finds
    with pytest.raises(ProverError, match="removed, send it again"):
        restarted.get(digest)
    assert restarted.get(digest) is None


def test_node_bundle_digest_and_archive_describe_the_built_circuit(
    demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    bundles = NodeBundles()
    digest = bundles.digest(demo_circuit)
    assert digest == bundle_digest(bundle_files(demo_circuit))
    material = BundleCache(tmp_path).install(digest, io.BytesIO(bundles.archive(demo_circuit)))
    assert material.compiled.read_bytes() == demo_circuit.compiled.read_bytes()
    assert material.srs.stat().st_size == demo_circuit.srs.stat().st_size
