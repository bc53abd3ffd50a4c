"""Any OpenAI-compatible ``/chat/completions`` server (OpenAI, vLLM, Ollama, LiteLLM, ...)."""

from __future__ import annotations

import json

from reports.llm.base import LLMClient, LLMRequest, LLMResult, LLMRetryableError
from reports.llm.http import Deadline, iter_lines, post_json


class OpenAIClient(LLMClient):
    name = "openai"

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout: float, stream: bool = True):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.timeout = timeout
        self.stream = stream

    def complete(self, request: LLMRequest) -> LLMResult:
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        body = {"model": self.model, "messages": messages, "temperature": 0.2, "stream": self.stream}
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return post_json(
            "The OpenAI-compatible server", f"{self.base_url}/chat/completions", headers=headers, body=body,
            timeout=self.timeout, read_stream=self._read_stream, read_blocking=self._read_blocking,
            on_delta=request.on_delta,
        )

    def _read_blocking(self, raw: bytes) -> LLMResult:
        text = raw.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
            choice = (data.get("choices") or [{}])[0]
            content = (choice.get("message") or {}).get("content") or ""
        except (ValueError, AttributeError, IndexError) as exc:
            raise LLMRetryableError(f"the server sent an unreadable completion: {text[:200]!r}", raw=text) from exc
        result = LLMResult(text=content, provider=self.name, message_id=str(data.get("id") or ""), raw=text,
                           model=str(data.get("model") or self.model))
        result.take_usage(data.get("usage") or {})
        return result

    def _read_stream(self, response, deadline: Deadline, on_delta=None) -> LLMResult:
        parts: list[str] = []
        transcript: list[str] = []
        result = LLMResult(text="", provider=self.name, model=self.model)
        done = False
        for line in iter_lines(response, deadline):
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            transcript.append(payload)
            if payload == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(payload)
            except ValueError:
                continue
            if "error" in chunk and chunk["error"]:
                error = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
                raise LLMRetryableError(f"stream error: {error.get('message', '')}", raw="\n".join(transcript))
            result.message_id = result.message_id or str(chunk.get("id") or "")
            # Servers send choices: null (or []) on the final usage chunk.
            for choice in chunk.get("choices") or []:
                delta = (choice or {}).get("delta") or {}
                if delta.get("content"):
                    parts.append(str(delta["content"]))
                    if on_delta:
                        on_delta(parts[-1], False)
            if chunk.get("model"):
                result.model = str(chunk["model"])
            if chunk.get("usage"):
                result.take_usage(chunk["usage"])
        if not done and not parts:
            raise LLMRetryableError("the stream ended before any answer", raw="\n".join(transcript))
        result.text = "".join(parts)
        result.raw = "\n".join(transcript)
        return result
