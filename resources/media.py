"""Media storage: a local folder (embedded default) or an S3/R2/MinIO bucket, behind one interface.

Keys are plain relative paths with forward slashes ("products/12.jpg"). Anything else is refused
before any file system or network call: `..` segments, absolute paths, backslashes, control characters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from stat import S_ISREG
from typing import Iterator

import dagster as dg
from pydantic import Field

from orchestration.settings import setting_field


class UnsafeKeyError(ValueError):
    """A media key that is not a plain relative path; never read, written or removed."""


def unsafe_key_reason(key: str) -> str | None:
    """Why `key` is not a plain relative path (None when it is)."""
    if not key:
        return "empty key"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return "control character"
    if "\\" in key:
        return "backslash"
    if key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        return "absolute path"
    if any(part in ("", ".", "..") for part in key.split("/")):
        return "'..', '.' or empty path segment"
    return None


def check_key(key: str) -> str:
    reason = unsafe_key_reason(key)
    if reason:
        raise UnsafeKeyError(f"media key {key!r} refused: {reason}")
    return key


@dataclass(frozen=True)
class MediaObject:
    key: str
    size: int
    last_modified: datetime  # timezone-aware UTC


class MediaStore:
    """What every media backend offers."""

    location: str

    def read_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def iter_objects(self, prefix: str = "") -> Iterator[MediaObject]:
        """Every object under `prefix`, streamed (keys as stored; unsafe ones included for reporting)."""
        raise NotImplementedError

    def delete_many(self, keys: list[str]) -> dict[str, str]:
        """Delete the keys; return {key: error} for those that could not be deleted."""
        raise NotImplementedError

    def move(self, key: str, new_key: str) -> None:
        """Rename an object (overwrites `new_key`); the moved object's last_modified becomes now."""
        raise NotImplementedError


class LocalMediaStore(MediaStore):
    """A folder. Nothing outside the root is ever read or removed: symlinks leaving it are refused."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.location = str(self.root)

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise UnsafeKeyError(f"media key {key!r} refused: resolves outside the media root")
        return path

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except UnsafeKeyError:
            return False

    def iter_objects(self, prefix: str = "") -> Iterator[MediaObject]:
        """Regular files only: symlinks (to files or folders) and other special files are not objects
        of this store, so they are neither listed nor followed."""
        if not self.root.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            for name in sorted(filenames):
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    stat = full.lstat()
                except FileNotFoundError:  # removed while we walked
                    continue
                if not S_ISREG(stat.st_mode):
                    continue
                yield MediaObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc))
            dirnames.sort()

    def delete_many(self, keys: list[str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for key in keys:
            try:
                path = self._path(key)
                if path.is_symlink() or not path.is_file():
                    errors[key] = "not a regular file inside the media root"
                    continue
                path.unlink()
            except (OSError, UnsafeKeyError) as exc:
                errors[key] = str(exc)
        return errors

    def move(self, key: str, new_key: str) -> None:
        """Rename within the root; like an S3 copy, the moved object counts as new (mtime = now)."""
        source, target = self._path(key), self._path(new_key)
        if source.is_symlink() or not source.is_file():
            raise UnsafeKeyError(f"media key {key!r} refused: not a regular file inside the media root")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        os.utime(target)


class MediaResource(dg.ConfigurableResource):
    """Chooses the backend by configuration: `s3_bucket` set means S3, otherwise the local folder."""

    root: str = setting_field("MEDIA_ROOT")
    s3_bucket: str = setting_field("MEDIA_S3_BUCKET")
    s3_endpoint_url: str = setting_field("MEDIA_S3_ENDPOINT_URL")
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket.")

    def store(self) -> MediaStore:
        if self.s3_bucket:
            from resources.media_s3 import S3MediaStore

            return S3MediaStore(bucket=self.s3_bucket, endpoint_url=self.s3_endpoint_url or None, prefix=self.s3_prefix)
        return LocalMediaStore(self.root)
