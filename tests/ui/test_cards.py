"""A result grid's HTML as the browser receives it: each card's picture, scores, badges, capture time and "View",
every name and path escaped, the card naming its grid and place for the click that opens it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from peaklens.answers import PhotoAnswer
from peaklens.records import PhotoHit
from peaklens.ui.cards import card_of, grid_html

PICTURE = "media/0123abcd.jpg"


def answer(path: str, peaks: list[str], **extra: object) -> PhotoAnswer:
    hit = PhotoHit(
        path, path, 0.55, peaks, [0.5] * len(peaks), None, datetime(2023, 10, 28, 9, 5, 7), extra=extra
    )
    return PhotoAnswer(hit, rank_score=0.03125, visual_score=0.55, confidence=0.4)


def cards_of(html: str) -> list[ET.Element]:
    body = html.split("</style>", 1)[1]
    root = ET.fromstring(body)  # well-formed: every text and attribute escaped
    assert root.get("class") == "peaklens-grid"
    return list(root)


def texts(card: ET.Element, cls: str) -> list[str]:
    return ["".join(e.itertext()) for e in card.iter() if e.get("class") == cls]


def test_a_card_shows_its_picture_scores_badges_time_and_view() -> None:
    views = {"Ama Dablam": {"distance_km": 9.43}}
    result = answer("trek/IMG_1.jpg", ["Ama Dablam", "Taboche"], peak_views=views)
    (card,) = cards_of(grid_html([card_of(result, PICTURE, scored=True)], "text", 4, (4, 3)))
    image = card.find("img")
    assert image is not None and image.get("alt") == "trek/IMG_1.jpg"
    assert image.get("src") == PICTURE and image.get("loading") == "lazy"
    assert texts(card, "score") == ["score 0.0312 · visual 0.5500 · confidence 40%"]
    assert texts(card, "badge") == ["▲ Ama Dablam · 9.4 km", "▲ Taboche"]
    assert texts(card, "when") == ["trek/IMG_1.jpg · 2023-10-28 09:05"]
    assert [b.text for b in card.iter("button")] == ["View"]


def test_browsing_cards_have_no_score_and_each_names_its_grid_and_place() -> None:
    results = [answer(f"p{i}.jpg", []) for i in range(3)]
    cards = cards_of(grid_html([card_of(r, PICTURE, scored=False) for r in results], "browse", 4, (4, 3)))
    assert [(c.get("data-section"), c.get("data-index")) for c in cards] == [
        ("browse", str(i)) for i in range(3)
    ]
    assert all(not texts(c, "score") and not texts(c, "badges") for c in cards)
    # the picture and the button open the photo (the grid's click listener reads data-view)
    assert all([e.tag for e in c.iter() if e.get("data-view")] == ["img", "button"] for c in cards)


def test_the_rank_score_alone_when_it_is_the_visual_one() -> None:
    result = PhotoAnswer(answer("a.jpg", []).hit, rank_score=0.55, visual_score=0.55)
    (card,) = cards_of(grid_html([card_of(result, PICTURE, scored=True)], "text", 4, (4, 3)))
    assert texts(card, "score") == ["score 0.5500"]


def test_a_missing_picture_says_so_and_the_card_stays() -> None:
    (card,) = cards_of(grid_html([card_of(answer("gone.jpg", []), None, scored=False)], "browse", 4, (4, 3)))
    assert card.find("img") is None
    assert texts(card, "missing") == ["gone.jpg: file not available"]
    assert [b.text for b in card.iter("button")] == ["View"]


def test_names_and_paths_are_escaped() -> None:
    path = 'a <b>"quoted" & odd</b>.jpg'
    result = answer(path, ["<script>alert(1)</script>"])
    html = grid_html([card_of(result, PICTURE, scored=False)], 'sec"tion', 4, (4, 3))
    assert "<script>" not in html and "<b>" not in html
    (card,) = cards_of(html)
    assert card.get("data-section") == 'sec"tion'
    assert texts(card, "badge") == ["▲ <script>alert(1)</script>"]
    assert texts(card, "when") == [f"{path} · 2023-10-28 09:05"]
