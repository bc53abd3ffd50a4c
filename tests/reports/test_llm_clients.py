"""DIFY and OpenAI-compatible clients against a real local server speaking their protocols."""

import json
import time

import pytest
from django.utils import translation

from reports.llm import LLMAuthError, LLMBadRequest, LLMRequest, LLMRetryableError, LLMTimeout, complete_with_retries
from reports.llm.dify import DifyClient
from reports.llm.openai import OpenAIClient
from tests.fakes.ai_server import FakeAIServer, Reply

REQUEST = LLMRequest(system="寫報告", prompt="房間資料", user="warroom-test")


def dify(server, *, mode="streaming", timeout=5.0):
    return DifyClient(base_url=server.base_url, api_key="app-key", timeout=timeout, response_mode=mode)


def openai(server, *, stream=True, timeout=5.0):
    return OpenAIClient(base_url=server.base_url, api_key="sk-key", model="fake-model", timeout=timeout, stream=stream)


def test_dify_blocking_reads_answer_ids_and_usage():
    with FakeAIServer(answer="答案 answer") as server:
        result = dify(server, mode="blocking").complete(REQUEST)
    assert result.text == "答案 answer"
    assert result.message_id and result.conversation_id
    assert (result.prompt_tokens, result.completion_tokens) == (321, 123)
    sent = server.requests[0]
    assert sent.path == "/v1/chat-messages"
    assert sent.headers["Authorization"] == "Bearer app-key"
    assert sent.json["response_mode"] == "blocking" and sent.json["user"] == "warroom-test"
    assert sent.json["inputs"] == {} and "房間資料" in sent.json["query"]


def test_dify_streaming_joins_chunks_ignores_pings_and_reads_the_end_event():
    with FakeAIServer(script=[Reply(chunks=7, pings=True, end_id_field="id")], answer="一二三四五六七八九十") as server:
        result = dify(server).complete(REQUEST)
    assert result.text == "一二三四五六七八九十"
    assert result.message_id and result.completion_tokens == 123
    assert "ping" not in result.text


def test_dify_message_replace_replaces_the_answer():
    with FakeAIServer(script=[Reply(replace="替換後的答案")], answer="原本") as server:
        assert dify(server).complete(REQUEST).text == "替換後的答案"


def test_dify_error_in_the_middle_of_a_stream_is_a_failed_call():
    with FakeAIServer(script=[Reply(stream_error=2)]) as server:
        with pytest.raises(LLMRetryableError, match="stream error"):
            dify(server).complete(REQUEST)


def test_dify_401_fails_at_once_without_retries():
    with FakeAIServer(script=[Reply(status=401, error_message="Access token is invalid")]) as server:
        with pytest.raises(LLMAuthError) as caught:
            complete_with_retries(dify(server), REQUEST, max_retries=3, backoff_base=0.01)
    assert len(server.requests) == 1
    assert caught.value.status == 401 and "Access token is invalid" in str(caught.value)
    with translation.override("zh-hant"):
        assert str(caught.value.user_message) == "AI 服務拒絕了存取憑證。"
    with translation.override("en"):
        assert str(caught.value.user_message) == "The AI service rejected the credentials."


def test_dify_400_fails_without_retries():
    with FakeAIServer(script=[Reply(status=400, error_code="invalid_param")]) as server:
        with pytest.raises(LLMBadRequest):
            complete_with_retries(dify(server), REQUEST, max_retries=3, backoff_base=0.01)
    assert len(server.requests) == 1


def test_dify_429_and_500_are_retried_then_succeed():
    with FakeAIServer(script=[Reply(status=429, retry_after="0"), Reply(status=500)], answer="ok") as server:
        result = complete_with_retries(dify(server), REQUEST, max_retries=2, backoff_base=0.01)
    assert result.text == "ok" and result.attempts == 3
    assert len(server.requests) == 3


def test_retryable_errors_outlasting_the_retries_raise_the_last_one():
    with FakeAIServer(script=[500, 502, 503]) as server:
        with pytest.raises(LLMRetryableError) as caught:
            complete_with_retries(dify(server), REQUEST, max_retries=2, backoff_base=0.01)
    assert caught.value.status == 503 and len(server.requests) == 3


def test_slow_headers_hit_the_deadline():
    with FakeAIServer(script=[Reply(headers_delay=3)]) as server:
        started = time.monotonic()
        with pytest.raises(LLMTimeout):
            dify(server, mode="blocking", timeout=0.5).complete(REQUEST)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("mode", ["blocking", "streaming"])
def test_a_server_that_drips_one_byte_at_a_time_cannot_hold_the_call_past_its_deadline(mode):
    # 2,000 bytes at 20 ms each would take 40 s; the call must end at its 1 s deadline.
    with FakeAIServer(script=[Reply(drip=True, drip_delay=0.02)], answer="x" * 2000) as server:
        started = time.monotonic()
        with pytest.raises(LLMTimeout):
            dify(server, mode=mode, timeout=1.0).complete(REQUEST)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 2.0


def test_connection_refused_is_retryable():
    server = FakeAIServer().start()
    base = server.base_url
    server.stop()
    client = DifyClient(base_url=base, api_key="k", timeout=2, response_mode="blocking")
    with pytest.raises(LLMRetryableError):
        client.complete(REQUEST)


def test_openai_blocking():
    with FakeAIServer(answer='{"summary": "x"}') as server:
        result = openai(server, stream=False).complete(REQUEST)
    assert result.text == '{"summary": "x"}' and result.prompt_tokens == 321
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions" and sent.json["model"] == "fake-model"
    assert [m["role"] for m in sent.json["messages"]] == ["system", "user"]
    assert sent.headers["Authorization"] == "Bearer sk-key"


def test_openai_streaming_reads_deltas_usage_and_tolerates_null_choices():
    with FakeAIServer(script=[Reply(chunks=5)], answer="逐字串流的答案") as server:
        result = openai(server).complete(REQUEST)
    assert result.text == "逐字串流的答案"
    assert (result.prompt_tokens, result.completion_tokens) == (321, 123)
    assert server.requests[0].json["stream_options"] == {"include_usage": True}


def test_openai_401_and_500_then_success():
    with FakeAIServer(script=[Reply(status=401)]) as server:
        with pytest.raises(LLMAuthError):
            complete_with_retries(openai(server), REQUEST, max_retries=2, backoff_base=0.01)
        assert len(server.requests) == 1
    with FakeAIServer(script=[Reply(status=500), Reply(status=500)], answer="fine") as server:
        result = complete_with_retries(openai(server), REQUEST, max_retries=2, backoff_base=0.01)
    assert result.text == "fine" and len(server.requests) == 3


def test_openai_error_chunk_mid_stream_is_a_failed_call():
    with FakeAIServer(script=[Reply(stream_error=1)]) as server:
        with pytest.raises(LLMRetryableError):
            openai(server).complete(REQUEST)


def test_one_pooled_client_per_process():
    from reports.llm.http import http_client

    assert http_client() is http_client()


def test_fake_server_records_json_bodies():
    with FakeAIServer() as server:
        openai(server, stream=False).complete(REQUEST)
        dify(server, mode="blocking").complete(REQUEST)
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/v1/chat-messages"]
    assert json.loads(server.answer)["summary"]
