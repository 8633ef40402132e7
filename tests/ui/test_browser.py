"""The real UI in a real browser: `peaklens ui` on a free loopback port, driven in Debian's headless Chromium.

The test is a user's eyes: after every step it waits until Streamlit has finished running the script, then
fails on any exception box on the page. It runs offline (every request off the server is refused, as on the
test machine), beside a CPU-burning process, and saves screenshots into build/screenshots/ (or the folder
``SCREENSHOTS_DIR`` names: ``scripts/screenshots.sh`` points it at docs/screenshots/ to refresh the README's).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from peaklens.ui.labels import UPLOAD_SHOWN_PX
from tests.conftest import TREK_JPEGS, IndexedAlbum
from tests.ui.browser_support import (
    CARD,
    FIRST_SEEN,
    READY_MS,
    assert_map_is_readable,
    counted,
    running_ui,
    settled,
    shoot,
)

pytestmark = pytest.mark.browser


def test_browse_filter_map_view_and_identify(
    indexed_album: IndexedAlbum, tmp_path: Path, cpu_hog: None, browser_page: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    with running_ui(indexed_album.album, indexed_album.env, tmp_path / "ui.log") as url:
        page = browser_page(url, init_script=FIRST_SEEN)
        expect(page.get_by_text("Your photos", exact=True)).to_be_visible(timeout=READY_MS)
        settled(page)
        seen = page.evaluate("() => window.__firstSeen")
        assert seen.get("map") is not None and seen["map"] <= seen["grid"], (
            seen
        )  # the map comes with the grid
        shown, total = counted(page)
        pictures = page.locator(f"{CARD} img")
        expect(pictures).to_have_count(shown)  # every card has its thumbnail, each one loaded when in view
        pictures.nth(shown - 1).scroll_into_view_if_needed()
        page.wait_for_function(
            "n => [...document.querySelectorAll('.peaklens-card img')].slice(n - 4)"
            ".every(i => i.complete && i.naturalWidth > 0)",
            arg=shown,
        )
        page.locator("h1").first.scroll_into_view_if_needed()
        assert total == sum(
            1 for p in indexed_album.album.rglob("*") if p.is_file() and not p.name.endswith(".md")
        )
        assert assert_map_is_readable(page) >= 3
        assert page.get_by_role("button", name="Deploy").count() == 0
        assert page.get_by_text(re.compile(r"score \d")).count() == 0  # browsing has no score

        # the date picker (behind a button naming the days) opens on the album's days, not on today
        sidebar = page.locator("[data-testid='stSidebar']")

        def segment(part: str, end: str) -> Any:
            return page.get_by_role("spinbutton", name=f"{part}, Capture days (local) {end} date")

        def open_days() -> str:
            button = sidebar.get_by_role("button", name=re.compile(r"^Capture days: "))
            named = button.inner_text().splitlines()[0]  # the label, without the popover's arrow
            button.click()
            expect(segment("year", "end")).to_be_visible(timeout=READY_MS)
            return named

        named = open_days()
        assert segment("year", "end").get_attribute("aria-valuenow") == "2023"
        assert segment("month", "end").get_attribute("aria-valuenow") == "10"
        album_range = [
            segment(p, e).get_attribute("aria-valuenow")
            for e in ("start", "end")
            for p in ("year", "month", "day")
        ]
        first, last = album_range[:3], album_range[3:]
        assert named == "Capture days: {}-{:0>2}-{:0>2} – {}-{:0>2}-{:0>2}".format(*first, *last)
        page.keyboard.press("Escape")

        # a peak facet narrows the photos and shows a removable chip
        peak_box = sidebar.locator("[data-testid='stCheckbox']").first
        label = peak_box.inner_text()
        peak, count = label.rsplit(" (", 1)[0], int(label.rsplit("(", 1)[1].rstrip(")"))
        peak_box.click()
        expect(page.get_by_role("button", name=f"✕ {peak}")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(page.get_by_text(re.compile(rf"^1(–\d+)? of {count} photos?$"))).to_be_visible()
        page.get_by_role("button", name="Clear all").click()
        expect(page.get_by_role("button", name="Clear all")).to_have_count(0, timeout=READY_MS)
        settled(page)

        # a box drawn on the map becomes the area filter
        chart = page.locator("svg.peaklens-map").first
        chart.scroll_into_view_if_needed()
        area = chart.locator("rect.plot").bounding_box()
        assert area is not None
        left, top = area["x"] + 2, area["y"] + 2
        right, bottom = area["x"] + area["width"] - 2, area["y"] + area["height"] - 2
        dots = [d.bounding_box() for d in chart.locator("g.album circle").all()]
        centres = [(d["x"] + d["width"] / 2, d["y"] + d["height"] / 2) for d in dots if d]
        inside = [(x, y) for x, y in centres if left < x < right and top < y < bottom]
        assert inside, "no album photo drawn on the map"
        x0, x1 = max(left, min(x for x, _ in inside) - 25), min(right, max(x for x, _ in inside) + 25)
        y0, y1 = max(top, min(y for _, y in inside) - 25), min(bottom, max(y for _, y in inside) + 25)
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=8)
        page.mouse.move(x1, y1, steps=8)
        page.mouse.up()
        expect(page.get_by_role("button", name="✕ Area")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(sidebar.get_by_text("Box on the map:")).to_be_visible()
        assert 0 < counted(page)[1] < total  # the photos inside the box
        assert assert_map_is_readable(page) >= 3  # peak names drawn as SVG text, none over another
        expect(page.locator("svg.peaklens-map rect.area-box")).to_have_count(1)
        shoot(page, "map-with-box.png")
        page.get_by_role("button", name="✕ Area").click()
        expect(page.get_by_role("button", name="✕ Area")).to_have_count(0, timeout=READY_MS)
        settled(page)

        # a single picked day filters that local calendar day
        open_days()
        for end, part, value in (("start", "year", "2023"), ("start", "month", "10"), ("start", "day", "28")):
            segment(part, end).click()
            page.keyboard.type(value)
        segment("day", "end").click()
        page.keyboard.type("28")
        page.locator("h1").first.click()  # the picker commits when it loses focus (Escape would drop it)
        expect(page.get_by_role("button", name="✕ 2023-10-28")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(sidebar.get_by_role("button", name="Capture days: 2023-10-28", exact=True)).to_be_visible()
        expect(page.locator(f"{CARD} .when").first).to_contain_text(" · 2023-10-28 ")
        captions = page.locator(f"{CARD} .when").all_inner_texts()
        dated = [c for c in captions if " · 2023-" in c]
        assert dated and all(" · 2023-10-28 " in c for c in dated)
        page.get_by_role("button", name="Clear all").click()
        expect(page.get_by_role("button", name="Clear all")).to_have_count(0, timeout=READY_MS)
        settled(page)
        assert open_days() == named
        now = [
            segment(p, e).get_attribute("aria-valuenow")
            for e in ("start", "end")
            for p in ("year", "month", "day")
        ]
        assert now == album_range  # "Clear all" puts the picker back on the album's days
        page.keyboard.press("Escape")

        # "View": a lightbox with date, place, peaks and labels drawn on a trek photo; previous/next
        trek_card = page.locator(CARD, has_text="trek/IMG_").first
        trek_card.get_by_role("button", name="View").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Heading ")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(dialog.get_by_text("1 of ")).to_be_visible()
        expect(dialog.get_by_text("from the phone's compass")).to_be_visible()
        expect(dialog.get_by_text("In frame:")).to_be_visible()
        shoot(page, "view-with-labels.png")
        dialog.get_by_role("button", name="Next →").click()
        expect(dialog.get_by_text("2 of ")).to_be_visible(timeout=READY_MS)
        settled(page)
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0, timeout=READY_MS)
        settled(page)

        # a file that is no photo: one line beside the uploader, the album still shown
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": os.urandom(4096)}]
        )
        expect(page.get_by_text("broken.jpg cannot be used:")).to_be_visible(timeout=READY_MS)
        settled(page)
        assert page.locator("[data-testid='stAlert']").count() == 1
        expect(page.get_by_text("Your photos", exact=True)).to_be_visible()
        assert counted(page)[1] == total

        # identify from upload, to the end: the peak, its labels, both result sections
        page.locator("input[type=file]").set_input_files(str(TREK_JPEGS[0]))
        expect(page.get_by_text("Visually similar photos")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(page.get_by_text("Which peak is this?")).to_be_visible()
        expect(page.get_by_text("Your photos of ")).to_be_visible()
        expect(page.get_by_text("from the phone's compass")).to_be_visible()
        upload = page.locator("[data-testid='stImage'] img, [data-testid='stFullScreenFrame'] img").first
        assert (
            upload.evaluate("img => img.clientWidth") == UPLOAD_SHOWN_PX
        )  # the width its labels are sized for
        shoot(page, "identify.png", full_page=True)

        # a typed query is not ignored while an upload is present
        search = page.get_by_label("Search")
        search.fill("snowy mountain")
        search.press("Enter")
        expect(page.get_by_text("Results for “snowy mountain”")).to_be_visible(timeout=READY_MS)
        settled(page)
        expect(page.get_by_text("Visually similar photos")).to_be_visible()
        expect(page.get_by_text("score 0.").first).to_be_visible()


def test_a_password_is_asked_before_anything_else(
    indexed_album: IndexedAlbum, tmp_path: Path, browser_page: Callable[[str], Any]
) -> None:
    from playwright.sync_api import expect

    env = {**indexed_album.env, "PEAKLENS_UI_PASSWORD": "correct horse"}
    with running_ui(indexed_album.album, env, tmp_path / "ui.log") as url:
        page = browser_page(url)
        password = page.locator("input[type=password]")
        expect(password).to_be_visible(timeout=READY_MS)
        settled(page)
        assert page.get_by_text("Your photos", exact=True).count() == 0
        assert page.locator("img").count() == 0
        password.fill("wrong")
        page.get_by_role("button", name="Open the album").click()
        expect(page.get_by_text("Wrong password.")).to_be_visible(timeout=READY_MS)
        settled(page)
        assert page.get_by_text("Your photos", exact=True).count() == 0
        password.fill("correct horse")
        page.get_by_role("button", name="Open the album").click()
        expect(page.get_by_text("Your photos", exact=True)).to_be_visible(timeout=READY_MS)
        settled(page)
