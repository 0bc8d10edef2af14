"""`POST /v{N}.0/{phone_number_id}/messages` served ahead of FastAPI for the common bodies (text, template, read).

FastAPI's routing and dependency solving cost more than the rest of a cached send's request handling. This
handler takes the route's common case only: a body it decodes with msgspec (`outbound.decode_common`), a bearer
token, at most one short `Idempotency-Key`, no query string. Everything else (another message type, a body the
fast decoder refuses, `?dry_run`, a body over the limit, an unsupported version) is handed to FastAPI with the
body it read fed back, so every refusal is the route's own answer, byte for byte. The route itself stays
declared in FastAPI, hence in /openapi.json.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import orjson
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from parley.business import outbound
from parley.graph import GraphError, parse_version

if TYPE_CHECKING:
    from parley.business.accounts import BusinessAccounts
    from parley.business.sender import CloudApiSender


class SendServices(Protocol):
    """What a lean Cloud API send needs of the app's services (the container has them)."""

    @property
    def business(self) -> BusinessAccounts: ...
    @property
    def sender(self) -> CloudApiSender: ...


log = logging.getLogger("parley.business")
_IDEMPOTENCY_KEY_MAX = 128  # the FastAPI route's `Header(max_length=128)`

ASGICall = Callable[[Scope, Receive, Send], Awaitable[None]]


def send_route_number(scope: Scope) -> str | None:
    """The phone number id, when `scope` is a POST to the send route this handler may take; else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not path.endswith("/messages"):
        return None
    parts = path.split("/")  # "", "v23.0", "{phone_number_id}", "messages"
    if len(parts) != 4 or parts[1][:1] != "v" or not (parts[2].isascii() and parts[2].isdigit()):
        return None
    if scope.get("query_string"):
        return None  # ?dry_run and friends: FastAPI parses queries
    try:
        parse_version(parts[1][1:])
    except GraphError:
        return None
    return parts[2]


class LeanCloudSend:
    """The send route's lean handler; `render_error` is the app's answer to an exception on a Graph route."""

    def __init__(self, max_json_bytes: int, render_error: Callable[[Exception], Response]) -> None:
        self._max_json = max_json_bytes
        self._render_error = render_error

    async def __call__(
        self, container: SendServices, number_id: str, scope: Scope, receive: Receive, send: Send, fallback: ASGICall
    ) -> None:
        token, idempotency_key, declared, plain = _headers(scope)
        if not plain or (declared is not None and declared > self._max_json):
            await fallback(scope, receive, send)
            return
        read: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                await fallback(scope, _replay(read, receive), send)
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max_json:  # the body limit's 413 is FastAPI's side's to give
                await fallback(scope, _replay(read, receive), send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        request = outbound.decode_common(raw) if raw else None
        if request is None:
            await fallback(scope, _replay(read, receive), send)
            return
        response: Response
        try:
            graph_scope = await container.business.authenticate(token)
            # The key is bound to the body as the route binds it: its JSON, whatever the key order or spacing.
            body = orjson.loads(raw) if idempotency_key else None
            answer = await container.sender.send(graph_scope, number_id, body, idempotency_key, parsed=request)
            response = JSONResponse(answer)
        except Exception as exc:  # every failure is answered as the FastAPI route answers it
            response = self._render_error(exc)
        await response(scope, receive, send)


def _headers(scope: Scope) -> tuple[str | None, str | None, int | None, bool]:
    """(bearer token, Idempotency-Key, Content-Length, whether the headers are ones this handler takes)."""
    token = idempotency_key = authorization = None
    declared = None
    plain = True
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:  # the first one, as Starlette's `Headers.get`
            authorization = value.decode("latin-1")
            if authorization[:7].lower() == "bearer ":
                token = authorization[7:].strip()
        elif name == b"idempotency-key":
            if idempotency_key is not None or len(value) > _IDEMPOTENCY_KEY_MAX:
                plain = False  # repeated or too long: the route's own validation answers
            idempotency_key = value.decode("latin-1")
        elif name == b"content-length":
            declared = int(value) if value.isdigit() else None
    return token, idempotency_key, declared, plain


def _replay(read: list[Message], receive: Receive) -> Receive:
    """`receive` that gives back the messages already read, then the rest."""
    pending = list(read)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
