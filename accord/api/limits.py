"""Plain ASGI middleware: request ids, and body limits enforced while the body streams in (a lying
Content-Length is caught too); and ``peer_body``, the per-sender rate limit of the federation inbox
endpoints (``accord.services.inbox``).

Why plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware reads the body
in a task group, which wraps an exception raised while receiving into an ExceptionGroup and turns the
413 into a generic 400."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord.ids import IdFactory
from accord.services import inbox
from accord.services.node import Node

__all__ = ["BodyLimit", "RequestIds", "peer_body"]


async def peer_body(request: Request, node: Node, request_id: str | None) -> bytes:
    """The body of a request to a federation inbox endpoint, once its sender is within its rate (else the
    ``RateLimited`` raised here is a 429 problem with ``Retry-After``). The address is the connection's, as
    for sign-in (behind a reverse proxy, run uvicorn with ``--forwarded-allow-ips``)."""
    raw = await request.body()
    address = request.client.host if request.client else "unknown"
    await run_in_threadpool(inbox.admit, node, raw, address, request.url.path, request_id)
    return raw


class _TooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing re-raises it as it is, and the problem handler renders it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds this endpoint's limit of {limit} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int, bulk: int) -> None:
        self.app, self.default, self.bulk = app, default, bulk

    def _limit(self, path: str) -> int:
        return self.bulk if path.endswith(":bulk") or path == "/v1/import" else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, limit, scope["path"])
            return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return msg

        async def tracking(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting, tracking)
        except _TooLarge:
            if not started:
                await _reject(send, limit, scope["path"])


async def _reject(send: Send, limit: int, path: str) -> None:
    body: dict[str, Any] = {
        "type": "urn:accord:problem:payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"the request body exceeds this endpoint's limit of {limit} bytes",
        "instance": path,
    }
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})


_RID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class RequestIds:
    """Take the caller's ``X-Request-Id`` when well formed, else mint one; echo it on the response."""

    def __init__(self, app: ASGIApp, ids: IdFactory) -> None:
        self.app, self.ids = app, ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"")
        rid = given.decode() if _RID.match(given) else self.ids("req")
        scope.setdefault("state", {})["request_id"] = rid

        async def with_id(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(msg)

        await self.app(scope, receive, with_id)
