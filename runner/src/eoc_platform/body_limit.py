"""The all-in-one gateway's body limit: what nginx's client_max_body_size 2m does in distributed mode.

A body over the limit is refused with 413 problem+json before any service sees the request, so an
unauthenticated 10 MB upload costs no service any work. A declared Content-Length over the limit is
refused without reading a byte; otherwise the chunks are counted as they arrive, at most the limit
is held, and the service gets the body replayed only once it is known to fit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 2 * 1024 * 1024


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number; None when absent or not a plain number."""
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


async def refuse(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps({
        "type": "about:blank", "title": "Content Too Large", "status": 413,
        "detail": f"the request body is larger than {limit // (1024 * 1024)} MB; send less in one request",
        "instance": scope.get("path", ""),
    }).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI wrapper: refuse bodies over `limit` bytes (413) before the wrapped app runs."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.limit:
            await refuse(scope, send, self.limit)
            return
        buffered: list[Message] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to serve
                return
            received += len(message.get("body", b""))
            if received > self.limit:
                await refuse(scope, send, self.limit)
                return
            buffered.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)
