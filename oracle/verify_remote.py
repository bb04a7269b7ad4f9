"""Re-verifying a round from nothing but the read API's answers.

Everything is fetched over HTTP from the API: the round (proof, instances, answer,
registration) and, by content hash, the whole model and, per piece of its circuit (a whole
model's one, or every slice), the ONNX model, circuit settings, verifying key and SRS.
Nothing is read from this machine's store or build folder, so a round checks out here
only if the API's own answers are consistent with a valid proof.
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
from oracle.circuits.feed import chain_commitment
from oracle.circuits.quantize import answer_from_felt, felt_to_float, felt_to_uint
from oracle.circuits.slicing.links import CommitmentLayout, linked
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
    coverage: tuple[int, int] = (1, 1)  # (proven, total) pieces: 1/1 for a whole model

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
            whole = _artifact(client, url, "whole model", (evidence.get("circuit") or {}).get("model"))
            pieces = [_piece_files(client, url, piece) for piece in evidence["pieces"]]
            return check_evidence(evidence, whole, pieces, url=url)
    # A field missing, mistyped, out of range or not hex: not a round we can check.
    except (KeyError, TypeError, ValueError, IndexError) as exc:
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


def _piece_files(client: httpx.Client, base: str, piece: dict[str, Any]) -> dict[str, bytes]:
    """A proven piece's model, settings, vk and SRS; only the model of a slice run unproven."""
    refs = piece["artifacts"]
    names = ARTIFACTS if piece["proven"] else ("model",)
    return {name: _artifact(client, base, f"piece {piece['index']} {name}", refs.get(name)) for name in names}


@dataclass(frozen=True)
class _Layout:
    """Each public instance of a circuit's proofs, in EZKL's order, as its fixed-point scale; and which
    boundary tensors the circuit commits to inside its proofs instead (polycommit: no instance)."""

    inputs: list[int]
    outputs: list[int]
    commitments: CommitmentLayout

    @classmethod
    def of(cls, settings: dict[str, Any], *, subject: str) -> _Layout:
        run_args = settings["run_args"]
        shapes = list(settings["model_instance_shapes"])  # the public tensors' only, inputs first

        def side(visibility: str | dict[str, Any], scales: list[int]) -> list[int]:
            if visibility == "Public":
                return [scale for scale in scales for _ in range(math.prod(shapes.pop(0)))]
            if visibility == "KZGCommit":
                return []
            raise VerificationError(f"{subject}: tensors of visibility {visibility} cannot be checked offline")

        return cls(
            inputs=side(run_args["input_visibility"], settings["model_input_scales"]),
            outputs=side(run_args["output_visibility"], settings["model_output_scales"]),
            commitments=CommitmentLayout(
                input_committed=run_args["input_visibility"] == "KZGCommit",
                output_committed=run_args["output_visibility"] == "KZGCommit",
            ),
        )

    @property
    def scales(self) -> list[int]:
        return [*self.inputs, *self.outputs]


def check_evidence(
    evidence: dict[str, Any], whole: bytes, pieces: list[dict[str, bytes]], *, url: str
) -> VerifiedRound:
    """Every offline check of a round, given the API's answer, the whole model's bytes and each piece's files
    (hashes checked): each proven piece's proof, the links between them, the inputs at the first piece, the
    answers at the last, the commitment to the whole model and every piece, and the coverage."""
    round_id = evidence["id"]
    proof = _require_proof(evidence)
    registration = _require_registration(evidence)
    documents = _piece_documents(evidence, proof, pieces)
    checks: list[str] = []

    digests = [
        b"" if d is None else bytes.fromhex(_proof_digest(_subject(round_id, i, documents), d).removeprefix("0x"))
        for i, d in enumerate(documents)
    ]
    digest = "0x" + hashlib.sha256(b"".join(digests)).hexdigest()
    for where, value in (("proof", proof["digest"]), ("round", evidence.get("proof_digest"))):
        if value != digest:
            raise VerificationError(f"round {round_id}: the proofs hash to {digest}, the {where} says {value}")
    checks.append(f"each proof hashes to its digest, all of them to the stored digest {digest[:18]}…")

    commitment = _chain_commitment(round_id, whole, evidence["pieces"], pieces)
    _check_commitment(
        evidence,
        commitment,
        circuit=("circuit", evidence["circuit"]["model_commitment"]),
        served="the served model and pieces",
    )
    how = "sha256(onnx ‖ settings ‖ vk)" if len(pieces) == 1 else "sha256(onnx ‖ per slice: circuit commitment or onnx)"
    checks.append(f"model commitment {commitment[:18]}… = {how}, as registered")

    proven = [
        _proven_piece(_subject(round_id, index, documents), d, files)
        for index, (d, files) in enumerate(zip(documents, pieces, strict=True))
    ]
    logrows = ", ".join(str(p.logrows) for p in proven if p is not None)
    checks.append(f"ezkl.verify accepts the proof of each of the {sum(p is not None for p in proven)} proven pieces "
                  f"(logrows {logrows} SRS)")
    checks.extend(_check_links(round_id, proven))

    first, last = proven[0], proven[-1]
    assert first is not None and last is not None  # _piece_documents: both always proven
    if len(first.felts) != registration["instance_count"]:
        raise VerificationError(
            f"{_subject(round_id, 0, documents)}: the proof has {len(first.felts)} instances, "
            f"the registration {registration['instance_count']}"
        )
    _check_inputs(_subject(round_id, 0, documents), evidence["inputs"], first.felts, first.layout)
    checks.append(f"the round's {len(evidence['inputs'])} inputs are the first piece's input instances")
    if evidence.get("answers"):
        derived, decimals = _check_answers(evidence, registration, last.felts, last.layout, checks)
    else:
        where = f"instance {registration['output_index']}"
        if len(proven) > 1:
            where = f"slice {len(proven) - 1}'s {where}"
        derived, check = _check_answer(evidence, registration, last.felts, last.layout, where=where)
        checks.append(check)
        decimals = registration["decimals"]

    coverage = (sum(p is not None for p in proven), len(proven))
    claimed = {
        "circuit": evidence["circuit"]["coverage"],
        f"registration ({registration['source']})": registration.get("coverage"),
    }
    for where, value in claimed.items():
        if value is None or (value["proven"], value["total"]) != coverage:
            said = "nothing" if value is None else f"{value['proven']}/{value['total']}"
            raise VerificationError(
                f"round {round_id}: {coverage[0]}/{coverage[1]} pieces are proven, the {where} says {said}"
            )
    checks.append(f"coverage {coverage[0]}/{coverage[1]} pieces proven, as registered")
    return _verified(evidence, registration, derived, checks, url=url, coverage=coverage, decimals=decimals)


def _subject(round_id: int, index: int, documents: list[Any]) -> str:
    """How a message names a piece: by its slice number when the model is sliced."""
    return f"round {round_id}" if len(documents) == 1 else f"round {round_id}, slice {index}"


def _piece_documents(
    evidence: dict[str, Any], proof: dict[str, Any], pieces: list[dict[str, bytes]]
) -> list[dict[str, Any] | None]:
    """Each piece's proof, None for a slice run unproven, once the pieces, their proofs and files line up."""
    round_id, listed, documents = evidence["id"], evidence["pieces"], proof["pieces"]
    indices = [piece["index"] for piece in listed]
    if not len(listed) == len(documents) == len(pieces) or indices != list(range(len(listed))):
        raise VerificationError(
            f"round {round_id}: {len(listed)} pieces listed (indices {indices}), {len(documents)} proofs"
        )
    for index, (piece, document) in enumerate(zip(listed, documents, strict=True)):
        if piece["proven"] != (document is not None):
            raise VerificationError(
                f"round {round_id}, slice {index}: listed as {'' if piece['proven'] else 'not '}proven, "
                f"yet it has {'no' if document is None else 'a'} proof"
            )
    if documents[0] is None or documents[-1] is None:
        # The first piece binds the inputs and the last yields the answer: without either nothing is proven.
        raise VerificationError(f"round {round_id}: the first and last slices must be proven, and are not")
    return documents


@dataclass(frozen=True)
class _ProvenPiece:
    felts: list[str]
    layout: _Layout
    proof: bytes
    logrows: int


def _proven_piece(subject: str, proof: dict[str, Any] | None, files: dict[str, bytes]) -> _ProvenPiece | None:
    """A piece's proof verified against its own settings, vk and SRS; None for a slice run unproven."""
    if proof is None:
        return None
    _ezkl_verify(subject, proof["document"], files)
    settings = json.loads(files["settings"])
    found = _ProvenPiece(
        _felts(proof["document"]),
        _Layout.of(settings, subject=subject),
        bytes.fromhex(proof["document"]["hex_proof"].removeprefix("0x")),
        int(settings["run_args"]["logrows"]),
    )
    if len(found.felts) != len(found.layout.scales):
        raise VerificationError(
            f"{subject}: the proof has {len(found.felts)} instances, its settings {len(found.layout.scales)}"
        )
    return found


def _require_proof(evidence: dict[str, Any]) -> dict[str, Any]:
    proof = evidence.get("proof")
    if not proof:
        raise VerificationError(
            f"round {evidence['id']} has no proof (status {evidence['status']}: {evidence.get('failure_reason')})"
        )
    return proof


def _require_registration(evidence: dict[str, Any]) -> dict[str, Any]:
    registration = evidence.get("registration")
    if registration is None:
        raise VerificationError(
            f"round {evidence['id']}: the API gave no feed registration, so the answer cannot be checked"
        )
    return registration


def _felts(document: dict[str, Any]) -> list[str]:
    return [felt for group in document["instances"] for felt in group]


def _proof_digest(subject: str, proof: dict[str, Any]) -> str:
    """The proof's 0x sha256, once its document, its hex and its listed instances agree and it is the digest given."""
    document = proof["document"]
    raw = bytes.fromhex(document["hex_proof"].removeprefix("0x"))
    if "proof" in document and bytes(document["proof"]) != raw:
        raise VerificationError(f"{subject}: the proof document's bytes and hex_proof differ")
    digest = "0x" + hashlib.sha256(raw).hexdigest()
    if proof["digest"] != digest:
        raise VerificationError(f"{subject}: the proof hashes to {digest}, the proof says {proof['digest']}")
    if proof["hex_proof"] != document["hex_proof"]:
        raise VerificationError(f"{subject}: hex_proof differs from the proof document's")
    if [str(felt_to_uint(felt)) for felt in _felts(document)] != proof["instances"]:
        raise VerificationError(f"{subject}: the listed instances differ from the proof document's")
    return digest


def _check_commitment(evidence: dict[str, Any], commitment: str, *, circuit: tuple[str, str], served: str) -> None:
    """``commitment``, derived from the served files, is the one the circuit, deployment and registration name."""
    registration = evidence["registration"]
    claimed = {
        circuit[0]: circuit[1],
        "deployment": evidence["deployment"]["model_commitment"],
        f"registration ({registration['source']})": registration["model_commitment"],
    }
    for where, value in claimed.items():
        if value.lower() != commitment:
            raise VerificationError(
                f"round {evidence['id']}: model commitment of {served} is {commitment}, the {where} says {value}"
            )


def _chain_commitment(
    round_id: int, whole: bytes, listed: list[dict[str, Any]], pieces: list[dict[str, bytes]]
) -> str:
    """The model commitment over the served bytes, each proven piece's own commitment checked on the way."""
    parts: list[str | bytes] = []
    for piece, files in zip(listed, pieces, strict=True):
        if not piece["proven"]:
            parts.append(files["model"])
            continue
        commitment = model_commitment(onnx_bytes=files["model"], settings_bytes=files["settings"], vk_bytes=files["vk"])
        claimed = piece["circuit"]["model_commitment"]
        if claimed.lower() != commitment:
            raise VerificationError(
                f"round {round_id}, piece {piece['index']}: model commitment of the served model, settings and vk "
                f"is {commitment}, its circuit says {claimed}"
            )
        parts.append(commitment)
    return chain_commitment(whole, parts)


def _check_links(round_id: int, proven: list[_ProvenPiece | None]) -> list[str]:
    """Consecutive proven slices agree on the tensor between them; across a slice run unproven nothing links."""
    checks = []
    for index in range(1, len(proven)):
        before, after = proven[index - 1], proven[index]
        if before is None or after is None:
            continue
        if not (before.layout.commitments.output_committed and after.layout.commitments.input_committed):
            raise VerificationError(
                f"round {round_id}, slice {index}: the circuits of slices {index - 1} and {index} do not commit to "
                "the tensor between them, so nothing links them"
            )
        output = before.layout.commitments.output_point(before.proof)
        input_ = after.layout.commitments.input_point(after.proof)
        if not linked(output, input_):
            raise VerificationError(
                f"round {round_id}, slice {index}: link broken: the input commitment in its proof "
                f"{_hex(input_)} differs from the output commitment in slice {index - 1}'s {_hex(output)}"
            )
        checks.append(
            f"link {index - 1} → {index}: the input commitment in slice {index}'s proof is the output commitment "
            f"in slice {index - 1}'s ({_hex(output)})"
        )
    unproven = [index for index, found in enumerate(proven) if found is None]
    if unproven:
        checks.append(f"slices {unproven} run unproven: nothing links across them (targeted verification)")
    return checks


def _hex(point: bytes | None) -> str:
    return "none (the proof is too short)" if point is None else f"0x{point.hex()[:16]}…"


def _ezkl_verify(subject: str, document: dict[str, Any], files: dict[str, bytes]) -> None:
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
            raise VerificationError(f"{subject}: ezkl.verify rejects the proof: {exc}") from exc
    if not valid:
        raise VerificationError(f"{subject}: ezkl.verify rejects the proof")


def _check_inputs(subject: str, inputs: list[float], felts: list[str], layout: _Layout) -> None:
    if layout.commitments.input_committed:
        raise VerificationError(f"{subject}: the circuit commits to its inputs, so they cannot be checked offline")
    if len(inputs) != len(layout.inputs):
        raise VerificationError(f"{subject}: {len(inputs)} inputs listed, the circuit takes {len(layout.inputs)}")
    for position, (value, felt, scale) in enumerate(zip(inputs, felts, layout.inputs, strict=False)):
        proven = felt_to_float(felt, scale)
        if abs(proven - value) > 2.0**-scale:
            raise VerificationError(f"{subject}: input {position} is {value}, the proof's instance is {proven}")


def _check_answer(
    evidence: dict[str, Any], registration: dict[str, Any], felts: list[str], layout: _Layout, *, where: str
) -> tuple[int, str]:
    """The answer the contract derives from the registered instance, checked against the round's; and the check."""
    index, scale, decimals = registration["output_index"], registration["output_scale"], registration["decimals"]
    found = layout.scales[index] if index < len(layout.scales) else "no such instance"
    if found != scale:
        raise VerificationError(
            f"round {evidence['id']}: {where} has scale {found} in the settings, the registration says {scale}"
        )
    derived = answer_from_felt(felts[index], scale=scale, decimals=decimals)
    if evidence.get("answer") is None or int(evidence["answer"]) != derived:
        raise VerificationError(
            f"round {evidence['id']}: answer {evidence.get('answer')} is not the one {where} gives ({derived})"
        )
    return derived, f"answer {derived} = {where} at scale {scale} with {decimals} decimals"


def _check_answers(
    evidence: dict[str, Any], registration: dict[str, Any], felts: list[str], layout: _Layout, checks: list[str]
) -> tuple[int, int]:
    """Each answer a round of several posts, re-derived from its instance (the feed's output instance plus the
    answer's offset), as the contract derives it; the listed answer's (``answer_id``, else the first) and its
    decimals."""
    round_id, output, scale = evidence["id"], registration["output_index"], registration["output_scale"]
    derived: dict[str, tuple[int, int]] = {}
    for listed in evidence["answers"]:
        name, offset, decimals = listed["answer_id"], listed["output_offset"], listed["decimals"]
        if offset is None or decimals is None:
            raise VerificationError(f"round {round_id}: answer '{name}' has no registered offset and decimals")
        index = output + offset
        found = layout.scales[index] if index < len(layout.scales) else "no such instance"
        if found != scale:
            raise VerificationError(
                f"round {round_id}, answer '{name}': instance {index} has scale {found} in the settings, "
                f"the registration says {scale}"
            )
        value = answer_from_felt(felts[index], scale=scale, decimals=decimals)
        if listed.get("answer") is None or int(listed["answer"]) != value:
            raise VerificationError(
                f"round {round_id}: answer '{name}' is {listed.get('answer')}, instance {index} gives {value}"
            )
        derived[name] = (value, decimals)
        checks.append(
            f"answer '{name}' {value} = instance {index} (output {output} + offset {offset}) "
            f"at scale {scale} with {decimals} decimals"
        )
    name = evidence.get("answer_id") or evidence["answers"][0]["answer_id"]
    if name not in derived or evidence.get("answer") is None or int(evidence["answer"]) != derived[name][0]:
        raise VerificationError(
            f"round {round_id}: its answer {evidence.get('answer')} is not answer '{name}' as derived "
            f"({derived.get(name, ('none listed',))[0]})"
        )
    return derived[name]


def _verified(
    evidence: dict[str, Any],
    registration: dict[str, Any],
    answer: int,
    checks: list[str],
    *,
    url: str,
    coverage: tuple[int, int],
    decimals: int,
) -> VerifiedRound:
    return VerifiedRound(
        url=url,
        round_id=evidence["id"],
        feed_id=evidence.get("answer_id") or evidence["feed_id"],
        status=evidence["status"],
        answer=answer,
        decimals=decimals,
        registration_source=registration["source"],
        checks=checks,
        coverage=coverage,
    )
