"""Draw a trek photo with its peak labels placed by registration against the terrain, as the UI draws them.

    .venv/bin/python scripts/registered_labels.py ../shared/trek/jpeg/IMG_2195.jpg ../shared/dem docs/screenshots/registered-labels.png

No model is needed: the labels come from geometry alone (GPS, compass, the SRTM tiles, the packaged catalog).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from peaklens.catalog import load_catalog
from peaklens.dem import add_tiles, load_dem
from peaklens.enrich import camera_of
from peaklens.imaging import open_photo
from peaklens.registration import place_photo
from peaklens.ui.labels import draw_labels, heading_caption


def main() -> int:
    photo_path, dem_folder, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    photo = open_photo(photo_path, target=1600)
    camera = camera_of(photo.meta, photo.width, photo.height)
    if camera is None:
        raise SystemExit(f"{photo_path} has no GPS position")
    peaks, _ = load_catalog(None)
    with tempfile.TemporaryDirectory() as data_dir:
        add_tiles(Path(data_dir), sorted(dem_folder.glob("*.hgt")))
        view, fit = place_photo(photo.image, camera, peaks, load_dem(Path(data_dir)))
    draw_labels(photo.image, view, shown_width=1000).save(out)
    print(heading_caption(view), "|", None if fit is None else fit.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
