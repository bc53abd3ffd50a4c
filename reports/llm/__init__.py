"""Report writers: DIFY, any OpenAI-compatible server, and the offline writer."""

from django.conf import settings

from reports.llm.base import (  # noqa: F401 - the package's public names
    LLMAuthError,
    LLMBadRequest,
    LLMClient,
    LLMError,
    LLMRequest,
    LLMResult,
    LLMRetryableError,
    LLMTimeout,
    MeasuredClient,
    complete_with_retries,
)
from reports.llm.dify import DifyClient
from reports.llm.offline import OfflineClient
from reports.llm.openai import OpenAIClient


def configured_provider() -> str:
    """The writer the settings ask for; offline when the chosen AI has no address."""
    provider = (settings.AI_PROVIDER or "offline").lower()
    if provider == "dify" and settings.DIFY_BASE_URL:
        return "dify"
    if provider == "openai" and settings.OPENAI_BASE_URL:
        return "openai"
    return "offline"


def get_client(provider: str | None = None, *, streaming: bool | None = None) -> LLMClient:
    """The writer for ``provider``; ``streaming`` overrides the configured response mode.

    AI writers come wrapped in :class:`MeasuredClient` (the AI metrics); the offline writer is no AI call.
    """
    provider = provider or configured_provider()
    if provider == "dify":
        return MeasuredClient(DifyClient(
            base_url=settings.DIFY_BASE_URL, api_key=settings.DIFY_API_KEY, timeout=settings.DIFY_TIMEOUT_SECONDS,
            response_mode=(
                settings.DIFY_RESPONSE_MODE if streaming is None
                else ("streaming" if streaming else "blocking")
            ),
        ))
    if provider == "openai":
        return MeasuredClient(OpenAIClient(
            base_url=settings.OPENAI_BASE_URL, api_key=settings.OPENAI_API_KEY, model=settings.OPENAI_MODEL,
            timeout=settings.OPENAI_TIMEOUT_SECONDS,
            stream=settings.OPENAI_STREAM if streaming is None else streaming,
        ))
    return OfflineClient()
