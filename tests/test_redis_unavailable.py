"""Redis refusing, timing out, read-only or without a known primary (a Sentinel failover): 503, never 500.

The API views (DRF's exception handler), every other view (config.middleware.RedisUnavailableMiddleware)
and the room WebSocket's handshake. tests/reliability/test_redis_failover.py sees the same during a
real failover; these pin each error class.
"""

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer
from channels.testing import WebsocketCommunicator
from django.test import RequestFactory
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
from redis.sentinel import MasterNotFoundError

from config.asgi import application
from config.middleware import RedisUnavailableMiddleware
from tests.realtime.test_consumer import session_cookie

FAILOVER_ERRORS = [
    ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    TimeoutError("Timeout reading from socket"),
    ReadOnlyError("You can't write against a read only replica."),
    MasterNotFoundError("No master found for 'warroom'"),
]


def test_an_api_write_during_a_failover_answers_503_with_the_error_body(api, room, member, monkeypatch):
    api.force_authenticate(member)
    for error in FAILOVER_ERRORS:
        def fail(error=error, **kwargs):
            raise error

        monkeypatch.setattr("incidents.services.message_post", fail)
        response = api.post(f"/api/rooms/{room.id}/messages/", {"body": "still there?"}, format="json")
        assert response.status_code == 503, (error, response.content)
        assert response["Retry-After"] == "5"
        assert response.json()["error"]["code"] == "service_unavailable"
        assert response.json()["error"]["message"] == "Warroom 需要的服務暫時無法使用，請幾秒後再試。"


@pytest.mark.parametrize("path", ["/api/rooms/x/notes/stream", "/rooms/"])
def test_a_redis_error_outside_the_api_views_answers_503_not_500(path):
    request = RequestFactory().get(path)
    middleware = RedisUnavailableMiddleware(lambda request: None)
    response = middleware.process_exception(request, ReadOnlyError("read only replica"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    if path.startswith("/api/"):
        assert response["content-type"] == "application/json"
        assert b'"service_unavailable"' in response.content
    else:
        assert "Warroom 需要的服務暫時無法使用".encode() in response.content
    assert middleware.process_exception(request, ValueError("not ours")) is None


class FailingLayer(InMemoryChannelLayer):
    async def group_add(self, group, channel):
        raise MasterNotFoundError("No master found for 'warroom'")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("denial_extension", [True, False], ids=["http-503", "close-1013"])
async def test_a_socket_opened_while_redis_switches_is_refused_for_a_retry_not_a_500(
    room, member, monkeypatch, denial_extension
):
    layer = FailingLayer()
    monkeypatch.setattr("channels.layers.channel_layers.backends", {"default": layer})
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"),
               (b"cookie", await database_sync_to_async(session_cookie)(member))]
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.id}/", headers=headers)
    if denial_extension:
        communicator.scope["extensions"] = {"websocket.http.response": {}}
    await communicator.send_input({"type": "websocket.connect"})
    answer = await communicator.receive_output(timeout=5)
    if denial_extension:
        assert answer["type"] == "websocket.http.response.start" and answer["status"] == 503
        body = await communicator.receive_output(timeout=5)
        assert b'"service_unavailable"' in body["body"]
    else:
        assert answer == {"type": "websocket.close", "code": 1013, "reason": None} or (
            answer["type"] == "websocket.close" and answer["code"] == 1013)
    await communicator.send_input({"type": "websocket.disconnect", "code": 1006})
    await communicator.wait(timeout=5)
