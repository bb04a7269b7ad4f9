"""A built circuit: its content-addressed folder and the manifest describing it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oracle.circuits.intake import ModelIntake
from oracle.exceptions import CircuitError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CircuitManifest:
    key: str
    ezkl_version: str
    logrows: int
    input_visibility: str
    output_visibility: str
    input_scales: list[int]
    output_scales: list[int]
    input_shapes: list[list[int]]  # the model's input tensors, whatever their visibility
    output_shapes: list[list[int]]
    srs_file: str
    dev_srs: bool
    model_commitment: str
    quantization_error: float
    timings: dict[str, float]
    verifier_deployed_size: int
    # Per model input (flattened): the calibration samples' least and greatest value, the
    # range the circuit's scales and error bound were measured on.
    sample_lows: list[float]
    sample_highs: list[float]
    # How model.onnx was prepared from the operator's file; None when it is that file, byte for byte.
    intake: ModelIntake | None = None
    # Samples kept out of calibration, and per output value (flat) the largest |circuit − onnxruntime| on them.
    held_out_samples: int = 0
    held_out_errors: list[float] = field(default_factory=list)
    # "dedicated": the generated verifier deploys as is. "reusable": it is over EIP-170, so the
    # circuit is checked by EZKL's reusable verifier with its verifying-key artifact (VKA).
    verifier_kind: str = "dedicated"
    vka_words: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CircuitManifest:
        intake = data.get("intake")
        return cls(**{**data, "intake": None if intake is None else ModelIntake(**intake)})

    @property
    def input_size(self) -> int:
        """How many values the model takes."""
        return sum(_numel(shape) for shape in self.input_shapes)

    @property
    def input_instances(self) -> int:
        return _instances(self.input_visibility, self.input_shapes)

    @property
    def output_instances(self) -> int:
        return _instances(self.output_visibility, self.output_shapes)

    @property
    def instance_count(self) -> int:
        """Public instances per proof: inputs first, then outputs (EZKL's order)."""
        return self.input_instances + self.output_instances

    def answer_index(self, output: int) -> int:
        """Position among the instances of model output element ``output`` (flat, over all output tensors)."""
        if self.output_visibility != "public":
            raise CircuitError(f"circuit {self.key}: outputs are {self.output_visibility}, so no instance is an answer")
        return self.input_instances + output

    def answer_scale(self, output: int) -> int:
        """The fixed-point scale of model output element ``output``: its tensor's."""
        return answer_scale(self.output_shapes, self.output_scales, output)

    @property
    def output_scale(self) -> int:
        return self.output_scales[0]


def answer_scale(shapes: Sequence[Sequence[int]], scales: Sequence[int], output: int) -> int:
    """The scale of the output tensor holding flat output element ``output``."""
    end = 0
    for shape, scale in zip(shapes, scales, strict=True):
        end += _numel(list(shape))
        if output < end:
            return scale
    raise CircuitError(f"the circuit has {end} output values, not {output + 1}")


def sample_bounds(samples: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    """Per input: the samples' least and greatest value."""
    columns = list(zip(*samples, strict=True))
    return [min(column) for column in columns], [max(column) for column in columns]


def _instances(visibility: str, shapes: list[list[int]]) -> int:
    """Public values are one instance each; a committed (polycommit) tensor is in the proof, not an instance."""
    return sum(_numel(shape) for shape in shapes) if visibility == "public" else 0


def _numel(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


@dataclass(frozen=True)
class CircuitFiles:
    """Where each artifact lives inside one circuit's build folder."""

    root: Path

    @property
    def model(self) -> Path:
        return self.root / "model.onnx"

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def compiled(self) -> Path:
        return self.root / "network.ezkl"

    @property
    def vk(self) -> Path:
        return self.root / "vk.key"

    @property
    def pk(self) -> Path:
        return self.root / "pk.key"

    @property
    def verifier_source(self) -> Path:
        return self.root / "Verifier.sol"

    @property
    def verifier_artifact(self) -> Path:
        return self.root / "verifier.json"

    @property
    def reusable_verifier_artifact(self) -> Path:
        return self.root / "reusable-verifier.json"

    @property
    def vka(self) -> Path:
        return self.root / "vka.json"

    def verifier_abi_and_bytecode(self) -> tuple[list[dict[str, Any]], str]:
        return _abi_and_bytecode(self.verifier_artifact)

    def reusable_verifier_abi_and_bytecode(self) -> tuple[list[dict[str, Any]], str]:
        return _abi_and_bytecode(self.reusable_verifier_artifact)

    def vka_words(self) -> list[bytes]:
        """The verifying-key artifact, word by word, as the reusable verifier takes it."""
        return [bytes.fromhex(word.removeprefix("0x")) for word in json.loads(self.vka.read_text())["words"]]


def _abi_and_bytecode(path: Path) -> tuple[list[dict[str, Any]], str]:
    data = json.loads(path.read_text())
    return data["abi"], data["bytecode"]


@dataclass(frozen=True)
class CircuitArtifacts(CircuitFiles):
    """A finished build: its files plus the manifest describing them."""

    manifest: CircuitManifest

    @property
    def srs(self) -> Path:
        return Path(self.manifest.srs_file)

    @classmethod
    def load(cls, root: Path) -> CircuitArtifacts:
        data = json.loads((root / MANIFEST).read_text())
        return cls(root=root, manifest=CircuitManifest.from_json(data))

    def write_manifest(self) -> None:
        (self.root / MANIFEST).write_text(json.dumps(asdict(self.manifest), indent=2, sort_keys=True))


def model_commitment(*, onnx_bytes: bytes, settings_bytes: bytes, vk_bytes: bytes) -> str:
    """Digest binding the model, its circuit settings and verifying key (what ZkOracle stores)."""
    digest = hashlib.sha256()
    for part in (onnx_bytes, settings_bytes, vk_bytes):
        digest.update(hashlib.sha256(part).digest())
    return "0x" + digest.hexdigest()
