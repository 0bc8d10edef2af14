"""The lean Cloud API send route answers exactly as the FastAPI route does, and hands it what it does not take."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.integration.business_helpers import (
    Biz,
    V,
    approved_template,
    create_business,
    events,
    person_writes,
    template_body,
)


@contextlib.contextmanager
def fastapi_only(server: LiveServer) -> Iterator[None]:
    """The same server with the lean route off: every send goes through FastAPI's routing."""
    lean = server.app.lean_cloud_send  # type: ignore[attr-defined]
    server.app.lean_cloud_send = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        server.app.lean_cloud_send = lean  # type: ignore[attr-defined]


async def post(server: LiveServer, biz: Biz, content: bytes, **headers: str) -> httpx.Response:
    return await server.http.post(
        f"{V}/{biz.phone_number_id}/messages",
        headers={**biz.headers, "Content-Type": "application/json", **headers},
        content=content,
    )


def _comparable(response: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    """Status, body (without the per-answer trace id) and the headers a client reads."""
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].pop("fbtrace_id")
    return response.status_code, body, response.headers.get("content-type"), response.headers.get("retry-after")


async def test_a_retried_send_answers_the_same_bytes_on_both_routes(server: LiveServer) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz)
    await approved_template(server, biz)
    for name, body in (
        ("text", {"messaging_product": "whatsapp", "to": alice.phone, "type": "text", "text": {"body": "hi"}}),
        ("number", {"messaging_product": "whatsapp", "to": int(alice.phone), "type": "text", "text": {"body": "a"}}),
        ("template", {"messaging_product": "whatsapp", **template_body(alice)}),
    ):
        raw = json.dumps(body).encode()
        lean = await post(server, biz, raw, **{"Idempotency-Key": name})
        assert lean.status_code == 200, lean.text
        # The key binds the JSON, not its spelling: the same body re-spaced is the same request.
        again = await post(server, biz, json.dumps(body, indent=2).encode(), **{"Idempotency-Key": name})
        with fastapi_only(server):
            slow = await post(server, biz, raw, **{"Idempotency-Key": name})
        assert lean.content == again.content == slow.content
        assert lean.headers["content-type"] == slow.headers["content-type"]
        assert lean.headers["content-length"] == slow.headers["content-length"]
    sent = [v for v in await events(server, biz) if "statuses" in v]
    assert len(sent) == 3  # one message each, however often it was asked for


async def test_a_send_is_delivered_as_through_fastapi(server: LiveServer) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz)
    body = {"messaging_product": "whatsapp", "to": alice.phone, "type": "text", "text": {"body": "Yes, at 9."}}
    response = await post(server, biz, json.dumps(body).encode())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["contacts"] == [{"input": alice.phone, "wa_id": alice.phone.lstrip("+")}]
    assert answer["messages"][0]["message_status"] == "accepted"
    chats = (await server.http.get("/client/v1/chats", headers=alice.headers)).json()["chats"]
    assert chats[0]["last_message"]["text"] == {"body": "Yes, at 9."}


async def test_bodies_the_fast_decoder_leaves_to_fastapi_are_still_sent(server: LiveServer) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    await person_writes(server, alice, biz)
    for body in (
        {"messaging_product": "whatsapp", "to": alice.phone, "text": {"body": "no type: text is meant"}},
        {
            "messaging_product": "whatsapp",
            "to": alice.phone,
            "type": "text",
            "text": {"body": "a", "preview_url": None},
        },
        {
            "messaging_product": "whatsapp",
            "to": alice.phone,
            "type": "location",
            "location": {"latitude": 1, "longitude": 2},
        },
    ):
        response = await post(server, biz, json.dumps(body).encode())
        assert response.status_code == 200, response.text
    assert len([v for v in await events(server, biz) if "statuses" in v]) == 3


async def test_mark_read_answers_as_through_fastapi(server: LiveServer) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    message_id = await person_writes(server, alice, biz)
    wamid = next(m["id"] for v in await events(server, biz) for m in v.get("messages", []))
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    lean = await post(server, biz, json.dumps(read).encode())
    typing = {**read, "typing_indicator": {"type": "text"}}
    lean_typing = await post(server, biz, json.dumps(typing).encode())
    with fastapi_only(server):
        slow = await post(server, biz, json.dumps(read).encode())
    assert lean.status_code == lean_typing.status_code == 200
    assert lean.content == lean_typing.content == slow.content == b'{"success":true}'
    receipts = await server.http.get(f"/client/v1/messages/{message_id}/receipts", headers=alice.headers)
    assert "read" in receipts.text


async def test_refusals_are_the_fastapi_routes_own(server: LiveServer) -> None:
    biz = await create_business(server)
    other = await create_business(server, "Other")
    alice = await server.user("Alice")
    await person_writes(server, alice, biz)
    good = {"messaging_product": "whatsapp", "to": alice.phone, "type": "text", "text": {"body": "hi"}}
    bodies: list[bytes] = [
        b"",
        b"{",
        b"[]",
        json.dumps({**good, "text": {"body": "x" * 4097}}).encode(),
        json.dumps({**good, "text": {"body": ""}}).encode(),
        json.dumps({**good, "text": {"body": "hi", "colour": "red"}}).encode(),
        json.dumps({**good, "text": None}).encode(),
        json.dumps({**good, "type": "sticker"}).encode(),
        json.dumps({**good, "type": "hologram"}).encode(),
        json.dumps({**good, "messaging_product": "telegram"}).encode(),
        json.dumps({**good, "to": "+1 555 not a phone"}).encode(),
        json.dumps({**good, "to": "+19995550000"}).encode(),  # not on Parley
        json.dumps({**good, "to": 10**30}).encode(),
        json.dumps({**good, "to": True}).encode(),
        json.dumps({**good, "recipient": "US.1"}).encode(),
        json.dumps({**good, "context": {"message_id": "nope"}}).encode(),
        json.dumps({**good, "type": "template", "template": {"name": "missing", "language": {"code": "en"}}}).encode(),
        json.dumps({**good, "type": "template", "template": {"name": "x", "language": {"code": 1}}}).encode(),
        json.dumps({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}).encode(),
        json.dumps({"messaging_product": "whatsapp", "status": "read"}).encode(),
        json.dumps({"messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.x"}).encode(),
        json.dumps(
            {"messaging_product": "whatsapp", "status": "read", "message_id": "x", "typing_indicator": {"type": "y"}}
        ).encode(),
    ]
    calls: list[tuple[str, dict[str, str], bytes]] = [
        (f"{V}/{biz.phone_number_id}/messages", biz.headers, body) for body in bodies
    ]
    good_raw = json.dumps(good).encode()
    calls += [
        (f"{V}/{biz.phone_number_id}/messages", {}, good_raw),  # no token
        (f"{V}/{biz.phone_number_id}/messages", {"Authorization": "Bearer nope"}, good_raw),
        (f"{V}/{biz.phone_number_id}/messages", other.headers, good_raw),  # another business's number
        (f"{V}/12345/messages", biz.headers, good_raw),
        ("/v26.0/" + biz.phone_number_id + "/messages", biz.headers, good_raw),
        (f"{V}/{biz.phone_number_id}/messages", {**biz.headers, "Idempotency-Key": "k" * 129}, good_raw),
        (f"{V}/{biz.phone_number_id}/messages?dry_run=maybe", biz.headers, good_raw),
    ]
    for path, headers, body in calls:
        lean = await server.http.post(path, headers={**headers, "Content-Type": "application/json"}, content=body)
        with fastapi_only(server):
            slow = await server.http.post(path, headers={**headers, "Content-Type": "application/json"}, content=body)
        assert lean.status_code >= 400, (path, body, lean.text)
        assert _comparable(lean) == _comparable(slow), (path, body)
    assert not [v for v in await events(server, biz) if "statuses" in v]  # refused sends leave nothing behind


async def test_bodies_over_the_limit_are_refused_before_they_are_read(server: LiveServer) -> None:
    biz = await create_business(server)
    limit = server.settings.limits.max_json_bytes
    huge = json.dumps({"messaging_product": "whatsapp", "to": "1", "text": {"body": "x" * limit}}).encode()

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit is found while reading
        for start in range(0, len(huge), 4096):
            yield huge[start : start + 4096]

    declared = await post(server, biz, huge)
    streamed = await server.http.post(
        f"{V}/{biz.phone_number_id}/messages",
        headers={**biz.headers, "Content-Type": "application/json"},
        content=chunked(),
    )
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == 131053


async def test_the_route_stays_in_the_api_description(server: LiveServer) -> None:
    spec = (await server.http.get("/openapi.json")).json()
    assert "post" in spec["paths"]["/v{version}/{phone_number_id}/messages"]


async def test_a_revoked_token_and_a_paused_template_are_refused_at_once(server: LiveServer) -> None:
    biz = await create_business(server)
    alice = await server.user("Alice")
    template = await approved_template(server, biz)
    raw = json.dumps({"messaging_product": "whatsapp", **template_body(alice)}).encode()
    assert (await post(server, biz, raw)).status_code == 200  # the token and the template are cached now
    scope = await server.container.business.authenticate(biz.token)
    await server.container.templates.pause(scope, int(template["id"]))
    paused = await post(server, biz, raw)
    assert paused.status_code == 400 and paused.json()["error"]["code"] == 132015, paused.text
    await server.container.templates.unpause(scope, int(template["id"]))
    assert (await post(server, biz, raw)).status_code == 200
    await server.container.business.revoke_token(biz.token)
    revoked = await post(server, biz, raw)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == 190
