"""Eight browser sessions at once on one UI server while `peaklens index` and `peaklens catalog build` run in
other processes: every session keeps working (no exception on any page), corrections land, and after the
catalog build every session shows the new catalog's peak names at its next action (none stale)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from peaklens.config import Settings
from peaklens.library import Library
from tests.conftest import REPO, TREK_JPEGS, copy_trek_photos, peaklens_env
from tests.ui.browser_support import CARD, READY_MS, running_ui, settled

pytestmark = pytest.mark.browser

SESSIONS = 8
CORRECTING = 2  # of them
#: the new catalog renames every peak: a name of the old catalog on a page after the build is stale
RENAMED = "Renamed {name}"
EXCEPTION = "[data-testid='stException']"
#: a trek photo among the first six with GPS and a compass heading (its labels can be corrected)
WITH_COMPASS = "IMG_1752.jpg"


def _renamed_catalog(path: Path) -> Path:
    import yaml

    from peaklens.catalog import default_catalog_path

    peaks = yaml.safe_load(default_catalog_path().read_text(encoding="utf-8"))
    for peak in peaks:
        peak["names"] = [RENAMED.format(name=peak["names"][0])]
    path.write_text(yaml.safe_dump(peaks, allow_unicode=True), encoding="utf-8")
    return path


def _facet_names(page: Any) -> list[str]:
    labels = page.locator("[data-testid='stSidebar'] [data-testid='stCheckbox']").all_inner_texts()
    return [re.sub(r"\s*\(\d+\)$", "", label.strip()) for label in labels]


def test_eight_sessions_keep_working_while_index_and_catalog_build_run(
    tmp_path: Path, tiny_siglip: Path, browser_page: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    album = copy_trek_photos(tmp_path / "album", 6)
    env = peaklens_env(tiny_siglip, tmp_path)
    settings = Settings(model=str(tiny_siglip), data_dir=tmp_path / "store", store="embedded")
    library = Library.create(settings)
    library.index(album)
    old_names = {p.name for p in library.peaks().peaks}
    library.store.close()
    catalog = _renamed_catalog(tmp_path / "renamed.yaml")
    more = [p for p in TREK_JPEGS if not (album / p.name).exists()][:4]

    def writers() -> None:
        """Another terminal: more photos indexed, then a new catalog built (each takes the index lock)."""
        for path in more:
            shutil.copy(path, album / path.name)
        run = {"env": {**_base_env(), **env}, "cwd": REPO, "capture_output": True, "text": True}
        done.append(
            subprocess.run([sys.executable, "-m", "peaklens", "index", str(album), "--no-progress"], **run)
        )
        done.append(
            subprocess.run(
                [sys.executable, "-m", "peaklens", "catalog", "build", "--peaks", str(catalog)], **run
            )
        )

    done: list[subprocess.CompletedProcess[str]] = []
    with running_ui(album, env, tmp_path / "ui.log") as url:
        pages = [browser_page(url) for _ in range(SESSIONS)]
        for page in pages:
            expect(page.get_by_text("Your photos", exact=True)).to_be_visible(timeout=READY_MS)
        corrected = 0
        writer = threading.Thread(target=writers)
        writer.start()
        try:
            for round_ in range(2):
                for number, page in enumerate(pages):
                    if number < CORRECTING:
                        corrected += _correct_a_label(page, expect)
                    else:
                        page.get_by_label("Search").fill(f"snowy mountain {round_} {number}")
                        page.get_by_label("Search").press("Enter")
                for page in pages:
                    settled(page)
                    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
        finally:
            writer.join(timeout=READY_MS / 1000)
        assert [d.returncode for d in done] == [0, 0], [d.stderr[-800:] for d in done]
        assert corrected >= CORRECTING, "the correcting sessions stored corrections"
        # the next action of every session sees the new catalog: only renamed peaks, no stale name
        for page in pages:
            _close_photo(page)  # a correcting session closes its photo first
            page.get_by_label("Search").fill("prayer flags")
            page.get_by_label("Search").press("Enter")
            settled(page)
            assert page.locator(EXCEPTION).count() == 0
            names = _facet_names(page)
            assert names, "the facets list peaks"
            assert not set(names) & old_names, sorted(set(names) & old_names)
            assert all(name.startswith("Renamed ") for name in names), names


def _correct_a_label(page: Any, expect: Any) -> int:
    """View a photo with a compass heading, turn on "Correct the labels" and click it (a heading correction)."""
    _close_photo(page)
    card = page.locator(CARD, has_text=WITH_COMPASS).first
    card.get_by_role("button", name="View").click()
    dialog = page.get_by_role("dialog")
    toggle = dialog.get_by_text("Correct the labels")
    expect(toggle).to_be_visible(timeout=READY_MS)
    toggle.click()
    image = dialog.frame_locator("iframe").first.locator("#image")
    expect(image).to_have_attribute("src", re.compile("^data:image/"), timeout=READY_MS)
    box = image.bounding_box()
    assert box is not None
    image.click(position={"x": box["width"] * 0.4, "y": box["height"] * 0.3})
    expect(dialog.get_by_text("from your correction")).to_be_visible(timeout=READY_MS)
    return 1


def _close_photo(page: Any) -> None:
    """Close the photo's dialog with its own close button (the click on the photo left the focus in the
    label component's frame, where Escape does not reach the dialog)."""
    dialog = page.get_by_role("dialog")
    if dialog.count():
        dialog.get_by_role("button", name="Close").click()
        dialog.wait_for(state="detached", timeout=READY_MS)
    settled(page)


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
