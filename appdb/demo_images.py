"""Product pictures for the demo, drawn with Pillow: one silhouette per kind of product on a gradient
in the colours of its top-level category, so products of one category look alike.

Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageOps

SIZE = 128
RGB = tuple[int, int, int]

# Background gradient (dark, light) per top-level category id.
BACKGROUNDS: dict[int, tuple[RGB, RGB]] = {
    1: ((120, 60, 110), (245, 220, 240)),  # Одежда
    5: ((110, 80, 40), (245, 235, 210)),  # Обувь
    8: ((30, 60, 110), (210, 230, 250)),  # Электроника
    12: ((60, 90, 40), (225, 240, 210)),  # Инструменты
    15: ((110, 100, 30), (250, 245, 215)),  # Дом и кухня
}
DEFAULT_BACKGROUND: tuple[RGB, RGB] = ((80, 80, 80), (230, 230, 230))


def _shirt(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.polygon([(x + 34, y + 30), (x + 54, y + 24), (x + 74, y + 24), (x + 94, y + 30), (x + 108, y + 52),
               (x + 92, y + 60), (x + 88, y + 52), (x + 88, y + 104), (x + 40, y + 104), (x + 40, y + 52),
               (x + 36, y + 60), (x + 20, y + 52)], fill=c, outline=(20, 20, 20))


def _trousers(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.polygon([(x + 40, y + 20), (x + 88, y + 20), (x + 94, y + 108), (x + 70, y + 108), (x + 64, y + 50),
               (x + 58, y + 108), (x + 34, y + 108)], fill=c, outline=(20, 20, 20))


def _jacket(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.polygon([(x + 36, y + 22), (x + 92, y + 22), (x + 112, y + 100), (x + 94, y + 102), (x + 88, y + 60),
               (x + 88, y + 108), (x + 40, y + 108), (x + 40, y + 60), (x + 34, y + 102), (x + 16, y + 100)],
              fill=c, outline=(20, 20, 20))
    d.line([(x + 64, y + 24), (x + 64, y + 108)], fill=(210, 210, 210), width=2)


def _shoe(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.polygon([(x + 18, y + 50), (x + 50, y + 50), (x + 70, y + 70), (x + 108, y + 78), (x + 110, y + 92),
               (x + 18, y + 92)], fill=c, outline=(20, 20, 20))
    d.rectangle([x + 16, y + 92, x + 112, y + 100], fill=(240, 240, 240), outline=(20, 20, 20))


def _phone(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.rounded_rectangle([x + 40, y + 14, x + 88, y + 114], radius=8, fill=c, outline=(20, 20, 20))
    d.rectangle([x + 45, y + 24, x + 83, y + 102], fill=(20, 30, 60))


def _headphones(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.arc([x + 26, y + 20, x + 102, y + 96], start=180, end=360, fill=c, width=8)
    d.ellipse([x + 18, y + 56, x + 44, y + 96], fill=c, outline=(20, 20, 20))
    d.ellipse([x + 84, y + 56, x + 110, y + 96], fill=c, outline=(20, 20, 20))


def _laptop(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.rectangle([x + 28, y + 28, x + 100, y + 80], fill=c, outline=(20, 20, 20))
    d.rectangle([x + 33, y + 33, x + 95, y + 75], fill=(30, 40, 70))
    d.polygon([(x + 20, y + 84), (x + 108, y + 84), (x + 116, y + 96), (x + 12, y + 96)], fill=c, outline=(20, 20, 20))


def _drill(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.rectangle([x + 30, y + 36, x + 92, y + 60], fill=c, outline=(20, 20, 20))
    d.rectangle([x + 92, y + 44, x + 112, y + 52], fill=(90, 90, 90))
    d.polygon([(x + 44, y + 60), (x + 62, y + 60), (x + 58, y + 100), (x + 40, y + 100)], fill=c, outline=(20, 20, 20))
    d.rectangle([x + 34, y + 100, x + 66, y + 112], fill=(40, 40, 40))


def _toolbox(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.arc([x + 44, y + 24, x + 84, y + 60], start=180, end=360, fill=(40, 40, 40), width=6)
    d.rectangle([x + 18, y + 42, x + 110, y + 104], fill=c, outline=(20, 20, 20))
    d.line([(x + 18, y + 62), (x + 110, y + 62)], fill=(20, 20, 20), width=2)


def _pan(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.ellipse([x + 12, y + 30, x + 82, y + 100], fill=c, outline=(20, 20, 20))
    d.ellipse([x + 22, y + 40, x + 72, y + 90], fill=(60, 60, 60))
    d.rectangle([x + 80, y + 60, x + 120, y + 70], fill=(40, 30, 20))


def _pot(d: ImageDraw.ImageDraw, x: int, y: int, c: RGB) -> None:
    d.rectangle([x + 30, y + 46, x + 98, y + 106], fill=c, outline=(20, 20, 20))
    d.ellipse([x + 28, y + 36, x + 100, y + 54], fill=(200, 200, 210), outline=(20, 20, 20))
    d.rectangle([x + 16, y + 56, x + 30, y + 62], fill=(40, 40, 40))
    d.rectangle([x + 98, y + 56, x + 112, y + 62], fill=(40, 40, 40))


SHAPES = {
    "shirt": _shirt, "trousers": _trousers, "jacket": _jacket, "shoe": _shoe, "phone": _phone,
    "headphones": _headphones, "laptop": _laptop, "drill": _drill, "toolbox": _toolbox, "pan": _pan, "pot": _pot,
}


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, format="PNG", optimize=False)
    else:
        image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _background(top_category_id: int) -> Image.Image:
    dark, light = BACKGROUNDS.get(top_category_id, DEFAULT_BACKGROUND)
    gradient = Image.linear_gradient("L").resize((SIZE, SIZE))
    return ImageOps.colorize(gradient, black=light, white=dark)


def product_image(shape: str, color: RGB, top_category_id: int, offset: tuple[int, int], fmt: str = "JPEG") -> bytes:
    """A picture of a `shape` in `color`, shifted by `offset` pixels, encoded as JPEG or PNG."""
    image = _background(top_category_id)
    SHAPES[shape](ImageDraw.Draw(image), offset[0], offset[1], color)
    return _encode(image, fmt)


def placeholder_image() -> bytes:
    """The shop's "no photo" picture, reused as is by several products (byte-identical files)."""
    image = Image.new("RGB", (SIZE, SIZE), (235, 235, 235))
    d = ImageDraw.Draw(image)
    d.rounded_rectangle([30, 44, 98, 94], radius=6, outline=(150, 150, 150), width=4)
    d.ellipse([50, 54, 78, 82], outline=(150, 150, 150), width=4)
    d.line([(24, 104), (104, 34)], fill=(200, 80, 80), width=5)
    return _encode(image, "JPEG")


def random_bytes(rng: random.Random, size: int = 2048) -> bytes:
    """Noise under an image name: what a broken upload leaves behind."""
    return rng.randbytes(size)


def truncated(data: bytes) -> bytes:
    """The first 40% of a valid file: an interrupted download."""
    return data[: max(16, len(data) * 2 // 5)]


NOT_AN_IMAGE = "Ошибка 404: страница не найдена. Парсер сохранил ответ сервера вместо изображения.\n".encode()
