"""Language handling shared by every domain: text normalization before hashing and embedding
(`normalize.py`, Persian letter variants in `persian.py`) and Russian morphology (`russian.py`).

One place: the posts tagger, the assistant, the RAG sync and the chat classifier all call these, so
a text hashed by one run is hashed the same way by the next.
"""

from resources.language.normalize import normalize_text

__all__ = ["normalize_text"]
