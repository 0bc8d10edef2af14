"""The lean person send answers exactly what FastAPI's route answers, and leaves everything else to it."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
import vodozemac
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from parley.messaging import lean
from tests.conftest import LiveServer
from tests.integration.test_receipts_and_stream import open_stream

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _scope(headers: dict[str, str], body: bytes, content_type: str | None) -> Scope:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if content_type is not None:
        raw.append((b"content-type", content_type.encode()))
    raw.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": lean.SEND_PATH,
        "raw_path": lean.SEND_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _call(app: Any, headers: dict[str, str], body: bytes, content_type: str | None) -> Answer:
    """One request straight into an ASGI callable, in chunks of 100 bytes; its status, headers and body."""
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)] or [b""]
    sent: list[Message] = []

    async def receive() -> Message:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(headers, body, content_type), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), content


class Paths:
    """The same request through FastAPI's route, through the lean path alone, and through the whole app."""

    def __init__(self, server: LiveServer) -> None:
        self.app = server.app
        self.fell_back = 0

    async def fastapi(
        self, headers: dict[str, str], body: bytes, content_type: str | None = "application/json"
    ) -> Answer:
        async def fastapi_only(scope: Scope, receive: Receive, send: Send) -> None:
            await FastAPI.__call__(self.app, scope, receive, send)

        return await _call(fastapi_only, headers, body, content_type)

    async def lean(self, headers: dict[str, str], body: bytes, content_type: str | None = "application/json") -> Answer:
        async def counted_fallback(scope: Scope, receive: Receive, send: Send) -> None:
            self.fell_back += 1
            await FastAPI.__call__(self.app, scope, receive, send)

        async def lean_only(scope: Scope, receive: Receive, send: Send) -> None:
            await lean.send_message(self.app, scope, receive, send, counted_fallback)

        return await _call(lean_only, headers, body, content_type)


def _text(to: str, client_id: str, body: str = "hi", **more: Any) -> bytes:
    return orjson.dumps({"to": to, "type": "text", "text": {"body": body}, "client_id": client_id, **more})


async def test_a_send_answers_the_same_bytes_as_fastapis_route(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    paths = Paths(server)
    # A retry answers the first send: first through one path, retried through the other, the bytes must agree.
    first = await paths.fastapi(alice.headers, _text(bob.phone, "c-1"))
    assert first[0] == 200
    assert await paths.lean(alice.headers, _text(bob.phone, "c-1")) == first
    fresh = await paths.lean(alice.headers, _text(bob.phone, "c-2"))
    assert fresh[0] == 200
    assert await paths.fastapi(alice.headers, _text(bob.phone, "c-2")) == fresh
    assert paths.fell_back == 0
    sent = orjson.loads(fresh[2])
    assert set(sent) == {"id", "chat_id", "timestamp"} and sent["chat_id"] == orjson.loads(first[2])["chat_id"]
    assert [h for h, _ in fresh[1]] == [b"content-length", b"content-type"]


async def test_group_sends_replies_and_referrals_take_the_lean_path(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await server.http.post(
        "/client/v1/groups", headers=alice.headers, json={"name": "G", "members": [bob.phone, carol.phone]}
    )
    group_id = group.json()["id"]
    paths = Paths(server)
    body = orjson.dumps({"group_id": group_id, "text": {"body": "hello all"}, "client_id": "g-1"})
    sent = await paths.lean(alice.headers, body)
    assert sent[0] == 200
    quoted = orjson.loads(sent[2])["id"]
    reply = _text(bob.phone, "r-1", context={"message_id": "1"}, referral_clid="clid")
    assert (await paths.lean(alice.headers, reply))[0] == 404  # the quoted message is not in that chat
    reply = orjson.dumps(
        {"group_id": group_id, "text": {"body": "re"}, "client_id": "r-2", "context": {"message_id": quoted}}
    )
    assert (await paths.lean(bob.headers, reply))[0] == 200
    assert paths.fell_back == 0
    history = await server.http.get(f"/client/v1/chats/{group_id}/messages", headers=carol.headers)
    assert [m["text"]["body"] for m in history.json()["messages"]] == ["re", "hello all"]


@pytest.mark.parametrize(
    ("body", "content_type", "auth"),
    [
        (b'{"to": "+14155550000", "text": {"body": "x"}', "application/json", True),  # malformed JSON
        (b"\xff\xfe", "application/json", True),  # not UTF-8
        (b"[1, 2]", "application/json", True),
        (b'{"to": "+14155550000", "type": "text", "client_id": "c"}', "application/json", True),  # no text
        (b'{"to": "+14155550000", "group_id": "1", "text": {"body": "x"}, "client_id": "c"}', "application/json", True),
        (b'{"text": {"body": "x"}, "client_id": "c"}', "application/json", True),  # no target
        (b'{"to": "+14155550000", "text": {"body": ""}, "client_id": "c"}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": ""}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": "' + b"c" * 65 + b'"}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": 5}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x", "more": 1}, "client_id": "c"}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": "c", "extra": 1}', "application/json", True),
        (b'{"group_id": "12a", "text": {"body": "x"}, "client_id": "c"}', "application/json", True),
        (b'{"group_id": "\xd9\xa1", "text": {"body": "x"}, "client_id": "c"}', "application/json", True),
        (b'{"to": "+14155550000", "type": "image", "client_id": "c"}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": "c", "image": null}', "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": "c"}', "text/plain", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": "c"}', None, True),
        (b"", "application/json", True),
        (b'{"to": "+14155550000", "text": {"body": "x"}, "client_id": "c"}', "application/json", False),
    ],
)
async def test_what_the_lean_path_does_not_take_gets_fastapis_answer(
    server: LiveServer, body: bytes, content_type: str | None, auth: bool
) -> None:
    alice = await server.user("Alice")
    headers = alice.headers if auth else {}
    paths = Paths(server)
    expected = await paths.fastapi(headers, body, content_type)
    assert expected[0] >= 400
    assert await paths.lean(headers, body, content_type) == expected
    assert paths.fell_back == 1


async def test_a_wrong_token_and_a_body_over_the_limit_get_the_usual_answers(server: LiveServer) -> None:
    alice = await server.user("Alice")
    paths = Paths(server)
    over = _text("+14155550000", "c", "x" * server.settings.limits.max_json_bytes)
    for headers, body in (({"Authorization": "Bearer nope"}, _text("+14155550000", "c")), (alice.headers, over)):
        expected = await server.http.post(lean.SEND_PATH, headers=headers, content=body)
        assert expected.status_code in (401, 413)
        answer = await _call(server.app, headers, body, "application/json")
        assert answer[0] == expected.status_code and answer[2] == expected.content
        assert await paths.lean(headers, body) == answer
    assert paths.fell_back == 2


async def test_refusals_of_the_service_are_rendered_as_the_app_renders_them(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    paths = Paths(server)
    assert (await paths.fastapi(alice.headers, _text(bob.phone, "k-1", "first")))[0] == 200
    for body in (
        _text("+14155559999", "c-1"),  # nobody has this number: 404
        _text(alice.phone, "c-2"),  # to oneself: 400
        _text("not a phone", "c-3"),
        _text(bob.phone, "k-1", "another message with the same client_id"),  # 409
        _text(bob.phone, "c-4", "x" * (server.settings.limits.text_max_chars + 1)),
        orjson.dumps({"group_id": "12345", "text": {"body": "x"}, "client_id": "c-5"}),
    ):
        expected = await paths.fastapi(alice.headers, body)
        assert expected[0] in (400, 404, 409)
        assert await paths.lean(alice.headers, body) == expected
    assert paths.fell_back == 0


async def test_a_retried_lean_send_stores_one_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    client_id = uuid.uuid4().hex
    answers = [
        await _call(server.app, alice.headers, _text(bob.phone, client_id), "application/json") for _ in range(3)
    ]
    assert answers[0][0] == 200 and answers.count(answers[0]) == 3
    chat_id = orjson.loads(answers[0][2])["chat_id"]
    history = await server.http.get(f"/client/v1/chats/{chat_id}/messages", headers=bob.headers)
    assert len(history.json()["messages"]) == 1


async def test_the_send_route_is_still_documented(server: LiveServer) -> None:
    spec = (await server.http.get("/openapi.json")).json()
    assert "post" in spec["paths"][lean.SEND_PATH]


async def test_a_renamed_sender_is_named_anew_on_the_next_message(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    async with open_stream(server, bob) as stream:
        await server.send_text(alice, "one", to=bob)
        assert (await stream.next("message"))["message"]["sender_name"] == "Alice"
        renamed = await server.http.patch("/client/v1/me", headers=alice.headers, json={"name": "Alicia"})
        assert renamed.status_code == 200
        await server.send_text(alice, "two", to=bob)
        assert (await stream.next("message"))["message"]["sender_name"] == "Alicia"


def _encrypted(to: str, client_id: str, ciphertext: str, device_id: str = "1") -> bytes:
    session = vodozemac.GroupSession()
    return orjson.dumps(
        {
            "to": to,
            "type": "encrypted",
            "client_id": client_id,
            "encrypted": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": ciphertext or session.encrypt(b"{}").to_base64(),
                "sender_key": vodozemac.Account().curve25519_key.to_base64(),
                "session_id": session.session_id,
                "device_id": device_id,
            },
        }
    )


async def test_an_encrypted_send_takes_the_lean_path_and_malformed_ciphertext_gets_fastapis_answer(
    server: LiveServer,
) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    paths = Paths(server)
    body = _encrypted(bob.phone, "e-1", "")
    fresh = await paths.lean(alice.headers, body)
    assert fresh[0] == 200 and paths.fell_back == 0
    assert await paths.fastapi(alice.headers, body) == fresh  # a retry through FastAPI: the same answer

    malformed = _encrypted(bob.phone, "e-2", "bm90IG1lZ29sbQ")
    expected = await paths.fastapi(alice.headers, malformed)
    assert expected[0] == 400 and b"Megolm" in expected[2]
    assert await paths.lean(alice.headers, malformed) == expected
    assert paths.fell_back == 1
