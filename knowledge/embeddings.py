"""Vectors from an OpenAI-compatible ``POST {EMBEDDINGS_BASE_URL}/embeddings`` server.

On when ``EMBEDDINGS_BASE_URL`` and ``EMBEDDINGS_MODEL`` are set (``EMBEDDINGS_API_KEY`` is
sent as a bearer token when given). Texts go in batches of ``EMBEDDINGS_BATCH_SIZE``;
timeouts, 429 and 5xx are retried with backoff, other errors fail at once.
Vectors are stored as float32 bytes and compared by cosine in Python (see docs/knowledge.md
for the scale this suits).
"""

import logging
import math
import operator
import random
import threading
import time
from array import array

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

_client: httpx.Client | None = None
_client_lock = threading.Lock()


class EmbeddingsError(Exception):
    """The embeddings server did not give vectors; ``retryable`` says whether trying later may help."""

    def __init__(self, detail, *, retryable=False):
        super().__init__(detail)
        self.retryable = retryable


def enabled() -> bool:
    return bool(settings.EMBEDDINGS_BASE_URL and settings.EMBEDDINGS_MODEL)


def model_name() -> str:
    return settings.EMBEDDINGS_MODEL if enabled() else ""


def _http() -> httpx.Client:
    global _client
    with _client_lock:
        if _client is None:
            timeout = httpx.Timeout(settings.EMBEDDINGS_TIMEOUT_SECONDS, connect=settings.AI_CONNECT_TIMEOUT_SECONDS)
            _client = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=10))
        return _client


def _post_batch(texts: list[str]) -> list[list[float]]:
    headers = {"Content-Type": "application/json"}
    if settings.EMBEDDINGS_API_KEY:
        headers["Authorization"] = f"Bearer {settings.EMBEDDINGS_API_KEY}"
    url = settings.EMBEDDINGS_BASE_URL.rstrip("/") + "/embeddings"
    attempts = settings.EMBEDDINGS_MAX_RETRIES + 1
    for attempt in range(attempts):
        try:
            response = _http().post(url, json={"model": settings.EMBEDDINGS_MODEL, "input": texts}, headers=headers)
        except httpx.TransportError as exc:
            error = EmbeddingsError(f"embeddings: {exc!r}", retryable=True)
        else:
            if response.status_code == 200:
                try:
                    data = sorted(response.json()["data"], key=lambda item: item["index"])
                    vectors = [item["embedding"] for item in data]
                except (ValueError, KeyError, TypeError) as exc:
                    raise EmbeddingsError(f"embeddings: unreadable answer {exc!r}") from exc
                if len(vectors) != len(texts):
                    raise EmbeddingsError(f"embeddings: {len(vectors)} vectors for {len(texts)} texts")
                return vectors
            retryable = response.status_code == 429 or response.status_code >= 500
            error = EmbeddingsError(f"embeddings: HTTP {response.status_code} {response.text[:300]}", retryable=retryable)
        if not error.retryable or attempt == attempts - 1:
            raise error
        pause = settings.EMBEDDINGS_RETRY_BACKOFF_SECONDS * (2**attempt)
        time.sleep(pause * (0.5 + random.random() / 2))
    raise AssertionError("unreachable")


def embed(texts: list[str]) -> list[list[float]]:
    """One vector per text, in order."""
    out = []
    size = max(settings.EMBEDDINGS_BATCH_SIZE, 1)
    for start in range(0, len(texts), size):
        # Servers limit the input length; the tail of a very long chunk adds little to its meaning.
        out.extend(_post_batch([t[:8000] for t in texts[start:start + size]]))
    return out


def pack(vector: list[float]) -> bytes:
    """A unit float32 vector as bytes, so that a dot product is the cosine."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return array("f", (x / norm for x in vector)).tobytes()


def unpack(data) -> array:
    vector = array("f")
    vector.frombytes(bytes(data))
    return vector


def cosine(a: array, b: array) -> float:
    if len(a) != len(b):
        return 0.0
    # map(operator.mul) runs in C: about twice as fast as a generator over zip().
    return sum(map(operator.mul, a, b))
