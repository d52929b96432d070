"""Qdrant as a resource: local mode on disk (QDRANT_PATH, the embedded default) or a server (QDRANT_URL).

The same calls work against both. Local mode allows one process at a time (a file lock), so a
client is opened per step with `with vectors.client() as client:` and closed at its end; opening
waits up to `lock_wait_s` for another process (a run, `platformctl similar`) to let go. Runs that
touch local mode are also serialized by the `qdrant_local` concurrency pool. Never open it in a sensor.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Protocol

import dagster as dg
from pydantic import Field

from orchestration.settings import setting_field

# Namespace of the deterministic point ids: uuid5(NAMESPACE, "<kind>:<id>").
POINT_NAMESPACE = uuid.UUID("6f1c2b3e-8a4d-5e6f-9a0b-1c2d3e4f5a6b")


def point_id(kind: str, entity_id: int | str) -> str:
    """The Qdrant point id of an entity: the same on every run and every machine."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{kind}:{entity_id}"))


class VectorStoreLockedError(RuntimeError):
    """Local-mode Qdrant is held by another process for longer than the configured wait."""


class VectorStoreResource(dg.ConfigurableResource):
    """A Qdrant client: `url` set means a server, otherwise local mode in the folder `path`."""

    path: str = setting_field("QDRANT_PATH")
    url: str = setting_field("QDRANT_URL")
    api_key: str = setting_field("QDRANT_API_KEY")
    timeout_s: int = Field(default=30, description="Per-request timeout against a server, seconds.")
    lock_wait_s: float = Field(default=60.0, description="How long to wait for another process holding local mode.")

    @property
    def is_embedded(self) -> bool:
        return not self.url

    @property
    def location(self) -> str:
        return self.url or str(Path(self.path).resolve())

    def _open(self):
        from qdrant_client import QdrantClient

        if self.url:
            return QdrantClient(url=self.url, api_key=self.api_key or None, timeout=self.timeout_s)
        Path(self.path).mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            try:
                # The product sync writes from one background thread, never at the same time as another.
                return QdrantClient(path=self.path, force_disable_check_same_thread=True)
            except RuntimeError as exc:
                if "already accessed" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise VectorStoreLockedError(
                        f"local Qdrant at {self.location} is held by another process for more than "
                        f"{self.lock_wait_s:.0f} s (a run, or `platformctl similar`); retry later, or use QDRANT_URL"
                    ) from exc
                time.sleep(0.5)

    def storage_fingerprint(self, collection: str) -> str | None:
        """Size and modification time of a local-mode collection's storage file; None for a server or
        when the file is not where qdrant-client keeps it. Local mode writes that file on every change
        and never on reads, so an equal fingerprint means nobody wrote the collection in between."""
        if not self.is_embedded:
            return None
        storage = Path(self.path) / "collection" / collection / "storage.sqlite"
        try:
            stat = storage.stat()
        except OSError:
            return None
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    @contextmanager
    def client(self) -> Iterator[Any]:
        """An open `QdrantClient`, closed on exit (which releases local mode's lock)."""
        client = self._open()
        try:
            yield client
        finally:
            client.close()


class Dimensioned(Protocol):
    """An embedder: `dimension` (may load the model), `known_dimension` (None unless that costs nothing)."""

    @property
    def dimension(self) -> int: ...

    @property
    def known_dimension(self) -> int | None: ...


def ensure_collection(
    client: Any,
    name: str,
    vectors: Mapping[str, int | Dimensioned],
    *,
    payload_indexes: dict[str, str] | None = None,
) -> bool:
    """Create the collection with these named vectors (cosine) if missing; return True when created.

    `vectors` gives each name's size, or the embedder that knows it. An existing collection must have
    the same vector names and sizes: a model change with another dimension is refused with the names of
    the mismatches, never silently mixed. An embedder whose model this process has not loaded is not
    loaded for that check (its vectors are not being written; the run that writes them checks them);
    creating the collection needs every size.
    """
    from qdrant_client import models

    if client.collection_exists(name):
        info = client.get_collection(name)
        have = info.config.params.vectors or {}
        have = {key: params.size for key, params in have.items()} if isinstance(have, dict) else {"": have.size}
        known = {key: size if isinstance(size, int) else size.known_dimension for key, size in vectors.items()}
        wrong = {key: (have.get(key), size) for key, size in known.items() if size is not None and have.get(key) != size}
        if wrong:
            details = ", ".join(f"{key}: has {old}, needs {new}" for key, (old, new) in sorted(wrong.items()))
            raise ValueError(
                f"Qdrant collection {name!r} has other vectors than the models produce ({details}); "
                "use another collection name or delete this one and re-index every shard"
            )
        return False
    vectors = {key: size if isinstance(size, int) else size.dimension for key, size in vectors.items()}
    client.create_collection(
        name,
        vectors_config={
            key: models.VectorParams(size=size, distance=models.Distance.COSINE) for key, size in vectors.items()
        },
    )
    schema = {"integer": models.PayloadSchemaType.INTEGER, "keyword": models.PayloadSchemaType.KEYWORD,
              "bool": models.PayloadSchemaType.BOOL, "float": models.PayloadSchemaType.FLOAT}
    for field, kind in (payload_indexes or {}).items():
        client.create_payload_index(name, field_name=field, field_schema=schema[kind])
    return True
