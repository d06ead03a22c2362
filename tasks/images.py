"""Images for a vision model: verified, upright, bounded, resized and sent as data URLs.

Loaders only probe an image (its header: format and size), which is cheap; the full decode, the
EXIF rotation and the resize happen in `prepare_image`, when the image is about to be sent.
"""

from __future__ import annotations

import base64
import binascii
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from ted.tasks.errors import ImageError
from ted.tasks.paths import resolve_inside

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MAX_SIDE = 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 20_000_000
# Formats a dataset image may have; exotic decoders are never reached. (Multi-picture JPEGs from
# phones open through the JPEG decoder and report the format "MPO".)
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
_MIME = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
_FEW_COLOURS = 256
_JPEG_QUALITY = 90
_EXIF_ORIENTATION = 0x0112


def is_data_url(text: str) -> bool:
    """Whether ``text`` is a ``data:`` URL rather than a path."""
    return text.startswith("data:")


def data_url_to_bytes(url: str, *, max_bytes: int | None = None) -> bytes:
    """Decode a base64 ``data:image/...`` URL, refusing a payload over ``max_bytes`` before decoding it.

    Raises:
        ImageError: The URL is not a base64 image data URL, or its image is too large.
    """
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:image/") or not header.endswith(";base64"):
        raise ImageError(f"not a base64 image data URL: {url[:40]!r}")
    if max_bytes is not None and len(payload) > 4 * -(-max_bytes // 3):
        raise _too_many_bytes("the embedded image", len(payload) * 3 // 4, max_bytes)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"the image data URL is not valid base64: {exc}") from exc


def _too_many_bytes(label: str, size: int, max_bytes: int) -> ImageError:
    return ImageError(f"{label} has {size:,} bytes, more than the limit of {max_bytes:,}")


def bytes_to_data_url(raw: bytes, mime: str) -> str:
    """Encode ``raw`` bytes as a base64 data URL of type ``mime``."""
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _check_pixels(label: str, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(
            f"{label} has {width}x{height} = {width * height:,} pixels, "
            f"more than the limit of {max_pixels:,} "
            "(a possible decompression bomb); raise max_pixels if the image is genuine"
        )


def _open(data: bytes | Path, label: str, max_pixels: int) -> Image.Image:
    """Open an image lazily (header only), refusing unknown formats and too many pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(BytesIO(data) if isinstance(data, bytes) else data, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{label} is a possible decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{label} is not a readable image (expected one of {', '.join(ACCEPTED_FORMATS)})"
        ) from exc
    except OSError as exc:
        raise ImageError(f"cannot read {label}: {exc}") from exc
    try:
        _check_pixels(label, image.size, max_pixels)
    except ImageError:
        image.close()
        raise
    return image


def _label(source: str | Path | bytes) -> str:
    if isinstance(source, bytes) or (isinstance(source, str) and is_data_url(source)):
        return "the embedded image"
    return f"image {str(source)!r}"


def _locate(source: str | Path | bytes, root: Path | None, max_bytes: int) -> bytes | Path:
    """The image's bytes, or its file; either refused when larger than ``max_bytes``, unread."""
    if isinstance(source, bytes):
        if len(source) > max_bytes:
            raise _too_many_bytes("the embedded image", len(source), max_bytes)
        return source
    if isinstance(source, str) and is_data_url(source):
        return data_url_to_bytes(source, max_bytes=max_bytes)
    if root is not None:
        path = resolve_inside(root, source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"image file {str(source)!r} does not exist")
    if (size := path.stat().st_size) > max_bytes:
        raise _too_many_bytes(_label(source), size, max_bytes)
    return path


def probe_image(
    source: str | Path | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    root: Path | None = None,
) -> tuple[str, int, int]:
    """Check an image cheaply: it exists, has a known format and a bounded size in bytes and pixels.

    Only the header is read, so this is what loaders call for every row.

    Returns:
        The Pillow format name, the width and the height.

    Raises:
        ImageError: The image is missing, unreadable, too large or outside ``root``.
    """
    label = _label(source)
    image = _open(_locate(source, root, max_bytes), label, max_pixels)
    with image:
        return str(image.format), image.width, image.height


def embed_image_bytes(raw: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """Probe image bytes and wrap them, unchanged, in a data URL of their own type."""
    from PIL import Image

    if not raw:
        raise ImageError("the embedded image is empty")
    image_format, _, _ = probe_image(raw, max_pixels=max_pixels)
    return bytes_to_data_url(raw, _MIME.get(image_format) or Image.MIME.get(image_format, "image/png"))


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return True
    return image.mode == "P" and "transparency" in image.info


def _to_display_mode(image: Image.Image) -> Image.Image:
    """Convert to RGB, or RGBA when some pixel is actually transparent."""
    import numpy as np
    from PIL import Image

    if _has_alpha(image):
        rgba = image.convert("RGBA")
        alpha_low = rgba.getchannel("A").getextrema()[0]
        opaque = not isinstance(alpha_low, tuple) and alpha_low >= 255
        return rgba.convert("RGB") if opaque else rgba
    if image.mode.startswith(("I", "F")):
        # 16-bit and float images: stretch their value range to 8 bits instead of clipping it.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _ready(image: Image.Image, max_side: int) -> bool:
    """Whether ``image`` can go to a model unchanged.

    That is an upright RGB image no larger than ``max_side``: a JPEG, or a PNG with few colours (what
    this function would write for it anyway).
    """
    if image.mode != "RGB" or max(image.size) > max_side:
        return False
    if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        return False
    return image.format == "JPEG" or (image.format == "PNG" and image.getcolors(_FEW_COLOURS) is not None)


def prepare_image(
    source: str | Path | bytes,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    root: Path | None = None,
) -> str:
    """Turn an image into a data URL a vision model accepts.

    The image is verified and fully decoded. An upright RGB JPEG, or PNG with few colours, no larger
    than ``max_side`` is sent as it is. Any other image is turned upright from its EXIF
    orientation, converted to RGB (RGBA when it has real transparency), shrunk so that its longer side
    is at most ``max_side`` and encoded as PNG when it has transparency or few colours (diagrams stay
    crisp), else as JPEG.

    Args:
        source: A file path, a ``data:`` URL or the raw bytes of an image.
        max_side: The longest side of the result, in pixels.
        max_pixels: Images with more pixels are refused before they are decoded.
        max_bytes: Larger files and payloads are refused before they are read or decoded.
        root: When given, a path must resolve inside this folder (symlinks included).

    Returns:
        A ``data:image/png;base64,...`` or ``data:image/jpeg;base64,...`` URL.

    Raises:
        ImageError: The image is missing, unreadable, truncated, too large or outside ``root``.
        ValueError: ``max_side`` or ``max_pixels`` is not positive.
    """
    from PIL import Image, ImageOps

    if max_side < 1 or max_pixels < 1 or max_bytes < 1:
        raise ValueError("max_side, max_pixels and max_bytes must be positive")
    label = _label(source)
    located = _locate(source, root, max_bytes)
    data = located if isinstance(located, bytes) else located.read_bytes()
    with _open(data, label, max_pixels) as probe:
        try:
            probe.verify()
        except Exception as exc:
            raise ImageError(f"{label} is corrupt: {exc}") from exc
    try:
        with _open(data, label, max_pixels) as opened:
            opened.load()
            if _ready(opened, max_side):
                # Already what a model accepts: send the file as it is, without re-encoding it.
                return bytes_to_data_url(data, f"image/{str(opened.format).lower()}")
            upright = ImageOps.exif_transpose(opened)
            image = _to_display_mode(upright)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"cannot decode {label}: {exc}") from exc

    lossless = image.mode == "RGBA" or image.getcolors(_FEW_COLOURS) is not None
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        new_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = BytesIO()
    if lossless:
        image.save(buffer, format="PNG")
        return bytes_to_data_url(buffer.getvalue(), "image/png")
    image.save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    return bytes_to_data_url(buffer.getvalue(), "image/jpeg")
