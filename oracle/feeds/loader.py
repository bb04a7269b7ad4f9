"""Loading ``feeds/<id>/feed.toml``: TOML in, a validated :class:`FeedSpec` out.

Every validation error is reported as a :class:`FeedSpecError` naming the feed, the
field and the fix.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oracle.exceptions import FeedSpecError
from oracle.feeds.samples import SAMPLES_FIX
from oracle.feeds.schema import FeedSpec

FEED_FILE = "feed.toml"

_FIXES = {
    "id": "use lowercase letters, digits, '-' or '_' (e.g. id = \"eth-usd\")",
    "model": 'point it at an ONNX file relative to the feed folder (e.g. model = "model.onnx")',
    "samples": SAMPLES_FIX,
    "decimals": "use an integer from 0 to 36 (8 is Chainlink's usual for prices)",
    "schedule": 'set exactly one of interval_seconds = 30 and cron = "*/5 * * * *"',
    "schedule.interval_seconds": "use a positive number of seconds (e.g. interval_seconds = 30)",
    "schedule.cron": 'use five crontab fields, days of the week by name (e.g. cron = "0 * * * mon-fri")',
    "source.kind": 'use one of the supported source kinds ("synthetic", "evm_view", "evm_aggregator", "http_json", '
    '"file", "callable", "bundle")',
    "source.headers": 'map each header to the NAME of an environment variable (e.g. Authorization = "PRICES_TOKEN")',
    "input.evm_view": "the contract checks the views' raw values; remove [input] and transform inside the model",
    "chain.rpc_url": 'use the chain\'s HTTP(S) JSON-RPC URL (e.g. rpc_url = "https://mainnet.base.org")',
    "chain.secret": 'name an environment variable (relayer_key_env = "MY_RELAYER_KEY") or a keystore + password_env',
    "slicing": 'set slices = 3 (a count to balance), cuts = ["tensor", ...] or max_logrows = 16 (the largest slice; '
    "slices then the least count), and prove = [0, ..., last] or nothing (not with max_logrows)",
    "slicing.max_logrows": "use an integer from 15 (EZKL's smallest circuit, its range-check table) to 26",
    "onchain.permissionless": 'set onchain.input_policy = "attested" (with [attestation] attesters) or "onchain" '
    "(an evm_aggregator source), or remove permissionless and keep an allow-list",
    "onchain.input_policy": "match the policy to the source: attested needs an [attestation] table listing "
    'attesters, onchain needs source.kind = "evm_aggregator"; a plain evm_view getter only under "operator"',
}


def load_feed(path: Path) -> FeedSpec:
    """Load ``path`` (a feed folder or its feed.toml)."""
    if not path.exists():
        # Named after the path itself: its parent may be any folder (feeds/, the cwd, /tmp).
        raise FeedSpecError(
            path.name or str(path), "folder", f"{path} does not exist", "pass a feed folder containing feed.toml"
        )
    file = path / FEED_FILE if path.is_dir() else path
    name = file.parent.name
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError as exc:
        raise FeedSpecError(
            name, FEED_FILE, f"{file} does not exist", "pass a feed folder containing feed.toml"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise FeedSpecError(name, FEED_FILE, f"invalid TOML ({exc})", "fix the syntax of the file") from exc
    feed_name = str(raw.get("id", name))
    _refuse_raw_keys(feed_name, "chain", raw.get("chain"))
    chains = raw.get("chains")
    for target, table in chains.items() if isinstance(chains, dict) else ():
        _refuse_raw_keys(feed_name, f"chains.{target}", table)
    folder = file.parent.resolve()
    try:
        # The context lets sources resolve their files against the feed folder.
        spec = FeedSpec.model_validate({**raw, "folder": folder}, context={"folder": folder})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        source = raw.get("source")
        if loc[:1] == ["source"] and len(loc) > 1 and isinstance(source, dict) and loc[1] == source.get("kind"):
            del loc[1]  # pydantic puts the union's tag in the path; the user wrote [source]
        field = ".".join(str(part) for part in loc) or FEED_FILE
        if first["type"].startswith("union_tag"):
            field += ".kind"
        fix = _fix_for(field) or ("remove it" if first["type"] == "extra_forbidden" else "")
        fix = (fix + "; " if fix else "") + "see the feed.toml reference in README.md"
        problem = first["msg"].removeprefix("Value error, ")
        raise FeedSpecError(feed_name, field, problem[:1].lower() + problem[1:], fix) from exc
    if not spec.model_path.is_file():
        raise FeedSpecError(spec.id, "model", f"{spec.model_path} does not exist", _FIXES["model"])
    _check_input_policy(spec)
    if spec.source.kind in ("evm_view", "evm_aggregator") and not spec.input.is_identity:
        # submit() compares the proof's inputs with the raw values it reads, untransformed.
        raise FeedSpecError(
            spec.id, "input", f"an {spec.source.kind} feed's inputs cannot be transformed", _FIXES["input.evm_view"]
        )
    return spec


def _check_input_policy(spec: FeedSpec) -> None:
    """The policy the contract will enforce must fit the feed's source and relaying, refused here first."""
    policy = spec.onchain.input_policy
    if spec.onchain.permissionless and policy == "operator":
        # The inputs would be whatever the relayer proved: anyone could post invented ones.
        raise FeedSpecError(
            spec.id,
            "onchain.permissionless",
            "a permissionless feed cannot use the operator input policy: anyone could prove invented inputs",
            _FIXES["onchain.permissionless"],
        )
    if spec.onchain.permissionless and spec.slicing is not None and spec.slicing.prove is not None:
        proven, total = len(set(spec.slicing.prove)), spec.slicing.slices or len(spec.slicing.cuts) + 1
        if proven != total:
            raise FeedSpecError(
                spec.id,
                "onchain.permissionless",
                f"{proven} of {total} slices proven: an unproven slice leaves the answer unbound by the inputs",
                "prove every slice (remove slicing.prove) or keep an allow-list",
            )
    problem = None
    if policy == "attested" and (spec.attestation is None or not spec.attestation.attesters):
        problem = "the attested policy needs data attesters"
    elif policy != "attested" and spec.attestation is not None:
        problem = f"an [attestation] table has no effect under the {policy} policy"
    elif policy == "onchain" and spec.source.kind != "evm_aggregator":
        problem = f"the onchain policy reads every input on-chain, not from a {spec.source.kind} source"
    elif policy != "operator" and spec.source.kind == "evm_view":
        problem = "an evm_view getter can be moved within the submitting transaction"
    if problem is not None:
        raise FeedSpecError(spec.id, "onchain.input_policy", problem, _FIXES["onchain.input_policy"])


def _fix_for(field: str) -> str:
    """The fix for ``field`` or, failing that, for the nearest enclosing field (source.values.0 → source.values)."""
    parts = field.split(".")
    return next((_FIXES[key] for n in range(len(parts), 0, -1) if (key := ".".join(parts[:n])) in _FIXES), "")


_RAW_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_SECRET_NAMES = re.compile(r"(^|_)(key|private_key|secret|password|mnemonic|seed)$")


def _refuse_raw_keys(feed: str, table: str, chain: Any) -> None:
    """A relayer key or password pasted into feed.toml would end up in git; refuse it by name."""
    if not isinstance(chain, dict):
        return
    for name, value in chain.items():
        text = value.strip() if isinstance(value, str) else ""
        if _RAW_KEY.match(text) or len(text.split()) in (12, 15, 18, 21, 24) or _SECRET_NAMES.search(name):
            raise FeedSpecError(
                feed, f"{table}.{name}", "looks like a secret (a raw key, password or mnemonic)", _FIXES["chain.secret"]
            )
