"""prepare_image: verification, EXIF orientation, modes, the pixel limit, resizing, data URLs."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_tasks_schemas import image_bytes

from ted.tasks import ImageError, prepare_image, probe_image
from ted.tasks.images import bytes_to_data_url


def _decode(url: str) -> Image.Image:
    header, _, payload = url.partition(",")
    assert header in ("data:image/png;base64", "data:image/jpeg;base64")
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


def _encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _photo(size: tuple[int, int]) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: what a decompression bomb looks like before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def test_diagram_with_few_colours_stays_png() -> None:
    image = Image.new("RGB", (40, 30), "white")
    image.paste((0, 0, 0), (10, 10, 20, 20))
    result = _decode(prepare_image(_encode(image)))
    assert (result.format, result.mode, result.size) == ("PNG", "RGB", (40, 30))
    assert result.getpixel((15, 15)) == (0, 0, 0)


def test_photo_becomes_jpeg() -> None:
    url = prepare_image(_encode(_photo((64, 48))))
    assert url.startswith("data:image/jpeg;base64,")
    assert _decode(url).size == (64, 48)


def test_transparency_keeps_png_with_alpha() -> None:
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    result = _decode(prepare_image(_encode(image)))
    assert (result.format, result.mode) == ("PNG", "RGBA")
    assert result.getpixel((0, 0))[3] == 0


def test_opaque_alpha_channel_is_dropped() -> None:
    result = _decode(prepare_image(image_bytes(color=(10, 20, 30, 255))))
    assert result.mode == "RGB"


def test_large_image_is_resized_to_max_side() -> None:
    result = _decode(prepare_image(_encode(_photo((3000, 1000))), max_side=1024))
    assert result.size == (1024, 341)


def test_small_image_is_not_enlarged() -> None:
    assert _decode(prepare_image(image_bytes(size=(30, 20)), max_side=1024)).size == (30, 20)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), "white")
    image.paste((255, 0, 0), (0, 0, 10, 20))  # red stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turned 90 degrees clockwise
    result = _decode(prepare_image(_encode(image, "JPEG", exif=exif, quality=95)))
    assert result.size == (20, 40)
    red, green, _ = result.convert("RGB").getpixel((10, 2))
    assert red > 200 and green < 60  # the left stripe is now on top


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("P", "PNG"), ("L", "PNG"), ("1", "PNG"), ("CMYK", "JPEG"), ("LA", "PNG"), ("I;16", "PNG")],
)
def test_modes_are_converted_for_display(mode: str, fmt: str) -> None:
    image = _photo((32, 24)).convert(mode) if mode != "I;16" else None
    if image is None:
        gradient = np.arange(32 * 24, dtype=np.uint16).reshape(24, 32) * 80
        image = Image.fromarray(gradient)
    result = _decode(prepare_image(_encode(image, fmt)))
    assert result.mode in ("RGB", "RGBA") and result.size == (32, 24)


def test_sixteen_bit_values_are_stretched_not_clipped() -> None:
    gradient = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 250).astype(np.uint16)
    result = _decode(prepare_image(_encode(Image.fromarray(gradient))))
    values = np.asarray(result.convert("L"))
    assert values.min() == 0 and values.max() == 255


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    result = _decode(prepare_image(buffer.getvalue()))
    assert result.convert("RGB").getpixel((8, 8))[0] > 200


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="decompression bomb"):
        prepare_image(_png_header_only(100_000, 100_000))
    with pytest.raises(ImageError, match=r"has 24x16 = 384 pixels, more than the limit of 100"):
        prepare_image(image_bytes(), max_pixels=100)
    with pytest.raises(ImageError, match="more than the limit of 40,000,000"):
        probe_image(_png_header_only(8_000, 6_000))


def test_truncated_and_unreadable_images() -> None:
    data = _encode(_photo((64, 64)))
    with pytest.raises(ImageError, match="the embedded image"):
        prepare_image(data[: len(data) // 2])
    with pytest.raises(ImageError, match="is not a readable image"):
        prepare_image(b"GIF? no, just text")


def test_paths_and_root(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "a.png").write_bytes(image_bytes())
    (tmp_path / "outside.png").write_bytes(image_bytes())
    (dataset / "link.png").symlink_to(tmp_path / "outside.png")

    assert prepare_image(dataset / "a.png").startswith("data:image/png")
    assert prepare_image("a.png", root=dataset).startswith("data:image/png")
    with pytest.raises(ImageError, match="escapes the dataset folder"):
        prepare_image("../outside.png", root=dataset)
    with pytest.raises(ImageError, match="escapes the dataset folder"):
        prepare_image("link.png", root=dataset)
    with pytest.raises(ImageError, match="not found"):
        prepare_image("missing.png", root=dataset)
    with pytest.raises(ImageError, match="does not exist"):
        prepare_image(tmp_path / "missing.png")


def test_data_urls_in_and_out() -> None:
    url = bytes_to_data_url(image_bytes(), "image/png")
    assert _decode(prepare_image(url)).size == (24, 16)
    with pytest.raises(ImageError, match="not a base64 image data URL"):
        prepare_image("data:text/plain;base64,aGVsbG8=")
    with pytest.raises(ImageError, match="not valid base64"):
        prepare_image("data:image/png;base64,@@@")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        prepare_image(image_bytes(), max_side=0)


def test_probe_reads_only_the_header() -> None:
    assert probe_image(_png_header_only(300, 200)) == ("PNG", 300, 200)


@pytest.mark.parametrize(
    ("image", "fmt", "mime"),
    [
        (Image.new("RGB", (40, 30), "white"), "PNG", "image/png"),  # a diagram: few colours
        (_photo((40, 30)), "JPEG", "image/jpeg"),
    ],
)
def test_ready_images_are_sent_unchanged(image: Image.Image, fmt: str, mime: str) -> None:
    data = _encode(image, fmt)
    assert prepare_image(data) == f"data:{mime};base64,{base64.b64encode(data).decode()}"


def test_rotated_jpeg_is_not_sent_unchanged() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees
    data = _encode(_photo((40, 30)), "JPEG", exif=exif.tobytes())
    result = _decode(prepare_image(data))
    assert result.size == (30, 40)
