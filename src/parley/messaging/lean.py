"""`POST /client/v1/messages` served ahead of FastAPI: the common sends, decoded with msgspec, same bytes out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from parley.kit.errors import AppError
from parley.messaging.schemas import ContextIn, EncryptedIn, SendMessageIn, TextIn, is_megolm_message

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from parley.accounts import AccountService
    from parley.config import Settings
    from parley.messaging.service import MessagingService


class SendServices(Protocol):
    """What a lean send needs of the app's services (the container, in `app.state.container`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def accounts(self) -> AccountService: ...
    @property
    def messaging(self) -> MessagingService: ...


SEND_PATH = "/client/v1/messages"
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)


# The shapes served here. Anything else (another message type, a field spelt out as null that the lean decoder
# does not know, a value of another type) fails to decode and goes to FastAPI, whose pydantic errors stay as
# they are. The checks after decoding repeat SendMessageIn's, so what passes here passes there too.
class _Text(msgspec.Struct, forbid_unknown_fields=True):
    body: str


class _Context(msgspec.Struct, forbid_unknown_fields=True):
    message_id: str


class _Encrypted(msgspec.Struct, forbid_unknown_fields=True):
    algorithm: str
    ciphertext: str
    sender_key: str
    session_id: str
    device_id: str

    def valid(self) -> bool:
        """What EncryptedIn checks."""
        return (
            self.algorithm == "m.megolm.v1.aes-sha2"
            and 0 < len(self.ciphertext) <= 262_144
            and 43 <= len(self.sender_key) <= 64
            and 43 <= len(self.session_id) <= 64
            and _is_id(self.device_id)
            and is_megolm_message(self.ciphertext)
        )


class _SendBody(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str
    to: str | None = None
    group_id: str | None = None
    type: str = "text"
    text: _Text | None = None
    encrypted: _Encrypted | None = None
    context: _Context | None = None
    referral_clid: str | None = None


_decode = msgspec.json.Decoder(_SendBody).decode


def _is_id(raw: str) -> bool:
    """What `^\\d{1,20}$` accepts, in ASCII only (an id of other digits is left to pydantic to judge)."""
    return 0 < len(raw) <= 20 and raw.isascii() and raw.isdigit()


def parse_send(raw: bytes) -> SendMessageIn | None:
    """The send request in `raw` if it is one of the lean shapes and valid; None to let FastAPI answer."""
    try:
        body = _decode(raw)
    except msgspec.DecodeError:
        return None
    text, context, encrypted = body.text, body.context, body.encrypted
    if body.type == "encrypted":
        readable = text is None and encrypted is not None and encrypted.valid()
    else:
        readable = body.type == "text" and encrypted is None and text is not None and bool(text.body)
    if (
        not readable
        or (body.to is None) == (body.group_id is None)
        or (body.to is not None and len(body.to) > 32)
        or (body.group_id is not None and not _is_id(body.group_id))
        or not 0 < len(body.client_id) <= 64
        or (body.referral_clid is not None and len(body.referral_clid) > 64)
        or (context is not None and not _is_id(context.message_id))
    ):
        return None
    # Validated above: construct without validating twice.
    return SendMessageIn.model_construct(
        to=body.to,
        group_id=body.group_id,
        type="encrypted" if encrypted is not None else "text",
        text=None if text is None else TextIn.model_construct(body=text.body),
        encrypted=None
        if encrypted is None
        else EncryptedIn.model_construct(**{f: getattr(encrypted, f) for f in encrypted.__struct_fields__}),
        context=None if context is None else ContextIn.model_construct(message_id=context.message_id),
        client_id=body.client_id,
        referral_clid=body.referral_clid,
    )


def _bearer_token(scope: Scope) -> str | None:
    """As `parley.http.bearer_token` reads it (header names arrive lower-cased, values as latin-1 bytes)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value.decode("latin-1")
            return header[7:].strip() if header[:7].lower() == "bearer " else None
    return None


def _is_json_within(scope: Scope, limit: int) -> bool:
    """A plain JSON body that declares its length within the limit (else the usual stack decides)."""
    content_type = length = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
    return content_type == b"application/json" and length is not None and length.isdigit() and int(length) <= limit


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` again, its body already read: FastAPI reads it from here."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _json_headers(length: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(length).encode()), (b"content-type", b"application/json")]


async def send_message(app: Starlette, scope: Scope, receive: Receive, send: Send, fallback: ASGIApp) -> None:
    """Serve a person's send, or hand the request to `fallback` (FastAPI) untouched but for the body it read."""
    container: SendServices = app.state.container
    limit = container.settings.limits.max_json_bytes
    token = _bearer_token(scope)
    if token is None or not _is_json_within(scope, limit):
        await fallback(scope, receive, send)
        return
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: nobody to answer
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit or not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request = None if size > limit else parse_send(body)
    principal = None
    if request is not None:
        try:
            principal = await container.accounts.authenticate(token)
        except AppError:
            principal = None  # FastAPI tells the caller, in its words
    if request is None or principal is None:
        await fallback(scope, _replaying(body, receive), send)
        return
    try:
        sent = await container.messaging.send(principal.user_id, request)
    except Exception as error:
        await _render_error(app, scope, receive, send, error)
        return
    # What FastAPI's JSONResponse makes of SendMessageOut, byte for byte (a test compares the two).
    payload = b'{"id":"%d","chat_id":"%d","timestamp":%d}' % (sent.message_id, sent.chat_id, sent.timestamp)
    await send({"type": "http.response.start", "status": 200, "headers": _json_headers(len(payload))})
    await send({"type": "http.response.body", "body": payload})


async def _render_error(app: Starlette, scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
    """The answer the app's own exception handler gives (the one renderer of every error), for a failed send."""
    handlers: dict[Any, Any] = app.exception_handlers
    handler = next((handlers[cls] for cls in type(error).__mro__ if cls in handlers), None)
    if handler is None or not isinstance(error, AppError):
        # As Starlette's ServerErrorMiddleware does: answer with the catch-all handler, then let the server log it.
        handler = handlers.get(Exception) or handlers.get(500)
        if handler is None:
            raise error
        response = await handler(Request(scope, receive), error)
        await response(scope, receive, send)
        raise error
    response = await handler(Request(scope, receive), error)
    await response(scope, receive, send)
