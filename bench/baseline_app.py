"""Baselines for the benchmarks: the same routes as Parley with nothing behind them.

Two apps, served with the same uvicorn settings as `parley serve` (see serve()):

* `raw`: a bare ASGI callable, the floor of uvicorn itself (httptools + uvloop + websockets-sansio);
* `fastapi`: a bare FastAPI app with a pydantic body model and an async auth dependency, the floor of
  the framework Parley is written in.

Both answer `POST /client/v1/messages` with `{"id", "chat_id", "timestamp"}`, the Cloud API's
`POST /v{N}/{phone_number_id}/messages` with Meta's `{"messaging_product", "contacts", "messages"}` body,
and accept `WS /client/v1/stream?token=T`. When a message's `to` (digits only, without '+') names the token of a
connected stream, the message is relayed to that socket as a Parley-shaped `message` event before the
answer: the floor for sender-to-WebSocket delivery. Nothing is stored.

    python bench/baseline_app.py --kind raw --port 8090
"""

# No `from __future__ import annotations` here: FastAPI must see the real types of the local models.
import argparse
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_streams: dict[str, Send] = {}  # token -> the ASGI send of its socket
_ids = itertools.count(1)
_seqs: dict[str, int] = {}


def _event(token: str, body: dict[str, Any], message_id: int, now: int) -> str:
    seq = _seqs[token] = _seqs.get(token, 0) + 1
    return orjson.dumps(
        {
            "type": "message",
            "id": seq,
            "event": "new",
            "message": {
                "id": str(message_id),
                "chat_id": "1",
                "sender_id": "1",
                "sender_name": "baseline",
                "type": "text",
                "text": body.get("text"),
                "media": None,
                "context": None,
                "client_id": body.get("client_id"),
                "timestamp": now,
                "edited_at": None,
                "deleted": False,
                "reactions": [],
                "status": "sent",
            },
        }
    ).decode()


async def _relay(body: dict[str, Any]) -> dict[str, Any]:
    message_id = next(_ids)
    now = int(time.time() * 1000)
    target = str(body.get("to") or "").lstrip("+")
    ws_send = _streams.get(target)
    if ws_send is not None:
        try:
            await ws_send({"type": "websocket.send", "text": _event(target, body, message_id, now)})
        except Exception:
            _streams.pop(target, None)
    return {"id": str(message_id), "chat_id": "1", "timestamp": now}


async def _cloud_send(body: dict[str, Any]) -> dict[str, Any]:
    """The Cloud API send: relayed like a people's send (text, or the template's name), answered as Meta does."""
    to = str(body.get("to") or "")
    text = body.get("text") or {"body": str((body.get("template") or {}).get("name", ""))}
    relayed = await _relay({"to": to, "text": text, "client_id": None})
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
        "messages": [{"id": f"wamid.baseline{relayed['id']}", "message_status": "accepted"}],
    }


def _is_cloud_send(path: str) -> bool:
    parts = path.split("/")  # ["", "v23.0", "<phone_number_id>", "messages"]
    return len(parts) == 4 and parts[1].startswith("v") and parts[2].isdigit() and parts[3] == "messages"


# --- raw ASGI ------------------------------------------------------------------------------------

_JSON_HEADERS = [(b"content-type", b"application/json")]


async def _respond(send: Send, status: int, payload: object) -> None:
    body = orjson.dumps(payload)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    kind = scope["type"]
    if kind == "http":
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["method"] == "POST" and scope["path"] == "/client/v1/messages":
            try:
                body = orjson.loads(b"".join(chunks))
            except orjson.JSONDecodeError:
                await _respond(send, 400, {"error": {"code": "malformed_json", "message": "bad json"}})
                return
            await _respond(send, 200, await _relay(body))
        elif scope["method"] == "POST" and _is_cloud_send(scope["path"]):
            try:
                body = orjson.loads(b"".join(chunks))
            except orjson.JSONDecodeError:
                await _respond(send, 400, {"error": {"code": 100, "message": "bad json"}})
                return
            await _respond(send, 200, await _cloud_send(body))
        elif scope["path"] == "/healthz":
            await _respond(send, 200, {"status": "ok"})
        else:
            await _respond(send, 404, {"error": {"code": "not_found", "message": "no such route"}})
    elif kind == "websocket":
        token = parse_qs(scope["query_string"].decode()).get("token", [""])[0]
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        _streams[token] = send
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass  # acks: nothing to do
        finally:
            if _streams.get(token) is send:
                del _streams[token]
    elif kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


# --- bare FastAPI ----------------------------------------------------------------------------------


def build_fastapi_app() -> Any:
    from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
    from pydantic import BaseModel, ConfigDict, Field

    class TextIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        body: str = Field(min_length=1)

    class SendIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        to: str | None = Field(default=None, max_length=32)
        type: str = "text"
        text: TextIn | None = None
        client_id: str = Field(min_length=1, max_length=64)

    class SendOut(BaseModel):
        id: str
        chat_id: str
        timestamp: int

    class LanguageIn(BaseModel):
        code: str
        policy: str | None = None

    class TemplateIn(BaseModel):
        name: str = Field(min_length=1, max_length=512)
        language: LanguageIn
        components: list[dict[str, Any]] = []

    class CloudSendIn(BaseModel):
        messaging_product: str
        recipient_type: str = "individual"
        to: str | None = Field(default=None, max_length=32)
        recipient: str | None = None
        type: str = "text"
        text: TextIn | None = None
        template: TemplateIn | None = None
        biz_opaque_callback_data: str | None = None

    class ContactOut(BaseModel):
        input: str
        wa_id: str

    class MessageIdOut(BaseModel):
        id: str
        message_status: str

    class CloudSendOut(BaseModel):
        messaging_product: str
        contacts: list[ContactOut]
        messages: list[MessageIdOut]

    async def principal(request: Request) -> str:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise HTTPException(401, "missing bearer token")
        return header[7:]

    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/client/v1/messages", response_model=SendOut)
    async def send_message(body: SendIn, me: Annotated[str, Depends(principal)]) -> dict[str, Any]:
        return await _relay(body.model_dump())

    @app.post("/v{version}/{phone_number_id}/messages", response_model=CloudSendOut)
    async def cloud_send(
        version: str, phone_number_id: str, body: CloudSendIn, me: Annotated[str, Depends(principal)]
    ) -> dict[str, Any]:
        return await _cloud_send(body.model_dump())

    @app.websocket("/client/v1/stream")
    async def stream(ws: WebSocket) -> None:
        token = ws.query_params.get("token", "")
        await ws.accept()
        _streams[token] = ws.send
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            if _streams.get(token) is ws.send:
                del _streams[token]

    return app


def serve(kind: str, host: str, port: int, ws: str = "auto") -> None:
    import uvicorn

    from stats import raise_nofile

    raise_nofile(1_048_576)
    app = raw_app if kind == "raw" else build_fastapi_app()
    # Exactly the uvicorn settings of `parley serve` (src/parley/cli/main.py): everything else default,
    # so "auto" picks httptools, uvloop and websockets-sansio the same way for both.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, ws_ping_interval=None, ws=ws)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=("raw", "fastapi"), default="raw")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--ws", default="auto", help="uvicorn WebSocket implementation (exploration only)")
    args = parser.parse_args()
    serve(args.kind, args.host, args.port, args.ws)
