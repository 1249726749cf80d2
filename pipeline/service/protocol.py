"""uvicorn's httptools protocol with two guards it lacks, a cap on a request's head and a
deadline for it, and two changes: `GET /health` and `GET /metrics` are answered past
`limit_concurrency` (they read no body, so they hold no memory the limit protects), so that idle
connections cannot make the service look dead; a malformed request gets a JSON 400 like every
other refusal; a connection whose request was answered before its body ended is closed.

uvicorn keeps every header line a client sends until the head ends, and waits for the end as
long as bytes keep coming, however slowly (its keep-alive timer stops at each byte). So one
connection could hold any amount of memory, and slow ones (slow-loris) could pile up without
ever counting against `limit_concurrency`, which uvicorn checks once a head is complete. Here a
head over `head_limit` bytes gets a 431, and a connection whose head is not complete
`head_timeout_s` after it began (or after the connection opened) gets a 408; both close it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
}
# Answered whatever the number of open connections: cheap, bodiless, what probes call.
UNLIMITED = frozenset({(b"GET", b"/health"), (b"HEAD", b"/health"), (b"GET", b"/metrics")})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    head_limit = 64 * 1024
    head_timeout_s = 10.0
    # Told the kind of each refusal, for the service's error counter.
    on_refusal: Callable[[str], None] = staticmethod(lambda kind: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._head_timer is None:  # a keep-alive connection's next request
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        limit = self.limit_concurrency
        if (self.parser.get_method(), httptools.parse_url(self.url).path) in UNLIMITED:
            self.limit_concurrency = None
        try:
            super().on_headers_complete()
        finally:
            self.limit_concurrency = limit

    def on_response_complete(self) -> None:
        # Answered before its body was all received (a refusal, or a route that reads none):
        # close, or the rest of the body, trickled in, would hold the connection for ever
        # (each byte stops uvicorn's keep-alive timer, and the head deadline is past).
        if self.cycle is not None and self.cycle.response_complete and self.cycle.more_body:
            self.transport.close()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        # The parser reports a refusal raised in a callback as a malformed request.
        if self._refusal is None:
            self._refuse(400, "malformed_http", msg)
        else:
            self._refuse(*self._refusal)

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self.head_limit:
            self._refusal = (431, "head_too_large", f"request head over {self.head_limit} bytes")
            raise ValueError(self._refusal[2])  # stops the parser; see send_400_response

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _timed_out(self) -> None:
        self._head_timer = None
        message = f"request head not received within {self.head_timeout_s:g} s"
        self._refuse(408, "head_timeout", message)

    def _refuse(self, status: int, kind: str, message: str) -> None:
        self._disarm()
        type(self).on_refusal(kind)
        body = orjson.dumps({"error": kind, "detail": message})
        head = (
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % (status, _REASONS[status], len(body))
        )
        if not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()


def guarded_protocol(
    head_limit: int, head_timeout_s: float, on_refusal: Callable[[str], None]
) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to give uvicorn (`http=`), with these limits."""
    return type(
        "ServiceHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "head_limit": head_limit,
            "head_timeout_s": head_timeout_s,
            "on_refusal": staticmethod(on_refusal),
        },
    )
