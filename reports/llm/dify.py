"""DIFY chat-messages API (https://docs.dify.ai/), blocking and streaming.

``POST {DIFY_BASE_URL}/chat-messages`` with ``Authorization: Bearer <app key>``
and ``{inputs, query, user, response_mode, conversation_id?}``. A DIFY chat app
keeps its own system prompt in the app, so the request's system prompt travels
at the head of the query.
"""

from __future__ import annotations

import json

from reports.llm.base import LLMClient, LLMRequest, LLMResult, LLMRetryableError
from reports.llm.http import Deadline, iter_lines, post_json


class DifyClient(LLMClient):
    name = "dify"

    def __init__(self, *, base_url: str, api_key: str, timeout: float, response_mode: str = "streaming"):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.response_mode = response_mode if response_mode in ("blocking", "streaming") else "streaming"

    def complete(self, request: LLMRequest) -> LLMResult:
        body = {
            "inputs": {},
            "query": f"{request.system}\n\n{request.prompt}" if request.system else request.prompt,
            "user": request.user,
            "response_mode": self.response_mode,
        }
        if request.conversation_id:
            body["conversation_id"] = request.conversation_id
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        return post_json(
            "DIFY", f"{self.base_url}/chat-messages", headers=headers, body=body, timeout=self.timeout,
            read_stream=self._read_stream, read_blocking=self._read_blocking, on_delta=request.on_delta,
        )

    def _read_blocking(self, raw: bytes) -> LLMResult:
        text = raw.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LLMRetryableError(f"DIFY sent a body that is not JSON: {text[:200]!r}", raw=text) from exc
        result = LLMResult(
            text=str(data.get("answer") or ""),
            provider=self.name,
            message_id=str(data.get("message_id") or data.get("id") or ""),
            conversation_id=str(data.get("conversation_id") or ""),
            raw=text,
        )
        result.take_usage((data.get("metadata") or {}).get("usage") or {})
        return result

    def _read_stream(self, response, deadline: Deadline, on_delta=None) -> LLMResult:
        answer: list[str] = []
        result = LLMResult(text="", provider=self.name)
        transcript: list[str] = []
        ended = False
        for line in iter_lines(response, deadline):
            if not line.startswith("data:"):
                # Blank separators, comments and bare "event: ping" lines carry nothing.
                continue
            payload = line[5:].strip()
            transcript.append(payload)
            try:
                event = json.loads(payload)
            except ValueError:
                continue
            kind = event.get("event")
            if event.get("conversation_id"):
                result.conversation_id = str(event["conversation_id"])
            if kind in ("message", "agent_message"):
                answer.append(str(event.get("answer") or ""))
                if on_delta and answer[-1]:
                    on_delta(answer[-1], False)
            elif kind == "message_replace":
                answer = [str(event.get("answer") or "")]
                if on_delta:
                    on_delta(answer[0], True)
            elif kind == "message_end":
                result.message_id = str(event.get("message_id") or event.get("id") or result.message_id)
                result.take_usage((event.get("metadata") or {}).get("usage") or {})
                ended = True
            elif kind == "error":
                # DIFY reports failures after HTTP 200, in the middle of the stream.
                raise LLMRetryableError(
                    f"DIFY stream error {event.get('status', '')} {event.get('code', '')}: {event.get('message', '')}",
                    code=str(event.get("code") or ""), raw="\n".join(transcript),
                )
            if not result.message_id and event.get("message_id"):
                result.message_id = str(event["message_id"])
        if not ended and not answer:
            raise LLMRetryableError("the DIFY stream ended before any answer", raw="\n".join(transcript))
        result.text = "".join(answer)
        result.raw = "\n".join(transcript)
        return result
