"""A result grid as one block of HTML: every card (thumbnail, scores, peak badges, capture time, "View") in it.

Streamlit draws each element it is sent on its own: 24 cards as images, markdown, captions, buttons and columns
were ~120 elements, much of the browser's work for the first page. One HTML block (``st.html``, sanitised by
Streamlit) is painted at once; its pictures load lazily, so only those inside the window are fetched and decoded
with the first paint. A click on a card's "View" or its picture is read by ``peaklens.ui.grid``'s small
component. Every name and path in the HTML is escaped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from peaklens.answers import PhotoAnswer

#: the card's styles; sent inside the grid's block, so the cards arrive styled (Streamlit keeps a <style> in
#: st.html). Colours read on Streamlit's light and dark themes alike: text in the theme's colour (the capture
#: line dimmed), translucent backgrounds, Streamlit's blue for badges and its red for the button's hover.
STYLE = """<style>
.peaklens-grid { display: grid; grid-template-columns: repeat(var(--columns), minmax(0, 1fr)); gap: 1rem; }
.peaklens-card { display: flex; flex-direction: column; gap: 0.5rem; min-width: 0; }
.peaklens-card img { width: 100%; aspect-ratio: var(--aspect); object-fit: cover; border-radius: 0.5rem;
  cursor: zoom-in; display: block; }
.peaklens-card .missing { aspect-ratio: var(--aspect); border-radius: 0.5rem; padding: 1rem;
  background: rgba(255, 189, 69, 0.2); overflow-wrap: anywhere; }
.peaklens-card p { margin: 0; overflow-wrap: anywhere; }
.peaklens-card .badges { display: flex; flex-wrap: wrap; gap: 0.25rem; }
.peaklens-card .badge { background: rgba(28, 131, 225, 0.15); color: rgb(28, 131, 225); border-radius: 0.5rem;
  padding: 0 0.375rem; font-size: 0.875rem; }
.peaklens-card .when { opacity: 0.6; font-size: 0.875rem; }
.peaklens-card button { align-self: flex-start; font: inherit; color: inherit; background: transparent;
  border: 1px solid rgba(128, 128, 128, 0.4); border-radius: 0.5rem; padding: 0.25rem 0.75rem; cursor: pointer; }
.peaklens-card button:hover { border-color: rgb(255, 75, 75); color: rgb(255, 75, 75); }
</style>"""


@dataclass(frozen=True)
class Card:
    """What one card shows: the words are the text of its lines, the picture where the browser fetches it
    (None: the photo's file was not found)."""

    path: str
    picture: str | None
    score: str | None
    badges: tuple[str, ...]
    when: str


def score_text(result: PhotoAnswer, scored: bool) -> str | None:
    """Only the scores a result has: none when browsing; the score the list is ordered by, and the visual
    score beside it where they differ (a query naming a peak is ordered by the fused score), as the CLI."""
    if not scored:
        return None
    parts = [f"score {result.rank_score:.4f}"]
    if result.rank_score != result.visual_score:
        parts.append(f"visual {result.visual_score:.4f}")
    if result.confidence is not None:
        parts.append(f"confidence {result.confidence:.0%}")
    return " · ".join(parts)


def badge_texts(result: PhotoAnswer) -> tuple[str, ...]:
    """A badge per predicted peak, with its distance where the photo's frame gave one."""
    views = result.hit.extra.get("peak_views") if isinstance(result.hit.extra, dict) else None
    badges = []
    for name in result.hit.predicted_peaks:
        detail = ""
        if isinstance(views, dict) and isinstance(views.get(name), dict):
            detail = f" · {views[name].get('distance_km', 0):.1f} km"
        badges.append(f"▲ {name}{detail}")
    return tuple(badges)


def when_text(result: PhotoAnswer) -> str:
    hit = result.hit
    when = hit.local_time or hit.shot_time
    return f"{hit.path} · {when.strftime('%Y-%m-%d %H:%M') if when else 'no capture time'}"


def card_of(result: PhotoAnswer, picture: str | None, scored: bool) -> Card:
    return Card(result.hit.path, picture, score_text(result, scored), badge_texts(result), when_text(result))


def card_html(card: Card, section: str, index: int) -> str:
    if card.picture:
        # lazy: a picture below the window is fetched and decoded when it is scrolled to, not with the first paint
        picture = (
            f'<img src="{escape(card.picture)}" alt="{escape(card.path)}" loading="lazy" decoding="async" '
            'data-view="1"/>'
        )
    else:
        picture = f'<div class="missing" role="alert">{escape(card.path)}: file not available</div>'
    lines = [picture]
    if card.score:
        number, _, rest = card.score.removeprefix("score ").partition(" · ")
        tail = f" · {escape(rest)}" if rest else ""
        lines.append(f'<p class="score">score <strong>{escape(number)}</strong>{tail}</p>')
    if card.badges:
        badges = "".join(f'<span class="badge">{escape(b)}</span>' for b in card.badges)
        lines.append(f'<div class="badges">{badges}</div>')
    lines.append(f'<p class="when">{escape(card.when)}</p>')
    lines.append('<button type="button" data-view="1">View</button>')
    return (
        f'<div class="peaklens-card" data-section="{escape(section)}" data-index="{index}">'
        + "".join(lines)
        + "</div>"
    )


def grid_html(cards: list[Card], section: str, columns: int, aspect: tuple[int, int]) -> str:
    """The cards in rows of ``columns``, each picture cropped to ``aspect`` (width, height)."""
    style = f"--columns: {columns}; --aspect: {aspect[0]} / {aspect[1]};"
    body = "".join(card_html(card, section, index) for index, card in enumerate(cards))
    return f'{STYLE}<div class="peaklens-grid" style="{style}">{body}</div>'
