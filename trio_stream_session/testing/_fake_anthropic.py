"""``FakeAnthropicServer``: a loopback fake of the Anthropic Messages API for offline tests.

It is a real HTTP server (hypercorn's Trio worker serving a small ASGI app)
on ``127.0.0.1`` and an ephemeral port, so the ``anthropic`` SDK talks to it
exactly as it talks to the real API: retries, timeouts, SSE parsing and
connection handling are all exercised.

    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("Hello! ", "How can I help?"))
        async with ClaudeAdapter(base_url=server.url, api_key="sk-ant-test-key") as adapter:
            ...
        assert server.requests[0].json["messages"][0]["role"] == "user"

``hypercorn`` is a test dependency: it is imported when a server starts.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Any, Final, Self, cast

import trio

from ._fake_anthropic_blocks import SSEEvent
from ._fake_anthropic_responses import DEFAULT_FAKE_MODEL, FakeResponse

__all__ = [
    "DEFAULT_FAKE_MODEL",
    "FakeAnthropicServer",
    "FakeResponse",
    "RecordedRequest",
    "SSEEvent",
    "open_fake_anthropic_server",
]

_SECRET_HEADERS: Final = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie"})
_REDACTED: Final = "[REDACTED]"
_SSE_HEADERS: Final = [(b"content-type", b"text/event-stream; charset=utf-8")]
_LOG: Final = logging.getLogger("trio_stream_session.testing.fake_anthropic")
#: Seconds hypercorn gives open connections once the server is closing.
_GRACEFUL_TIMEOUT: Final = 1.0

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Responder = Callable[["RecordedRequest"], FakeResponse | None]


class RecordedRequest:
    """One request the fake server received.

    ``headers`` has lower-case names; credential headers (``x-api-key``,
    ``authorization``) are replaced by ``[REDACTED]``; check a key with
    :meth:`has_api_key`. ``json`` is the decoded body (None if it was not
    JSON). ``response`` is the reply served. ``disconnected`` turns True when
    the client went away before the reply ended; ``finished`` is set once the
    server is done with the request.
    """

    def __init__(
        self,
        index: int,
        method: str,
        path: str,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        self.index = index
        self.method = method
        self.path = path
        self.body = body
        self._credentials: list[str] = []
        shown: dict[str, str] = {}
        for raw_name, raw_value in headers:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            if name in _SECRET_HEADERS:
                self._credentials.append(value.removeprefix("Bearer ").strip())
                value = _REDACTED
            shown[name] = value
        self.headers: Mapping[str, str] = shown
        try:
            self.json: Any = json.loads(body) if body else None
        except ValueError:
            self.json = None
        self.response: FakeResponse | None = None
        self.disconnected = False
        self.finished = trio.Event()

    @property
    def messages(self) -> list[Any]:
        """The request's ``messages`` (``[]`` if the body had none)."""
        messages = self.json.get("messages") if isinstance(self.json, dict) else None
        return list(messages) if isinstance(messages, list) else []

    def has_api_key(self, api_key: str) -> bool:
        """True if the request authenticated with *api_key* (``x-api-key`` or bearer)."""
        return any(hmac.compare_digest(c.encode(), api_key.encode()) for c in self._credentials)

    def __repr__(self) -> str:
        return (
            f"RecordedRequest(index={self.index}, method={self.method!r}, path={self.path!r}, "
            f"disconnected={self.disconnected})"
        )


def _as_non_streaming(response: FakeResponse) -> FakeResponse:
    body = response.message_json()
    if body is None:
        return response
    headers = (("content-type", "application/json"),)
    return FakeResponse(status=response.status, headers=headers, body=body)


def _json_response(status: int, error_type: str, message: str) -> FakeResponse:
    return FakeResponse.error(status, message, error_type=error_type, should_retry=False)


class _App:
    """The ASGI application: serves scripted replies to ``POST /v1/messages``."""

    def __init__(self, server: FakeAnthropicServer) -> None:
        self._server = server

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        server = self._server
        record = RecordedRequest(
            len(server.requests), scope["method"], scope["path"], scope["headers"], bytes(body)
        )
        server._record(record)
        if scope["method"] != "POST" or scope["path"] != "/v1/messages":
            response = _json_response(404, "not_found_error", f"Not found: {scope['path']}")
        elif not isinstance(record.json, dict):
            response = _json_response(400, "invalid_request_error", "Body is not a JSON object")
        else:
            response = server._next_response(record)
            if record.json.get("stream") is not True:
                response = _as_non_streaming(response)
        record.response = response
        try:
            async with trio.open_nursery() as nursery:
                done = _Flag()
                nursery.start_soon(_watch_disconnect, receive, record, done, nursery.cancel_scope)
                await _serve(response, send, done, server._closing)
                nursery.cancel_scope.cancel()
        finally:
            record.finished.set()


class _Flag:
    """Set just before the last byte of a reply goes out, so that hypercorn's own
    ``http.disconnect`` after a finished reply is not mistaken for the client leaving."""

    value = False


async def _watch_disconnect(
    receive: Receive, record: RecordedRequest, done: _Flag, serving: trio.CancelScope
) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    if not done.value:
        record.disconnected = True
    serving.cancel()


def _raw_headers(response: FakeResponse) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]


async def _serve(response: FakeResponse, send: Send, done: _Flag, closing: trio.Event) -> None:
    if response.no_headers:
        await closing.wait()
        # Returning before a response start would make hypercorn answer 500;
        # starting a body and abandoning it drops the connection instead.
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        return
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": _raw_headers(response),
        }
    )
    if not response.streaming:
        done.value = True
        await send({"type": "http.response.body", "body": response.body, "more_body": False})
        return
    budget = response.byte_limit
    for event in response.events:
        if response.delay > 0:
            await trio.sleep(response.delay)
        data = event.encode()
        if budget is not None:
            data, budget = data[:budget], budget - len(data[:budget])
            if not data:
                break
        size = response.chunk_size or len(data)
        for offset in range(0, len(data), size):
            chunk = data[offset : offset + size]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if response.ending == "stall":
        await closing.wait()
    elif response.ending == "complete":
        done.value = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    # "drop" (and a stall ended by shutdown): returning without ending the
    # body makes hypercorn close the connection mid-response.


class FakeAnthropicServer:
    """A scripted Anthropic Messages API on ``http://127.0.0.1:<ephemeral port>``.

    Each ``POST /v1/messages`` takes the next reply queued with
    :meth:`enqueue` (or :meth:`script`); when the queue is empty it asks
    ``responder(request)`` (if given), then serves ``default`` (if given),
    else a 500 ``api_error`` with ``x-should-retry: false``. A request
    without ``"stream": true`` gets a complete scripted stream folded into one
    ``Message`` JSON body. Every request is recorded in :attr:`requests`, with
    credential headers redacted.

    ``async with`` starts the server (entry returns once it listens; the
    address is :attr:`url`) and stops it on exit: stalled replies are ended,
    open connections are closed, and no task outlives the block. Cancelling
    the block does the same.
    """

    def __init__(
        self,
        *,
        default: FakeResponse | None = None,
        responder: Responder | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.default = default
        self.responder = responder
        self.host = host
        self.requests: list[RecordedRequest] = []
        self._queue: deque[FakeResponse] = deque()
        self._url: str | None = None
        self._closing = trio.Event()
        self._shutdown = trio.Event()
        self._arrival = trio.Event()
        self._stack: AsyncExitStack | None = None

    def __repr__(self) -> str:
        return (
            f"FakeAnthropicServer(url={self._url!r}, queued={len(self._queue)}, "
            f"requests={len(self.requests)})"
        )

    @property
    def url(self) -> str:
        """The base URL to give the client: ``http://127.0.0.1:<port>``."""
        if self._url is None:
            raise RuntimeError("FakeAnthropicServer is not running: use 'async with'")
        return self._url

    @property
    def pending(self) -> int:
        """How many queued replies have not been served yet."""
        return len(self._queue)

    def enqueue(self, *responses: FakeResponse) -> None:
        """Queue *responses*, one per future request, in order."""
        self._queue.extend(responses)

    def script(self, *responses: FakeResponse) -> None:
        """Replace the queue with *responses*."""
        self._queue.clear()
        self._queue.extend(responses)

    async def wait_for_requests(self, count: int) -> list[RecordedRequest]:
        """Block until at least *count* requests have arrived; return them.

        A checkpoint; cancellation leaves the server unchanged.
        """
        while len(self.requests) < count:
            await self._arrival.wait()
        await trio.lowlevel.checkpoint()
        return self.requests[:count]

    def _record(self, record: RecordedRequest) -> None:
        self.requests.append(record)
        # Wake every waiter; later waiters wait on the fresh event.
        self._arrival.set()
        self._arrival = trio.Event()

    def _next_response(self, record: RecordedRequest) -> FakeResponse:
        if self._queue:
            return self._queue.popleft()
        if self.responder is not None:
            response = self.responder(record)
            if response is not None:
                return response
        if self.default is not None:
            return self.default
        return _json_response(
            500,
            "api_error",
            f"FakeAnthropicServer has no scripted response for request #{record.index}",
        )

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("FakeAnthropicServer is already running")
        from hypercorn.config import Config
        from hypercorn.trio import serve

        config = Config()
        config.bind = [f"{self.host}:0"]
        config.accesslog = None
        config.errorlog = _LOG
        config.graceful_timeout = _GRACEFUL_TIMEOUT
        async with AsyncExitStack() as stack:
            nursery = await stack.enter_async_context(trio.open_nursery())
            stack.push_async_callback(self._stop)
            app = cast(Any, _App(self))
            binds = await nursery.start(
                lambda task_status: serve(
                    app, config, shutdown_trigger=self._shutdown.wait, task_status=task_status
                )
            )
            self._url = str(binds[0])
            self._stack = stack.pop_all()
        return self

    async def _stop(self) -> None:
        self._closing.set()
        self._shutdown.set()
        await trio.lowlevel.checkpoint()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack, self._stack = self._stack, None
        try:
            if stack is None:
                return None
            return await stack.__aexit__(exc_type, exc, tb)
        finally:
            self._url = None


@asynccontextmanager
async def open_fake_anthropic_server(
    *, default: FakeResponse | None = None, responder: Responder | None = None
) -> AsyncIterator[FakeAnthropicServer]:
    """``async with open_fake_anthropic_server() as server:`` — same as the class."""
    async with FakeAnthropicServer(default=default, responder=responder) as server:
        yield server
