"""The dashboard in a real headless Chromium: its plots show exactly the rounds in the database, live."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from oracle.api import create_app
from oracle.store import RoundStatus, Store
from tests.api.conftest import LiveFeed
from tests.multichain import FIRST_CHAIN, SECOND_CHAIN, add_two_chain_feed
from tests.serving import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (`apt-get install chromium`; CI installs it)",
)


def _chart(page: Page, name: str) -> str:
    return f'svg.chart[data-chart="{name}"][data-feed="demo"]'


def _assert_page_shows_the_store(page: Page, live: LiveFeed) -> None:
    rows = live.store.rounds(feed_id="demo")
    landed = [r for r in rows if r.status is RoundStatus.LANDED]
    points = page.locator(f"{_chart(page, 'value')} circle.point")
    plotted = {int(str(points.nth(i).get_attribute("data-round-id"))): points.nth(i) for i in range(points.count())}
    assert sorted(plotted) == [r.id for r in landed]
    svg_box = page.locator(_chart(page, "value")).bounding_box()
    assert svg_box is not None
    for row in landed:
        point = plotted[int(row.id)]  # type: ignore[arg-type]
        assert float(str(point.get_attribute("data-value"))) == pytest.approx(int(str(row.onchain_answer)) / 1e8)
        box = point.bounding_box()
        assert box is not None and box["width"] > 0, f"round {row.id} is not drawn"
        assert svg_box["x"] <= box["x"] and box["x"] + box["width"] <= svg_box["x"] + svg_box["width"]
        assert svg_box["y"] <= box["y"] and box["y"] + box["height"] <= svg_box["y"] + svg_box["height"]

    proven = [r for r in rows if r.prove_seconds is not None]
    assert page.locator(f"{_chart(page, 'prove')} circle.point").count() == len(proven)
    assert page.locator(f"{_chart(page, 'gas')} circle.point").count() == len(landed)
    section = page.locator('section.feed[data-feed="demo"]')
    assert section.locator('[data-stat="landed"]').inner_text() == str(len(landed))
    failed = sum(r.status is RoundStatus.FAILED for r in rows)
    assert section.locator('[data-stat="failed"]').inner_text() == str(failed)
    proving = page.locator("#provers tr", has=page.locator("td", has_text="demo")).last.locator("td")
    assert proving.nth(1).inner_text() == str(len(proven))
    assert proving.nth(6).inner_text() == f"local {len(proven)}"  # rounds record which prover answered


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_dashboard_plots_the_rounds_in_the_database_as_they_land(
    api_url: str, live_feed: LiveFeed, tmp_path: Path
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile: nothing carried over between runs
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = browser.new_page()
            page.goto(f"{api_url}/?refresh=0")
            _assert_page_shows_the_store(page, live_feed)
            before = len(live_feed.landed_ids())

            report = live_feed.node.tick()  # a new round lands while the dashboard is open
            assert report.landed, report.round.failure_reason
            page.reload()
            _assert_page_shows_the_store(page, live_feed)
            newest = page.locator(f'{_chart(page, "value")} circle.point[data-round-id="{report.round.id}"]')
            assert newest.count() == 1 and len(live_feed.landed_ids()) == before + 1

            screenshot = tmp_path / "dashboard.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    width, height = _png_size(screenshot)
    assert width == 1280 and height >= 900 and screenshot.stat().st_size > 20_000


def test_dashboard_shows_each_chain_and_plots_each_proof_once(tmp_path: Path) -> None:
    store = Store.sqlite(tmp_path / "node.db")
    feed = add_two_chain_feed(store)
    rounds = feed.rounds
    app = create_app(store, build_root=tmp_path / "build", refresh_seconds=0, rpc_timeout=2.0)
    with serving(app, what="the API server") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{url}/?refresh=0")
            section = page.locator('section.feed[data-feed="demo"]')
            for chain_id, name, landed in ((FIRST_CHAIN, "p2", "2"), (SECOND_CHAIN, "c1", "1")):
                row = section.locator(f'table.chains tr[data-chain-id="{chain_id}"]')
                assert row.locator('[data-stat="chain-latest-round"]').inner_text() == str(rounds[name].id)
                value = row.locator('[data-stat="chain-latest-value"]').inner_text()
                assert value == f"{rounds[name].proven_output:,.6f}"
                assert row.locator('[data-stat="chain-landed"]').inner_text() == landed
                assert str(rounds[name].tx_hash)[:18] in row.inner_text()
            recent = section.locator("table.recent tr[data-round-id]")
            shown = {
                int(str(recent.nth(i).get_attribute("data-round-id"))): int(
                    str(recent.nth(i).get_attribute("data-chain-id"))
                )
                for i in range(recent.count())
            }
            assert shown == {
                int(row.id): FIRST_CHAIN if row.deployment_id == feed.first.id else SECOND_CHAIN  # type: ignore[arg-type]
                for row in rounds.values()
            }
            copy = section.locator(f'table.recent tr[data-round-id="{rounds["c1"].id}"]')
            assert f"proof of {rounds['p1'].id}" in copy.inner_text()

            assert page.locator(f"{_chart(page, 'prove')} circle.point").count() == len(feed.proofs)
            assert page.locator(f"{_chart(page, 'value')} circle.point").count() == 3  # landed: two chains, two proofs
            proving = page.locator("#provers tr", has=page.locator("td", has_text="demo")).last.locator("td")
            assert proving.nth(1).inner_text() == str(len(feed.proofs))
        finally:
            browser.close()
