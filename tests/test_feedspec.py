from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oracle.exceptions import FeedSpecError
from oracle.feeds.checks import check_feed
from oracle.feeds.loader import load_feed
from tests.conftest import DEMO_FEED, SLICED_FEED


def _feed_with(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "feed"
    shutil.copytree(DEMO_FEED, folder)
    toml = folder / "feed.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new))
    return folder


def test_demo_feed_loads() -> None:
    spec = load_feed(DEMO_FEED)
    assert spec.id == "demo" and spec.decimals == 8
    assert spec.model_path.is_file()
    samples = spec.load_samples()
    assert samples and all(len(sample) == spec.source.window for sample in samples)


@pytest.mark.parametrize(
    ("old", "new", "field", "fix"),
    [
        ("decimals = 8", "decimals = 99", "decimals", "0 to 36"),
        ('model = "model.onnx"', 'model = "nope.onnx"', "model", "ONNX file"),
        ('kind = "synthetic"', 'kind = "carrier-pigeon"', "source.kind", "supported source kind"),
        ("interval_seconds = 10", "interval_seconds = -1", "schedule.interval_seconds", "positive number"),
        ('id = "demo"', 'id = "Demo Feed!"', "id", "lowercase"),
        ("decimals = 8", 'decimals = 8\ncolour = "red"', "colour", "README"),
    ],
)
def test_errors_name_feed_field_and_fix(tmp_path: Path, old: str, new: str, field: str, fix: str) -> None:
    folder = _feed_with(tmp_path, old, new)
    with pytest.raises(FeedSpecError) as info:
        load_feed(folder)
    assert info.value.field.startswith(field)
    message = str(info.value)
    assert message.startswith("feed '") and f"field '{info.value.field}'" in message and fix in message


def test_broken_toml_and_missing_folder(tmp_path: Path) -> None:
    folder = _feed_with(tmp_path, "decimals = 8", "decimals = = 8")
    with pytest.raises(FeedSpecError, match="invalid TOML"):
        load_feed(folder)
    with pytest.raises(FeedSpecError, match="does not exist"):
        load_feed(tmp_path / "nowhere")


def test_bad_samples_file_is_named(tmp_path: Path) -> None:
    folder = _feed_with(tmp_path, "decimals = 8", "decimals = 8")
    (folder / "samples.json").write_text("{}")
    with pytest.raises(FeedSpecError, match="field 'samples'"):
        load_feed(folder).load_samples()


@pytest.mark.parametrize(
    ("slicing", "field", "message"),
    [
        ('slices = 3\ncuts = ["z2"]', "slicing", "exactly one of slices"),
        ('cuts = ["w1"]', "slicing.cuts", "cannot cut at tensor 'w1'"),
        ("slices = 12", "slicing.slices", "12 slices need 11 cut points"),
        ("slices = 3\nprove = [0, 1]", "slicing.prove", r"must include the first \(0\) and last \(2\)"),
        ('max_logrows = 16\ncuts = ["z2"]', "slicing", "max_logrows chooses the cuts itself"),
        ("max_logrows = 16\nprove = [0, 1]", "slicing", "prove needs a fixed slice count"),
        ("max_logrows = 12", "slicing.max_logrows", "greater than or equal to 15"),
        ("slices = 12\nmax_logrows = 15", "slicing.slices", "12 slices need 11 cut points"),
    ],
)
def test_a_bad_slicing_plan_names_the_feed_field_and_fix(
    tmp_path: Path, slicing: str, field: str, message: str
) -> None:
    folder = tmp_path / "feed"
    shutil.copytree(SLICED_FEED, folder)
    toml = folder / "feed.toml"
    toml.write_text(toml.read_text().replace("slices = 3          # cut where", f"{slicing}  # cut where"))
    with pytest.raises(FeedSpecError, match=message) as refused:
        check_feed(load_feed(folder))
    assert refused.value.feed == "sliced" and refused.value.field == field
