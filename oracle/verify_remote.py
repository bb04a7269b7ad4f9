"""Re-verifying a round from nothing but the read API's answers.

Everything is fetched over HTTP from the API: the round (proof, instances, answer,
registration) and, by content hash, the ONNX model, circuit settings, verifying key and
SRS. Nothing is read from this machine's store or build folder, so a round checks out
here only if the API's own answers are consistent with a valid proof.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import ezkl
import httpx

from oracle.circuits.artifacts import model_commitment
from oracle.circuits.ezkl_failures import is_ezkl_failure
from oracle.circuits.quantize import answer_from_felt, felt_to_float, felt_to_uint
from oracle.exceptions import ApiError, VerificationError

DEFAULT_API = "http://127.0.0.1:8000"
ARTIFACTS = ("model", "settings", "vk", "srs")


@dataclass(frozen=True)
class VerifiedRound:
    url: str
    round_id: int
    feed_id: str
    status: str
    answer: int
    decimals: int
    registration_source: str
    checks: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return self.answer / 10**self.decimals


def round_url(reference: str, *, api: str = DEFAULT_API) -> str:
    """A round id (resolved against ``api``) or a round's full URL."""
    if reference.isdigit():
        return f"{api.rstrip('/')}/api/rounds/{reference}"
    if reference.startswith(("http://", "https://")):
        return reference
    raise ApiError(f"'{reference}' is neither a round id nor an http(s) URL of a round")


def verify_round(reference: str, *, api: str = DEFAULT_API, timeout: float = 60.0) -> VerifiedRound:
    """Fetch round ``reference`` and its artifacts from the API and check them; raise on any mismatch."""
    url = round_url(reference, api=api)
    try:
        with httpx.Client(timeout=timeout) as client:
            evidence = _get(client, url).json()
            refs = evidence.get("artifacts") or {}
            files = {name: _artifact(client, url, name, refs.get(name)) for name in ARTIFACTS}
        return check_evidence(evidence, files, url=url)
    except (KeyError, TypeError, ValueError) as exc:  # a field missing, mistyped or not hex: not a round we can check
        raise VerificationError(f"{url} is not a well-formed round: {type(exc).__name__} {exc}") from exc


def _get(client: httpx.Client, url: str) -> httpx.Response:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the API at {url}: {exc}") from exc
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ApiError(f"{url} answered {response.status_code}: {detail}")
    return response


def _artifact(client: httpx.Client, base: str, name: str, ref: dict[str, Any] | None) -> bytes:
    if not ref:
        raise VerificationError(f"the round names no {name} artifact")
    data = _get(client, urljoin(base, ref["url"])).content
    digest = hashlib.sha256(data).hexdigest()
    if digest != ref["sha256"]:
        raise VerificationError(f"the {name} served has SHA-256 {digest}, the round names {ref['sha256']}")
    return data


def check_evidence(evidence: dict[str, Any], files: dict[str, bytes], *, url: str) -> VerifiedRound:
    """Every offline check of one round, given the API's answer and the artifacts' bytes (hashes checked)."""
    round_id, status = evidence["id"], evidence["status"]
    proof = evidence.get("proof")
    if not proof:
        raise VerificationError(f"round {round_id} has no proof (status {status}: {evidence.get('failure_reason')})")
    checks: list[str] = []
    document = proof["document"]
    felts = [felt for group in document["instances"] for felt in group]
    _check_proof_bytes(evidence, proof, document)
    checks.append(f"proof bytes hash to the stored digest {proof['digest'][:18]}…")
    if [str(felt_to_uint(felt)) for felt in felts] != proof["instances"]:
        raise VerificationError(f"round {round_id}: the listed instances differ from the proof document's")

    commitment = model_commitment(onnx_bytes=files["model"], settings_bytes=files["settings"], vk_bytes=files["vk"])
    registration = evidence.get("registration")
    if registration is None:
        raise VerificationError(f"round {round_id}: the API gave no feed registration, so the answer cannot be checked")
    claimed = {
        "circuit": evidence["circuit"]["model_commitment"],
        "deployment": evidence["deployment"]["model_commitment"],
        f"registration ({registration['source']})": registration["model_commitment"],
    }
    for where, value in claimed.items():
        if value.lower() != commitment:
            raise VerificationError(
                f"round {round_id}: model commitment of the served model, settings and vk is {commitment}, "
                f"the {where} says {value}"
            )
    checks.append(f"model commitment {commitment[:18]}… = sha256(onnx ‖ settings ‖ vk) as registered")

    _ezkl_verify(round_id, document, files)
    checks.append(f"ezkl.verify accepts the proof (logrows {evidence['artifacts']['srs']['logrows']} SRS)")

    settings = json.loads(files["settings"])
    scales = _instance_scales(settings)
    if len(felts) != len(scales) or len(felts) != registration["instance_count"]:
        raise VerificationError(
            f"round {round_id}: the proof has {len(felts)} instances, the settings {len(scales)}, "
            f"the registration {registration['instance_count']}"
        )
    _check_inputs(round_id, evidence["inputs"], felts, scales, settings)
    checks.append(f"the round's {len(evidence['inputs'])} inputs are the proof's input instances")

    index, scale, decimals = registration["output_index"], registration["output_scale"], registration["decimals"]
    if scales[index] != scale:
        raise VerificationError(
            f"round {round_id}: instance {index} has scale {scales[index]} in the settings, "
            f"the registration says {scale}"
        )
    derived = answer_from_felt(felts[index], scale=scale, decimals=decimals)
    if evidence.get("answer") is None or int(evidence["answer"]) != derived:
        raise VerificationError(
            f"round {round_id}: answer {evidence.get('answer')} is not the one instance {index} gives ({derived})"
        )
    checks.append(f"answer {derived} = instance {index} at scale {scale} with {decimals} decimals")
    return VerifiedRound(
        url=url,
        round_id=round_id,
        feed_id=evidence["feed_id"],
        status=status,
        answer=derived,
        decimals=decimals,
        registration_source=registration["source"],
        checks=checks,
    )


def _check_proof_bytes(evidence: dict[str, Any], proof: dict[str, Any], document: dict[str, Any]) -> None:
    raw = bytes.fromhex(document["hex_proof"].removeprefix("0x"))
    if "proof" in document and bytes(document["proof"]) != raw:
        raise VerificationError(f"round {evidence['id']}: the proof document's bytes and hex_proof differ")
    digest = "0x" + hashlib.sha256(raw).hexdigest()
    for where, value in (("proof", proof["digest"]), ("round", evidence.get("proof_digest"))):
        if value != digest:
            raise VerificationError(f"round {evidence['id']}: the proof hashes to {digest}, the {where} says {value}")
    if proof["hex_proof"] != document["hex_proof"]:
        raise VerificationError(f"round {evidence['id']}: hex_proof differs from the proof document's")


def _ezkl_verify(round_id: int, document: dict[str, Any], files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="zkoracle-remote-verify-") as tmp:
        paths = {name: Path(tmp) / name for name in (*ARTIFACTS, "proof.json")}
        for name in ARTIFACTS:
            paths[name].write_bytes(files[name])
        paths["proof.json"].write_text(json.dumps(document))
        try:
            valid = ezkl.verify(
                proof_path=str(paths["proof.json"]),
                settings_path=str(paths["settings"]),
                vk_path=str(paths["vk"]),
                srs_path=str(paths["srs"]),
            )
        except BaseException as exc:  # ezkl raises (or panics) on an invalid proof
            if not is_ezkl_failure(exc):
                raise
            raise VerificationError(f"round {round_id}: ezkl.verify rejects the proof: {exc}") from exc
    if not valid:
        raise VerificationError(f"round {round_id}: ezkl.verify rejects the proof")


def _instance_scales(settings: dict[str, Any]) -> list[int]:
    """The fixed-point scale of every public instance, inputs first (EZKL's order)."""
    run_args = settings["run_args"]
    if run_args["input_visibility"] != "Public" or run_args["output_visibility"] != "Public":
        raise VerificationError("only circuits with public inputs and outputs can be checked offline")
    scales = [*settings["model_input_scales"], *settings["model_output_scales"]]
    shapes = settings["model_instance_shapes"]
    return [scale for scale, shape in zip(scales, shapes, strict=True) for _ in range(math.prod(shape))]


def _check_inputs(
    round_id: int, inputs: list[float], felts: list[str], scales: list[int], settings: dict[str, Any]
) -> None:
    count = sum(math.prod(shape) for shape in settings["model_instance_shapes"][: len(settings["model_input_scales"])])
    if len(inputs) != count:
        raise VerificationError(f"round {round_id}: {len(inputs)} inputs listed, the circuit takes {count}")
    for position, (value, felt, scale) in enumerate(zip(inputs, felts, scales, strict=False)):
        proven = felt_to_float(felt, scale)
        if abs(proven - value) > 2.0**-scale:
            raise VerificationError(f"round {round_id}: input {position} is {value}, the proof's instance is {proven}")
