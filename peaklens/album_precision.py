"""The CPU precision chosen on the user's own photos, the first time a model runs on this CPU.

``embed.precision`` measures int8 against fp32 (agreement and speed); this module only picks the photos and
prompts it measures on: a sample of the album being indexed and the catalog's peak prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from peaklens.catalog import load_catalog
from peaklens.config import Settings
from peaklens.imaging import BadImage
from peaklens.scan import AlbumFile


def choose_album_precision(
    files: Sequence[AlbumFile], settings: Settings, say: Callable[[str], None]
) -> str | None:
    """The first time a model runs on a CPU with ``precision: auto``, measure int8 against fp32 on up to 32 of
    this album's photos and the catalog's prompts, store the decision and say it (docs/PRECISION.md).

    Returns the precision chosen, or None when nothing needed deciding (explicit precision, a GPU, or a
    decision already stored)."""
    from peaklens.embed.precision import MAX_SAMPLE_IMAGES, choose_precision, precision_decision
    from peaklens.embed.prompts import PEAK_PROMPTS, prompts_for
    from peaklens.embed.runtime import on_cpu, resolve_runtime
    from peaklens.imaging import open_photo

    if settings.precision != "auto" or not on_cpu(settings):
        return None
    if precision_decision(settings, resolve_runtime(settings)) is not None:
        return None
    step = max(1, len(files) // MAX_SAMPLE_IMAGES)
    images = []
    for album_file in files[::step][:MAX_SAMPLE_IMAGES]:
        try:
            images.append(open_photo(album_file.abs_path, target=448).image)
        except BadImage:
            continue
    peaks, _warnings = load_catalog(None)
    prompts = {peak.id: prompts_for(peak.names, PEAK_PROMPTS) for peak in peaks}
    say(f"Measuring int8 against fp32 on {len(images)} of your photos (first use of this model on this CPU)…")
    decision = choose_precision(settings, images, prompts)
    say(f"precision: {decision.reason}")
    return decision.precision
