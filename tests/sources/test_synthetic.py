from __future__ import annotations

from oracle.sources.synthetic import SyntheticPriceSource, price_window, synthetic_price


def test_series_is_deterministic_and_moves() -> None:
    assert synthetic_price(1234) == synthetic_price(1234)
    values = [synthetic_price(t) for t in range(200)]
    assert len(set(values)) == len(values)
    assert 1700 < min(values) < max(values) < 2300


def test_seed_changes_the_noise_only_slightly() -> None:
    a, b = synthetic_price(50, seed="a"), synthetic_price(50, seed="b")
    assert a != b and abs(a - b) / a < 0.01


def test_source_window_follows_the_clock() -> None:
    source = SyntheticPriceSource(window=4, tick_seconds=10)
    assert list(source.fetch(now=1000.0)) == price_window(100, 4)
    assert list(source.fetch(now=1009.9)) == price_window(100, 4)
    assert list(source.fetch(now=1010.0)) == price_window(101, 4)
