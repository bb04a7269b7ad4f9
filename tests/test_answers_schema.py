"""[[answers]] in feed.toml: defaults from the feed, offsets from the lowest answer, and one clear line per mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oracle.exceptions import FeedSpecError
from oracle.feeds.answer import resolve_answers
from oracle.feeds.checks import check_feed
from oracle.feeds.loader import load_feed
from tests.conftest import MULTI_ASSET_FEED, SLICED_FEED

SCORES = (["scores"], [[1, 8]])


def _feed(tmp_path: Path, answers: str, *, source: Path = MULTI_ASSET_FEED) -> Path:
    """A copy of ``source`` whose [[answers]] tables are ``answers``."""
    folder = tmp_path / "feed"
    shutil.copytree(source, folder, dirs_exist_ok=True)
    toml = folder / "feed.toml"
    text = toml.read_text()
    head = text.split("[[answers]]")[0]
    toml.write_text(head + "\n" + answers)
    return folder


def _error(folder: Path) -> FeedSpecError:
    with pytest.raises(FeedSpecError) as info:
        spec = load_feed(folder)
        check_feed(spec)
    message = str(info.value)
    assert "\n" not in message and "; " in message  # one line: the problem, then the fix
    return info.value


def test_answers_take_the_feeds_defaults_and_offsets_from_the_lowest(tmp_path: Path) -> None:
    spec = load_feed(
        _feed(
            tmp_path,
            '[[answers]]\nid = "b"\noutput = "scores[5]"\ndecimals = 2\nheartbeat_seconds = 30\n\n'
            '[[answers]]\nid = "a"\noutput = 3\ndescription = "A score"\ndeviation_percent = 4.0\nmax_answer = 100\n',
        )
    )
    b, a = resolve_answers(spec, *SCORES)
    assert (b.position, b.offset, a.position, a.offset) == (5, 2, 3, 0)  # the feed's output is the lowest answer
    assert (b.decimals, b.heartbeat_seconds, b.deviation_percent) == (2, 30, spec.trigger.deviation_percent)
    assert (a.decimals, a.heartbeat_seconds, a.deviation_percent) == (
        spec.decimals,
        spec.onchain.heartbeat_seconds,
        4.0,
    )
    assert b.description == f"{spec.description} (b)" and a.description == "A score" and a.max_answer == 100


@pytest.mark.parametrize(
    ("answers", "field", "problem"),
    [
        ('[[answers]]\nid = "x"\noutput = 0\n[[answers]]\nid = "x"\noutput = 1\n', "answers", "x listed twice"),
        ('[[answers]]\nid = "multi-asset"\noutput = 0\n', "answers", "must differ from the feed's own"),
        ('[[answers]]\nid = "X Y"\noutput = 0\n', "answers.0.id", "should match pattern"),
        ('[[answers]]\nid = "x"\n', "answers.0.output", "field required"),
        ('[[answers]]\nid = "x"\noutput = "scores[9]"\n', "answers.0.output", "holds 8 values, not 10"),
        ('[[answers]]\nid = "x"\noutput = "logits[0]"\n', "answers.0.output", "no output tensor is named 'logits'"),
        ('[[answers]]\nid = "x"\noutput = 0\nmin_answer = 5\nmax_answer = 1\n', "answers.0", "min_answer 5 is above"),
        ('[[answers]]\nid = "x"\noutput = 0\ndecimal = 2\n', "answers.0.decimal", "extra inputs are not permitted"),
    ],
)
def test_answer_mistakes_name_the_field(tmp_path: Path, answers: str, field: str, problem: str) -> None:
    error = _error(_feed(tmp_path, answers))
    assert error.feed == "multi-asset" and error.field == field and problem.lower() in str(error).lower()


def test_a_sliced_feed_may_publish_answers(tmp_path: Path) -> None:
    spec = load_feed(_feed(tmp_path, '[[answers]]\nid = "part"\noutput = 0\n', source=SLICED_FEED))
    assert spec.slicing is not None and [answer.id for answer in spec.answers] == ["part"]
