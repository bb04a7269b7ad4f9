"""Feed bundles off-chain: the composed model computes each member's answer, the bundle source lays out the
members' inputs as the model takes them, and a member that cannot join is one clear line.

The on-chain half (a bundle round lands every member, a changed member output is refused, a
member's proxy reads only that member) is tests/contracts/test_zkoracle_bundles.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from oracle.circuits.intake import OBSERVED_AT_INPUT, prepare_model
from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS, time_limbs
from oracle.exceptions import BundleError, SourceError
from oracle.feeds.answer import answer_position
from oracle.feeds.bundle import write_bundle
from oracle.feeds.loader import load_feed
from oracle.feeds.source import feed_source
from oracle.inference import OnnxModel
from oracle.paths import PROJECT_ROOT
from oracle.sources.factory import create_source

FEEDS = PROJECT_ROOT / "feeds"
# Three feeds with different models, sources ([input] transforms included) and sample counts.
MIXED = ("demo", "volatility", "lending-risk")
OBSERVED_AT = 1_767_225_600


def test_each_members_answer_in_the_composed_model_is_its_own_models(tmp_path: Path) -> None:
    spec = write_bundle([FEEDS / name for name in MIXED], bundle="mixed", out=tmp_path / "mixed")
    members = [load_feed(FEEDS / name) for name in MIXED]
    graph = onnx.load(spec.model_path).graph
    assert [value.name for value in graph.input] == [
        "demo/prices",
        "volatility/closes",
        "lending-risk/features",
        OBSERVED_AT_INPUT,
    ]
    composed = OnnxModel(spec.model_path)
    answers = [answer.output for answer in spec.answers]
    assert [answer.id for answer in spec.answers] == list(MIXED)
    positions = [answer_position(ref, composed.output_names, composed.output_shapes, feed="mixed") for ref in answers]
    for row, sample in enumerate(spec.load_samples()):
        outputs = composed.run(sample + time_limbs(OBSERVED_AT))
        start = 0
        for member, position in zip(members, positions, strict=True):
            own_samples = member.load_samples()
            own_sample = own_samples[row % len(own_samples)]
            assert sample[start : start + len(own_sample)] == own_sample
            start += len(own_sample)
            # As the member's own circuit takes it: with the observation time intake adds to a model without one.
            own = prepare_model(
                member.model_path, input_size=len(own_sample) + OBSERVED_AT_LIMBS, observation_time=True
            ).inference()
            expected = own.run(own_sample + time_limbs(OBSERVED_AT))
            answer = answer_position(member.output, own.output_names, own.output_shapes, feed=member.id)
            assert outputs[position] == pytest.approx(expected[answer], rel=1e-6), (row, member.id)
        assert start == len(sample)


def test_the_bundle_source_gives_each_members_inputs_then_one_time(tmp_path: Path) -> None:
    spec = write_bundle([FEEDS / "demo", FEEDS / "volatility"], bundle="pair", out=tmp_path / "pair")
    now = 1_767_225_600.0
    values = list(feed_source(spec).fetch(now=now))
    demo, volatility = load_feed(FEEDS / "demo"), load_feed(FEEDS / "volatility")
    own = demo.input.apply(create_source(demo.source).fetch(now=now))
    own += volatility.input.apply(create_source(volatility.source).fetch(now=now))
    assert values == own  # volatility's [input] offset applied, as its own feed would
    with pytest.raises(SourceError, match="feed_source"):  # the sources room cannot read the member feeds
        create_source(spec.source)
    model = OnnxModel(spec.model_path)
    assert model.input_size == len(values) + OBSERVED_AT_LIMBS
    outputs = model.run(spec.model_input(values, observed_at=int(now)))
    alone = prepare_model(volatility.model_path, input_size=8 + OBSERVED_AT_LIMBS, observation_time=True)
    alone = alone.inference().run(volatility.model_input(own[4:], observed_at=int(now)))
    assert np.isclose(outputs[1], alone[0], rtol=1e-6)


def test_answers_carry_each_members_promises(tmp_path: Path) -> None:
    spec = write_bundle([FEEDS / "demo", FEEDS / "volatility"], bundle="pair", out=tmp_path / "pair")
    demo, volatility = (answer for answer in spec.answers)
    assert (demo.id, demo.output, demo.decimals, demo.heartbeat_seconds, demo.deviation_percent) == (
        "demo",
        "demo/forecast",
        8,
        60,
        0.5,
    )
    assert (volatility.heartbeat_seconds, volatility.deviation_percent) == (120, 2.0)
    assert spec.schedule.interval_seconds == 10
    assert spec.onchain.max_observation_age_seconds == min(
        load_feed(FEEDS / name).onchain.max_observation_age_seconds for name in ("demo", "volatility")
    )
    assert spec.onchain.rounds_retained == 0  # volatility keeps every round, so each member does


def test_a_bundle_retains_the_most_rounds_a_member_asks_for(tmp_path: Path) -> None:
    few = _copy_demo(tmp_path / "members", "few")
    (few / "feed.toml").write_text(
        (few / "feed.toml").read_text().replace("rounds_retained = 1024", "rounds_retained = 8")
    )
    spec = write_bundle([few, _copy_demo(tmp_path / "members", "many")], bundle="kept", out=tmp_path / "kept")
    assert spec.onchain.rounds_retained == 1024


def _copy_demo(root: Path, feed_id: str, *, extra: str = "", tail: str = "") -> Path:
    folder = root / feed_id
    folder.mkdir(parents=True)
    for name in ("model.onnx", "samples.json"):
        (folder / name).write_bytes((FEEDS / "demo" / name).read_bytes())
    toml = (FEEDS / "demo" / "feed.toml").read_text().replace('id = "demo"', f'id = "{feed_id}"')
    (folder / "feed.toml").write_text(toml.replace("[circuit]\n", "[circuit]\n" + extra) + tail)
    return folder


@pytest.mark.parametrize(
    ("members", "culprit", "problem", "fix"),
    [
        (("demo", "sliced"), "sliced", "its model is sliced", "remove [slicing]"),
        (("demo", "attested"), "attested", "onchain.input_policy is 'attested'", "same onchain.input_policy"),
        (("demo", "stacked"), "stacked", "evm_aggregator source is read back on-chain", "feed of its own"),
        (("demo", "demo"), "demo", "is listed twice", "list each member once"),
        (("demo", "scaled"), "scaled", "circuit.input_scale is 10", "same circuit.input_scale"),
        (("demo", "answering"), "answering", "posts 1 further answers", "without [[answers]]"),
    ],
)
def test_a_member_that_cannot_join_is_one_line_naming_bundle_member_and_fix(
    tmp_path: Path, members: tuple[str, ...], culprit: str, problem: str, fix: str
) -> None:
    copies = {
        "scaled": _copy_demo(tmp_path, "scaled", extra="input_scale = 10\n"),
        "answering": _copy_demo(tmp_path, "answering", tail='\n[[answers]]\nid = "again"\noutput = 0\n'),
    }
    folders = [copies.get(name, FEEDS / name) for name in members]
    with pytest.raises(BundleError) as refused:
        write_bundle(folders, bundle="majors", out=tmp_path / "majors")
    message = str(refused.value)
    assert message.startswith(f"bundle 'majors', member '{culprit}': ")
    assert problem in message and fix in message and "\n" not in message
    assert not (tmp_path / "majors").exists()  # nothing half-written


def test_the_cli_writes_a_bundle_and_reports_a_misfit_in_one_line(tmp_path: Path) -> None:
    def zkoracle(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "oracle", "feeds", "bundle", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "400"},
            cwd=PROJECT_ROOT,
            timeout=120,
            check=False,
        )

    pair = [str(_copy_demo(tmp_path, feed_id)) for feed_id in ("eth", "btc")]
    written = zkoracle(*pair, "--id", "majors", "--out", str(tmp_path / "majors"))
    assert written.returncode == 0, written.stdout + written.stderr
    assert [answer.id for answer in load_feed(tmp_path / "majors").answers] == ["eth", "btc"]
    refused = zkoracle(pair[0], str(FEEDS / "sliced"), "--id", "majors2", "--out", str(tmp_path / "majors2"))
    assert refused.returncode == 1
    lines = (refused.stdout + refused.stderr).strip().splitlines()
    assert len(lines) == 1 and "bundle 'majors2', member 'sliced'" in lines[0], lines
