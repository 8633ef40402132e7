"""Real photo files for tests: good ones with chosen EXIF, and every kind of broken file an album holds.

Everything is written at test time into a tmp folder (nothing binary is checked in), with Pillow's own
``Image.Exif`` for the metadata and pillow-heif for HEIC.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from peaklens.records import GeoPoint

pillow_heif.register_heif_opener()

SHARED = Path(__file__).resolve().parents[2] / "shared"
TREK = SHARED / "trek"
ALBUM = SHARED / "album"

IFD_EXIF, IFD_GPS = 0x8769, 0x8825
_SUFFIX_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".heic": "HEIF", ".heif": "HEIF", ".png": "PNG",
                  ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}  # fmt: skip


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees as the (deg, min, sec) rationals cameras write, seconds to 1/10000."""
    value = abs(value)
    degrees = int(value)
    minutes_f = (value - degrees) * 60
    minutes = int(minutes_f)
    seconds = round((minutes_f - minutes) * 60 * 10000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def make_exif(
    *,
    gps: GeoPoint | tuple[float, float] | None = None,
    heading: float | None = None,
    altitude: float | None = None,
    shot_time: datetime | str | None = None,
    offset: str | None = None,
    focal35: float | None = None,
    focal: float | None = None,
    orientation: int | None = None,
) -> Image.Exif:
    """An ``Image.Exif`` with the GPS IFD (0x8825) and Exif IFD (0x8769) filled from plain values.

    A tz-aware ``shot_time`` writes its offset as OffsetTimeOriginal unless ``offset`` is given.
    """
    exif = Image.Exif()
    exif[0x010F] = "peaklens-tests"
    if orientation is not None:
        exif[0x0112] = orientation
    gps_ifd: dict[int, object] = {}
    if gps is not None:
        lat, lon = (gps.lat, gps.lon) if isinstance(gps, GeoPoint) else gps
        gps_ifd.update({0: b"\x02\x03\x00\x00", 1: "N" if lat >= 0 else "S", 2: _dms(lat),
                        3: "E" if lon >= 0 else "W", 4: _dms(lon)})  # fmt: skip
    if altitude is not None:
        gps_ifd[5] = b"\x00" if altitude >= 0 else b"\x01"
        gps_ifd[6] = IFDRational(round(abs(altitude) * 100), 100)
    if heading is not None:
        gps_ifd[16] = "T"
        gps_ifd[17] = IFDRational(round(heading * 100), 100)
    if gps_ifd:
        exif[IFD_GPS] = gps_ifd
    exif_ifd: dict[int, object] = {}
    if shot_time is not None:
        if isinstance(shot_time, datetime):
            if offset is None and shot_time.utcoffset() is not None:
                offset = _offset_text(shot_time.utcoffset() or timedelta())
            text = shot_time.strftime("%Y:%m:%d %H:%M:%S")
        else:
            text = shot_time
        exif_ifd[0x9003] = text
        exif_ifd[0x9004] = text
        exif[0x0132] = text
    if offset is not None:
        exif_ifd[0x9011] = offset
        exif_ifd[0x9012] = offset
    if focal is not None:
        exif_ifd[0x920A] = IFDRational(round(focal * 100), 100)
    if focal35 is not None:
        exif_ifd[0xA405] = round(focal35)
    if exif_ifd:
        exif[IFD_EXIF] = exif_ifd
    return exif


def _pixels(size: tuple[int, int], color: tuple[int, int, int]) -> Image.Image:
    """A colour with a gradient and a marker in the top-left corner, so orientation and scaling show."""
    width, height = size
    base = np.empty((height, width, 3), dtype=np.float64)
    base[:] = color
    ramp = np.linspace(-30, 30, width)[None, :, None]
    array = np.clip(base + ramp, 0, 255).astype(np.uint8)
    array[: max(1, height // 4), : max(1, width // 4)] = (255, 255, 255)
    return Image.fromarray(array, "RGB")


def write_photo(
    path: Path,
    *,
    gps: GeoPoint | tuple[float, float] | None = None,
    heading: float | None = None,
    altitude: float | None = None,
    shot_time: datetime | str | None = None,
    offset: str | None = None,
    focal35: float | None = None,
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] = (90, 140, 200),
    fmt: str | None = None,
    orientation: int | None = None,
    exif: Image.Exif | None = None,
) -> Path:
    """Write a valid photo (stored ``size``, as the sensor saw it) with the given EXIF; returns ``path``.

    ``fmt`` is "JPEG", "HEIF", "PNG", "WEBP" or "TIFF"; by default it follows the suffix. ``exif`` replaces
    the built EXIF entirely (for junk-value tests).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = (fmt or _SUFFIX_FORMAT.get(path.suffix.lower(), "JPEG")).upper()
    if exif is None:
        exif = make_exif(
            gps=gps, heading=heading, altitude=altitude, shot_time=shot_time, offset=offset,
            focal35=focal35, orientation=orientation,
        )  # fmt: skip
    image = _pixels(size, color)
    options: dict[str, object] = {"exif": exif.tobytes()}
    if fmt in ("JPEG", "HEIF", "WEBP"):
        options["quality"] = 90
    image.save(path, format=fmt, **options)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width``x``height`` with almost no data: a cheap decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))  # fmt: skip
    return path


def junk_exif() -> Image.Exif:
    """EXIF as broken cameras write it: zero denominators, NaN, bad refs, out-of-range and garbage text."""
    exif = Image.Exif()
    exif[0x0112] = 42  # no such orientation
    exif[IFD_GPS] = {
        1: "N",
        2: (IFDRational(27, 0), IFDRational(41, 1), IFDRational(0, 0)),
        3: "Q",
        4: (IFDRational(86, 1), IFDRational(43, 1), IFDRational(5, 0)),
        5: b"\x00",
        6: IFDRational(1, 0),
        17: IFDRational(7200, 10),  # 720 degrees
    }
    exif[IFD_EXIF] = {
        0x9003: "not a date at all",
        0x9011: "+99:99",
        0x920A: IFDRational(0, 0),
        0xA405: 0,
    }
    return exif


EXIFTOOL_MISSING = (
    "exiftool is not installed: the EXIF tests compare peaklens with it "
    "(Debian: apt-get install -y libimage-exiftool-perl)"
)


def exiftool(*args: str) -> str:
    """Run Phil Harvey's exiftool, the reference reader and writer; missing exiftool fails the test."""
    tool = shutil.which("exiftool")
    if tool is None:
        raise RuntimeError(EXIFTOOL_MISSING)
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0 or "Warning" in done.stderr or "Error" in done.stderr:
        raise RuntimeError(f"exiftool {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def exiftool_write(path: Path, tags: dict[str, str]) -> Path:
    """Write ``tags`` (exiftool names, e.g. "XMP-exif:DateTimeOriginal", values as exiftool takes them)."""
    exiftool("-q", "-overwrite_original", *(f"-{name}={value}" for name, value in tags.items()), str(path))
    return path


def exiftool_read(paths: list[Path], *tags: str) -> dict[str, dict[str, object]]:
    """exiftool's own reading (``-j -n``) of ``tags`` for each file, keyed by file name."""
    rows = json.loads(exiftool("-j", "-n", *(f"-{tag}" for tag in tags), *(str(p) for p in paths)))
    return {Path(row["SourceFile"]).name: row for row in rows}


_EXIFTOOL_TIME = re.compile(
    r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$"
)


def exiftool_moment(text: str) -> datetime:
    """A time as exiftool prints it ("2023:10:27 06:47:48.109+05:45", "... 01:02:47Z"), parsed here and
    not by peaklens, so tests compare two independent readings."""
    match = _EXIFTOOL_TIME.match(text)
    assert match, f"exiftool time {text!r}"
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int(((fraction or "") + "000000")[:6])
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    if zone == "Z":
        return moment.replace(tzinfo=timezone.utc)
    if zone:
        sign = -1 if zone[0] == "-" else 1
        return moment.replace(tzinfo=timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))))
    return moment


TRUNCATED = "truncated or corrupt image data"


def write_bad_album(root: Path) -> dict[str, str]:
    """Fill ``root`` with good and broken files; returns {rel_path: expected BadImage reason part, or "ok"}.

    Hidden entries (".secret.jpg", ".thumbs/") and non-photo extensions are written too but are not in the
    result, because the scan must not list them.
    """
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    (root / "empty.jpg").write_bytes(b"")
    expected["empty.jpg"] = "empty file (0 bytes)"

    full = root / "truncated.jpg"
    noise = np.random.default_rng(7).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise, "RGB").save(full, format="JPEG", quality=95)
    full.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    expected["truncated.jpg"] = TRUNCATED

    (root / "notes.jpg").write_text("shopping list: rice, dal, batteries\n")
    expected["notes.jpg"] = "not an image"

    alpha = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    alpha.paste((0, 0, 255, 255), (0, 0, 20, 30))
    alpha.save(root / "alpha.png")
    expected["alpha.png"] = "ok"

    palette = Image.new("P", (32, 32), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    palette.paste(1, (16, 0, 32, 32))
    palette.save(root / "palette.png", transparency=0)
    expected["palette.png"] = "ok"

    gray16 = (np.linspace(0, 65535, 60 * 40).reshape(40, 60)).astype(np.uint16)
    Image.fromarray(gray16).save(root / "gray16.png")
    expected["gray16.png"] = "ok"

    Image.new("CMYK", (50, 40), (0, 255, 255, 0)).save(root / "cmyk.jpg", format="JPEG")
    expected["cmyk.jpg"] = "ok"

    write_png_header(root / "bomb.png", 40_000, 40_000)
    expected["bomb.png"] = "image too large: 40000x40000"

    write_png_header(root / "big.png", 15_000, 15_000)  # above the limit, below Pillow's hard error
    expected["big.png"] = "image too large: 15000x15000"

    write_photo(root / "junk_gps.jpg", exif=junk_exif())
    expected["junk_gps.jpg"] = "ok"

    _pixels((64, 48), (30, 160, 60)).save(root / "plain.jpg", format="JPEG")
    expected["plain.jpg"] = "ok"

    write_photo(root / "rotated.jpg", size=(64, 48), orientation=6)
    expected["rotated.jpg"] = "ok"

    write_photo(root / "Sub Folder" / "UPPER.JPG", gps=(27.80, 86.71), size=(40, 30))
    expected["Sub Folder/UPPER.JPG"] = "ok"

    write_photo(root / "nested" / "deeper" / "shot.webp", gps=(27.9, 86.8))
    expected["nested/deeper/shot.webp"] = "ok"

    write_photo(
        root / "trek.heic",
        gps=(27.9881, 86.9250),
        shot_time=datetime(2023, 10, 27, 6, 47, 48),
        offset="+05:45",
        heading=330.95,
        altitude=5364.0,
        size=(96, 64),
    )
    expected["trek.heic"] = "ok"

    write_photo(root / ".secret.jpg")
    write_photo(root / ".thumbs" / "cached.jpg")
    (root / "readme.txt").write_text("not a photo\n")
    return expected
