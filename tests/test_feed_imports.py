"""The feed definition is plain data: reading feed.toml loads no prover, scheduler or source implementation."""

from __future__ import annotations

import json
import subprocess
import sys

from oracle.paths import PROJECT_ROOT
from tests.conftest import DEMO_FEED

HEAVY = ("ezkl", "onnx", "onnxruntime", "apscheduler", "httpx", "web3")
SOURCE_IMPLEMENTATIONS = (
    "oracle.sources.base",
    "oracle.sources.evm_view",
    "oracle.sources.factory",
    "oracle.sources.file",
    "oracle.sources.http_json",
    "oracle.sources.python_callable",
    "oracle.sources.synthetic",
)


def test_schema_and_loader_import_nothing_heavy() -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from oracle.feeds.loader import load_feed\n"
        "import oracle.feeds.schema, oracle.sources.settings\n"
        f"load_feed(Path({str(DEMO_FEED)!r}))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert {name for name in loaded if name.split(".")[0] in HEAVY} == set()
    assert loaded.isdisjoint(SOURCE_IMPLEMENTATIONS)
