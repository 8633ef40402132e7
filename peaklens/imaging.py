"""Decoding photos cheaply and safely for the model.

The model sees 224-448 px, so decoding a 12 MP photo in full is waste: JPEGs use DCT scaling (``draft``),
HEICs use their embedded thumbnail. Every way a file can be broken ends as ``BadImage`` with a reason a
person understands, so one bad file costs one line in the log and never the run.
"""

from __future__ import annotations

import io
import math
import re
import struct
import warnings
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pillow_heif
from PIL import Image, UnidentifiedImageError

from peaklens.errors import PeaklensError
from peaklens.exif import ORIENTATION, PhotoMeta, read_meta
from peaklens.scan import AlbumFile

pillow_heif.register_heif_opener()
# Our own header check (``max_pixels``) reports oversized images as BadImage; Pillow's warning would only
# repeat it on stderr, from worker threads where ``catch_warnings`` is not safe.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

DEFAULT_MAX_PIXELS = 178_956_970  # Pillow's own default limit
MB = 1024 * 1024

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class BadImage(PeaklensError):
    """A file that cannot be used as a photo; ``str(err)`` is the reason in plain words."""


@dataclass
class LoadedPhoto:
    """A decoded photo: RGB, upright, longest side about ``target``; ``width``/``height`` are the original
    upright pixel size (before reduction)."""

    image: Image.Image
    meta: PhotoMeta
    width: int
    height: int


def _limit(max_pixels: int) -> str:
    return f"{max_pixels // 1_000_000} megapixel" if max_pixels >= 1_000_000 else f"{max_pixels} pixel"


def _too_large(width: int, height: int, max_pixels: int) -> BadImage:
    return BadImage(f"image too large: {width}x{height} pixels exceeds the {_limit(max_pixels)} limit")


def _header_size(fp: IO[bytes]) -> tuple[int, int] | None:
    """The size a format plugin reads from the header, without Pillow's bomb check (to name the size)."""
    fp.seek(0)
    prefix = fp.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        try:
            if accept and not accept(prefix):
                continue
            fp.seek(0)
            im = factory(fp, "")
            return im.size
        except Exception:
            continue
    return None


def _bomb_message(exc: Exception, fp: IO[bytes], max_pixels: int) -> BadImage:
    try:
        size = _header_size(fp)
    except Exception:
        size = None
    if size:
        return _too_large(size[0], size[1], max_pixels)
    match = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"{int(match.group(1)) / 1e6:.0f} megapixels" if match else "image"
    return BadImage(f"image too large: {pixels} exceeds the {_limit(max_pixels)} limit")


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF boxes in ``data[start:end]`` as (type, payload start, box end)."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _heif_data_end(fp: IO[bytes]) -> int:
    """The furthest byte the HEIF item locations (iloc) point at; 0 when they cannot be read.

    libheif decodes a file cut short (an interrupted copy from a phone) without an error, painting the
    missing grid tiles green; comparing this with the file size catches it.
    """
    fp.seek(0)
    head = fp.read(4 * MB)
    for kind, start, end in _boxes(head, 0, len(head)):
        if kind != b"meta":
            continue
        for sub, s_start, s_end in _boxes(head, start + 4, end):  # meta is a FullBox
            if sub == b"iloc":
                return _iloc_end(head[s_start:s_end])
    return 0


def _iloc_end(box: bytes) -> int:
    version = box[0]
    sizes = struct.unpack_from(">H", box, 4)[0]
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
    base_size, index_size = (sizes >> 4) & 15, (sizes & 15) if version in (1, 2) else 0
    pos = 6

    def read(width: int) -> int:
        nonlocal pos
        value = int.from_bytes(box[pos : pos + width], "big") if width else 0
        pos += width
        return value

    furthest = 0
    for _ in range(read(2 if version < 2 else 4)):
        read(2 if version < 2 else 4)  # item id
        method = read(2) & 15 if version in (1, 2) else 0
        read(2)  # data reference index
        base = read(base_size)
        for _ in range(read(2)):
            read(index_size)
            offset, length = read(offset_size), read(length_size)
            if method == 0 and length:
                furthest = max(furthest, base + offset + length)
    if pos > len(box):
        return 0  # malformed table: let libheif judge
    return furthest


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """L from a 16/32-bit integer or float image, scaled by its range (a plain convert would clip)."""
    array = np.asarray(image)
    if array.dtype.kind == "f":
        array = np.nan_to_num(array.astype(np.float64))
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
    else:
        array = array.astype(np.int64)
        high = int(array.max()) if array.size else 0
        low = min(int(array.min()), 0) if array.size else 0
        if image.mode == "I" and low >= 0 and high <= 255:
            scaled = array.astype(np.float64)  # 8-bit range data in a wide mode
        elif low >= 0 and high <= 65535:
            scaled = array / 257.0  # 16-bit full scale
        else:
            scaled = (array - low) / max(high - low, 1) * 255.0
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for every mode a photo may come in; transparency is composited onto white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
        mode = image.mode
    elif mode == "PA":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in ("L", "1", "CMYK", "YCbCr", "RGBX", "HSV"):
        return image.convert("RGB")
    if mode.startswith("I") or mode == "F":
        return _scale_to_8bit(image).convert("RGB")
    if mode == "LAB":
        from PIL import ImageCms

        try:
            to_rgb = ImageCms.buildTransform(
                ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
            )
            result = ImageCms.applyTransform(image, to_rgb)
        except Exception:
            raise BadImage("unsupported image mode LAB (colour conversion failed)") from None
        assert result is not None
        return result
    raise BadImage(f"unsupported image mode {mode}")


def _draft_box(size: tuple[int, int], target: int) -> tuple[int, int]:
    """The requested size for ``draft``: the image's own aspect with the longest side at ``target``.

    Pillow picks the largest DCT scale that keeps *both* sides at least the requested box, so asking for a
    square box would keep the short side at ``target`` and decode up to 4x the pixels we need.
    """
    width, height = size
    ratio = target / max(width, height)
    return max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))


def _pending_orientation(loaded: Image.Image, orientation: int) -> int:
    """The EXIF orientation still to apply after ``load``.

    Some plugins turn the image upright themselves and then drop the tag (Pillow's TIFF plugin in recent
    versions, pillow-heif always); they also report the upright size from the header. Rotating again
    would turn the photo sideways.
    """
    if orientation == 1:
        return 1
    try:
        still = loaded.getexif().get(ORIENTATION, 1)
    except Exception:
        return orientation
    return orientation if still == orientation else 1


def _orient(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def _decode(
    fp: IO[bytes], target: int, max_pixels: int, min_side: int
) -> LoadedPhoto:  # raises BadImage, or Pillow's errors for the caller to translate
    try:
        im = Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise _bomb_message(exc, fp, max_pixels) from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise BadImage(f"image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise _too_large(width, height, max_pixels)
        meta = read_meta(im)
        if im.format == "HEIF":
            fp.seek(0, io.SEEK_END)
            if _heif_data_end(fp) > fp.tell():
                raise BadImage("truncated or corrupt image data (the file is cut short)")
            # Decode the embedded thumbnail when one is big enough; EXIF stays the primary image's.
            im.draft(None, (min_side, min_side))
        elif im.format == "JPEG":
            im.draft("RGB", _draft_box(im.size, target))  # DCT scaling: 1/2, 1/4, 1/8 at decode time
        im.load()
        orientation = _pending_orientation(im, meta.orientation)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        image = _to_rgb(im)
        if max(image.size) > target:
            # reducing_gap: a cheap box ``reduce`` first, then bicubic for the last factor of two
            image.thumbnail((target, target), Image.Resampling.BICUBIC, reducing_gap=2.0)
        image = _orient(image, orientation)
        if image is im:
            image = im.copy()  # a plain Image, independent of the file object closed below
    return LoadedPhoto(image=image, meta=meta, width=width, height=height)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not an image (cannot identify image file)"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode the image"
    if "truncated" in text.lower() or isinstance(exc, OSError | EOFError | SyntaxError):
        return "truncated or corrupt image data"
    return f"cannot decode image ({type(exc).__name__}: {text[:120]})"


def _guarded(fp: IO[bytes], target: int, max_pixels: int, min_side: int) -> LoadedPhoto:
    if target < 1:
        raise ValueError(f"target must be positive, got {target}")
    try:
        return _decode(fp, target, max_pixels, min_side)
    except BadImage:
        raise
    except Image.DecompressionBombError as exc:
        raise _bomb_message(exc, fp, max_pixels) from None
    except Exception as exc:  # Pillow and its plugins raise many types for broken data
        raise BadImage(_reason(exc)) from exc


def open_photo(
    path: Path, target: int = 448, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = 224
) -> LoadedPhoto:
    """Decode ``path`` for the model: RGB, upright, longest side reduced to ``target`` (never upscaled).

    Raises only ``BadImage``. ``min_side``: a HEIC thumbnail whose short side reaches it is decoded instead
    of the full image.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0:
            raise BadImage("empty file (0 bytes)")
        fp = path.open("rb")
    except BadImage:
        raise
    except FileNotFoundError:
        raise BadImage("file not found (moved or deleted?)") from None
    except PermissionError:
        raise BadImage("cannot read the file (permission denied)") from None
    except IsADirectoryError:
        raise BadImage("not a file (it is a folder)") from None
    except OSError as exc:
        raise BadImage(f"cannot read the file ({exc.strerror or exc})") from None
    with fp:
        return _guarded(fp, target, max_pixels, min_side)


def _size_text(n: int, exact: bool = True) -> str:
    """52.3 MB / 40 MB / 12.5 KB / 100 bytes: a size the user can compare with the limit."""
    for unit, size in (("MB", MB), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if exact else f"{round(n / size, 1):g} {unit}"
    return f"{n} bytes"


def open_upload(data: bytes, max_bytes: int, target: int = 448) -> LoadedPhoto:
    """Decode an uploaded photo with the same guards, after a size cap the user is told about."""
    if len(data) > max_bytes:
        raise BadImage(
            f"upload is {_size_text(len(data))}; the limit is {_size_text(max_bytes, exact=False)}"
        )
    if not data:
        raise BadImage("empty file (0 bytes)")
    return _guarded(io.BytesIO(data), target, DEFAULT_MAX_PIXELS, 224)


def _decode_one(file: AlbumFile, target: int) -> LoadedPhoto | BadImage:
    try:
        return open_photo(file.abs_path, target=target)
    except BadImage as exc:
        return exc


def decode_many(
    files: Sequence[AlbumFile], target: int, workers: int, prefetch: int = 64
) -> Generator[tuple[AlbumFile, LoadedPhoto | BadImage], None, None]:
    """Decode on ``workers`` threads, yielding in input order with at most ``prefetch`` photos in flight.

    Pillow releases the GIL while decoding, so this overlaps with the model; the bound keeps memory flat on
    a large album. Closing the iterator early cancels what was not started.
    """
    workers = max(1, workers)
    prefetch = max(prefetch, workers)
    pending: deque[tuple[AlbumFile, Future[LoadedPhoto | BadImage]]] = deque()
    source = iter(files)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="peaklens-decode")
    try:
        for file in source:
            pending.append((file, pool.submit(_decode_one, file, target)))
            if len(pending) >= prefetch:
                break
        while pending:
            file, future = pending.popleft()
            result = future.result()
            nxt = next(source, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_decode_one, nxt, target)))
            yield file, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "BadImage",
    "LoadedPhoto",
    "decode_many",
    "open_photo",
    "open_upload",
]
