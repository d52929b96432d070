"""Product images from media storage: cheap change detection, then read, hash and decode with a reason
for every failure (a bad image never fails a shard; the product keeps its text vector)."""

from __future__ import annotations

import io
import posixpath
import warnings
from dataclasses import dataclass
from typing import Any

from assets.recsys.catalog import sha
from resources.media import MediaStore

# Why an image gave no vector (metadata keys; also stored in product_vector_state.image_error).
MISSING = "missing"
CORRUPT = "corrupt"  # read, and failed to decode
NOT_AN_IMAGE = "not_an_image"
TOO_LARGE = "too_large"
# Reading failed (timeout, refused connection, 5xx, permissions): the storage's problem, not the file's.
# The same file is read again by the next run; the product keeps its last good image vector meanwhile.
STORAGE_ERROR = "storage_error"
UNREADABLE = "unreadable"  # what earlier versions recorded for a storage error: retried too
TRANSIENT = frozenset({STORAGE_ERROR, UNREADABLE})

MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


def fingerprint(key: str, size: int, modified) -> str:
    """Key, size and modification time: when equal to the recorded one the bytes are not read again."""
    return sha(f"{key}|{size}|{modified.isoformat()}")[:40]


class MediaIndex:
    """Fingerprints of the media objects under the prefixes asked for, listed once per run.

    Listing a folder (or a bucket prefix, 1000 keys per request) is far cheaper than reading every
    image to learn that nothing changed.
    """

    def __init__(self, store: MediaStore):
        self.store = store
        self._listed: list[str] = []
        self._fingerprints: dict[str, str] = {}
        self.objects_listed = 0

    @staticmethod
    def common_prefix(keys: list[str]) -> str:
        if not keys:
            return ""
        prefix = posixpath.commonprefix(keys)
        return prefix[: prefix.rfind("/") + 1]  # a whole folder: keys of other products also live there

    def prepare(self, keys: list[str]) -> None:
        prefix = self.common_prefix(keys)
        if any(prefix.startswith(done) for done in self._listed):
            return
        for obj in self.store.iter_objects(prefix):
            self._fingerprints[obj.key] = fingerprint(obj.key, obj.size, obj.last_modified)
            self.objects_listed += 1
        self._listed.append(prefix)

    def fingerprint_of(self, key: str) -> str | None:
        """None: no such object."""
        return self._fingerprints.get(key)


@dataclass
class LoadedImage:
    key: str
    digest: str | None = None  # sha256 of the bytes
    data: bytes | None = None
    error: str | None = None
    detail: str = ""


def read_image(store: MediaStore, key: str) -> LoadedImage:
    try:
        data = store.read_bytes(key)
    except FileNotFoundError:  # every MediaStore backend says "no such key" this way
        return LoadedImage(key, error=MISSING, detail="no such object")
    except Exception as exc:  # noqa: BLE001 - any storage failure: this image waits for the next run
        return LoadedImage(key, error=STORAGE_ERROR, detail=f"{exc.__class__.__name__}: {exc}")
    if len(data) > MAX_IMAGE_BYTES:
        return LoadedImage(key, digest=sha(data), error=TOO_LARGE, detail=f"{len(data)} bytes")
    return LoadedImage(key, digest=sha(data), data=data)


def decode(data: bytes) -> tuple[Any | None, str | None, str]:
    """(RGB PIL image, None, "") or (None, reason, detail)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None, TOO_LARGE, f"{image.width}x{image.height} pixels"
            image.load()
        return image.convert("RGB"), None, ""
    except UnidentifiedImageError as exc:
        return None, NOT_AN_IMAGE, str(exc)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return None, TOO_LARGE, str(exc)
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or damaged data
        return None, CORRUPT, f"{exc.__class__.__name__}: {exc}"
