"""The feed's ``[attestation]`` table: tolerance, registered attesters, threshold."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oracle.exceptions import FeedSpecError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import OnchainSpec
from tests.conftest import DEMO_FEED

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20


def _feed(tmp_path: Path, table: str) -> Path:
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_FEED, folder)
    toml = folder / "feed.toml"
    text = toml.read_text()
    if "input_policy" in OnchainSpec.model_fields:  # an [attestation] table goes with the attested input policy
        text = text.replace("[onchain]\n", '[onchain]\ninput_policy = "attested"\n', 1)
    toml.write_text(text + "\n" + table)
    return folder


def test_attesters_and_threshold_load(tmp_path: Path) -> None:
    spec = load_feed(
        _feed(
            tmp_path,
            "[attestation]\ntolerance_percent = 1.5\nthreshold = 2\n"
            f'attesters = [{{address = "{A}", url = "http://10.0.0.7:8093"}}, '
            f'{{address = "{B}", url = "https://b.example"}}]\n',
        )
    )
    assert spec.attestation is not None
    assert spec.attestation.tolerance_percent == 1.5
    assert [(a.address, a.url) for a in spec.attestation.attesters] == [
        (A, "http://10.0.0.7:8093"),
        (B, "https://b.example"),
    ]
    assert spec.attestation.threshold == 2
    assert load_feed(DEMO_FEED).attestation is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (f'threshold = 2\nattesters = [{{address = "{A}", url = "http://a"}}]', "threshold 2 is more than the 1"),
        (
            f'attesters = [{{address = "{A}", url = "http://a"}}, {{address = "{A.upper().replace("0X", "0x")}", '
            'url = "http://b"}]',
            "listed once",
        ),
        ("tolerance_percent = -1", "greater than or equal to 0"),
    ],
)
def test_bad_attestation_tables_are_named(tmp_path: Path, table: str, problem: str) -> None:
    with pytest.raises(FeedSpecError, match="attestation") as caught:
        load_feed(_feed(tmp_path, "[attestation]\n" + table + "\n"))
    assert problem in str(caught.value)
