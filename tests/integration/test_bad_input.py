"""Bad input is a 4xx with one error shape, never a 500, and never half-applied."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, User

API = "/client/v1"
SNAKE = re.compile(r"^[a-z]+(_[a-z]+)*$")


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.request.method, str(response.request.url), response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert SNAKE.match(body["error"]["code"]), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


async def history(server: LiveServer, user: User, chat_id: str) -> list[dict[str, Any]]:
    return list((await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers)).json()["messages"])


# --- malformed bodies -------------------------------------------------------------------------


JSON_ROUTES = [
    ("POST", "/auth/request-code"),
    ("POST", "/auth/verify"),
    ("PATCH", "/me"),
    ("POST", "/messages"),
    ("POST", "/groups"),
    ("POST", "/blocks"),
    ("POST", "/reports"),
]


async def test_malformed_json(server: LiveServer) -> None:
    alice = await server.user("Alice")
    for raw in [b"{bad json", b'{"to": "+1415555", }', b"\xff\xfe\x00", b'{"a": 1']:
        for method, path in JSON_ROUTES:
            response = await server.http.request(
                method, API + path, content=raw, headers={**alice.headers, "content-type": "application/json"}
            )
            assert_error(response, 400, "malformed_json")


WRONG_TYPES: list[tuple[str, Any]] = [
    ("/auth/request-code", {"phone": 14155551000}),
    ("/auth/request-code", {"phone": None}),
    ("/auth/request-code", []),
    ("/auth/request-code", "+14155551000"),
    ("/auth/verify", {"phone": "+14155551000", "code": 123456}),
    ("/messages", {"to": "+14155551002", "type": "text", "text": "not an object", "client_id": "c"}),
    ("/messages", {"to": "+14155551002", "type": "text", "text": {"body": 42}, "client_id": "c"}),
    ("/messages", {"to": "+14155551002", "type": "text", "text": {"body": "x"}, "client_id": 7}),
    ("/messages", {"to": ["+14155551002"], "type": "text", "text": {"body": "x"}, "client_id": "c"}),
    ("/groups", {"name": "G", "members": "+14155551002"}),
    ("/groups", {"name": 5, "members": []}),
    ("/blocks", {"phone": {"number": "+14155551002"}}),
    ("/reports", {"user_id": "1", "message_ids": "1,2"}),
]


async def test_wrong_types(server: LiveServer) -> None:
    alice = await server.user("Alice")
    for path, body in WRONG_TYPES:
        response = await server.http.post(API + path, headers=alice.headers, json=body)
        assert_error(response, 400, "invalid_request")
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []
    assert (await server.http.get(f"{API}/blocks", headers=alice.headers)).json()["blocks"] == []
    assert (await server.http.get(f"{API}/dev/codes")).json()["codes"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/auth/request-code", {"phone": "+14155551999", "channel": "sms"}),
        ("PATCH", "/me", {"name": "A", "admin": True}),
        (
            "POST",
            "/messages",
            {"to": "+14155551002", "type": "text", "text": {"body": "x"}, "client_id": "c", "priority": 1},
        ),
        (
            "POST",
            "/messages",
            {"to": "+14155551002", "type": "text", "text": {"body": "x", "bold": True}, "client_id": "c"},
        ),
        ("POST", "/groups", {"name": "G", "members": [], "public": True}),
        ("POST", "/blocks", {"phone": "+14155551002", "forever": True}),
    ],
)
async def test_unknown_fields_are_refused(server: LiveServer, method: str, path: str, body: Any) -> None:
    alice, _bob = await server.user("Alice"), await server.user("Bob")
    response = await server.http.request(method, API + path, headers=alice.headers, json=body)
    error = assert_error(response, 400, "invalid_request")
    unknown = next(k for k in ("channel", "admin", "priority", "bold", "public", "forever") if k in json.dumps(body))
    assert unknown in error["message"]
    # Nothing happened.
    assert (await server.http.get(f"{API}/me", headers=alice.headers)).json()["name"] == "Alice"
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []
    assert (await server.http.get(f"{API}/blocks", headers=alice.headers)).json()["blocks"] == []
    assert (await server.http.get(f"{API}/dev/codes")).json()["codes"] == []


async def test_json_body_over_64_kib(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    body = json.dumps({"to": bob.phone, "type": "text", "text": {"body": "x" * 70_000}, "client_id": "big"}).encode()
    response = await server.http.post(
        f"{API}/messages", headers={**alice.headers, "content-type": "application/json"}, content=body
    )
    assert_error(response, 413, "payload_too_large")
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"] == []


async def test_json_body_over_64_kib_without_a_length(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    body = json.dumps({"to": bob.phone, "type": "text", "text": {"body": "x" * 70_000}, "client_id": "big"}).encode()

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the server must count
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await server.http.post(
        f"{API}/messages", headers={**alice.headers, "content-type": "application/json"}, content=chunked()
    )
    assert_error(response, 413, "payload_too_large")
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"] == []


async def test_json_body_just_under_the_limit_is_read(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    # 4096 four-byte characters: 16 KiB of UTF-8, fine for the body limit and the text limit.
    response = await server.http.post(
        f"{API}/messages",
        headers=alice.headers,
        json={"to": bob.phone, "type": "text", "text": {"body": "😀" * 4096}, "client_id": "emoji"},
    )
    assert response.status_code == 200


# --- authentication ------------------------------------------------------------------------------


BAD_AUTH = {
    "missing": {},
    "empty": {"Authorization": "Bearer"},
    "garbage": {"Authorization": "Bearer garbage"},
    "basic": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    "no-scheme": {"Authorization": "garbage"},
}


async def test_missing_or_bad_token(server: LiveServer) -> None:
    for headers in BAD_AUTH.values():
        for method, path in [
            ("GET", "/me"),
            ("GET", "/chats"),
            ("GET", "/devices"),
            ("POST", "/messages"),
            ("POST", "/groups"),
            ("POST", "/auth/logout"),
            ("GET", "/blocks"),
            ("POST", "/media"),
            ("GET", "/chats/1/messages"),
        ]:
            response = await server.http.request(method, API + path, headers=headers)
            assert_error(response, 401, "invalid_token")


async def test_a_token_in_the_wrong_case_is_not_a_token(server: LiveServer) -> None:
    alice = await server.user("Alice")
    assert (await server.http.get(f"{API}/me", headers={"Authorization": f"bearer {alice.token}"})).status_code == 200
    swapped = alice.token.swapcase()
    assert_error(await server.http.get(f"{API}/me", headers={"Authorization": f"Bearer {swapped}"}), 401)


# --- ids that are not ids --------------------------------------------------------------------------

ODD_IDS = ["²", "99999999999999999999", "9223372036854775808", "0x10", "-1", "1e5", " 1"]


ID_ROUTES = [
    ("GET", "/chats/{}/messages"),
    ("POST", "/chats/{}/typing"),
    ("POST", "/messages/{}/read"),
    ("GET", "/messages/{}/receipts"),
    ("DELETE", "/messages/{}"),
    ("GET", "/groups/{}"),
    ("POST", "/groups/{}/leave"),
    ("GET", "/media/{}"),
    ("DELETE", "/devices/{}"),
    ("DELETE", "/blocks/{}"),
]


async def test_odd_ids_in_paths_are_not_found(server: LiveServer) -> None:
    alice = await server.user("Alice")
    for odd in ODD_IDS:
        for method, path in ID_ROUTES:
            response = await server.http.request(method, API + path.format(odd), headers=alice.headers)
            assert_error(response, 404)


async def test_odd_ids_in_bodies_are_refused(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    base = {"type": "text", "text": {"body": "x"}, "client_id": uuid.uuid4().hex}
    bodies: list[tuple[str, dict[str, Any]]] = []
    for odd in ODD_IDS:
        bodies += [
            ("/messages", {**base, "group_id": odd}),
            ("/messages", {**base, "to": bob.phone, "context": {"message_id": odd}}),
            ("/messages", {"to": bob.phone, "type": "image", "image": {"id": odd}, "client_id": uuid.uuid4().hex}),
            ("/reports", {"user_id": odd}),
            ("/reports", {"user_id": bob.user_id, "message_ids": [odd]}),
            ("/reports", {"user_id": bob.user_id, "chat_id": odd}),
        ]
    for path, body in bodies:
        response = await server.http.post(API + path, headers=alice.headers, json=body)
        assert response.status_code in (400, 404), (path, body, response.text)
        assert_error(response, response.status_code)
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []


async def test_huge_cursor_is_refused_not_crashed(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await server.send_text(alice, "x", to=bob)
    for cursor in ("99999999999999999999", "9223372036854775808", "²"):
        response = await server.http.get(
            f"{API}/chats/{sent['chat_id']}/messages", headers=bob.headers, params={"before": cursor}
        )
        assert_error(response, 400, "invalid_cursor")


# --- one error shape everywhere -------------------------------------------------------------------


async def test_every_error_has_the_same_shape(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    sent = await server.send_text(alice, "hi", to=bob)
    h = alice.headers
    cases: list[tuple[httpx.Response, int]] = [
        (await server.http.get(f"{API}/no-such-route", headers=h), 404),
        (await server.http.put(f"{API}/me", headers=h), 405),
        (await server.http.get(f"{API}/me"), 401),
        (await server.http.post(f"{API}/auth/request-code", json={"phone": "nope"}), 400),
        (
            await server.http.post(
                f"{API}/messages",
                headers=h,
                content=b"{",
            ),
            400,
        ),
        (await server.http.post(f"{API}/messages", headers=h, json={}), 400),
        (await server.http.get(f"{API}/chats/{sent['chat_id']}/messages", headers=h, params={"limit": 0}), 400),
        (
            await server.http.patch(f"{API}/messages/{sent['id']}", headers=bob.headers, json={"text": {"body": "x"}}),
            403,
        ),
        (await server.http.get(f"{API}/groups/123", headers=h), 404),
        (
            await server.http.post(
                f"{API}/media", headers=h, files={"file": ("a.exe", b"MZ", "application/x-msdownload")}
            ),
            415,
        ),
    ]
    for response, status in cases:
        assert_error(response, status)
    await server.http.post(f"{API}/auth/request-code", json={"phone": alice.phone})
    limited = await server.http.post(f"{API}/auth/request-code", json={"phone": alice.phone})
    assert_error(limited, 429, "rate_limited")
    assert "Retry-After" in limited.headers


async def test_validation_errors_are_400_never_422(server: LiveServer) -> None:
    alice = await server.user("Alice")
    responses = [
        await server.http.post(f"{API}/messages", headers=alice.headers, json={"to": 1}),
        await server.http.get(f"{API}/users/lookup", headers=alice.headers),  # missing query parameter
        await server.http.get(f"{API}/chats/1/messages", headers=alice.headers, params={"limit": "many"}),
        await server.http.post(f"{API}/groups/1/members", headers=alice.headers, json={"phones": []}),
    ]
    for response in responses:
        assert_error(response, 400, "invalid_request")


# --- failures change nothing ------------------------------------------------------------------------


async def test_failed_send_leaves_nothing_and_the_client_id_stays_usable(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    elsewhere = await server.send_text(carol, "other chat", to=bob)
    payload = {"to": bob.phone, "type": "text", "text": {"body": "reply"}, "client_id": "try-1"}

    bad_context = await server.http.post(
        f"{API}/messages", headers=alice.headers, json={**payload, "context": {"message_id": elsewhere["id"]}}
    )
    assert_error(bad_context, 404, "message_not_found")
    too_long = await server.http.post(
        f"{API}/messages", headers=alice.headers, json={**payload, "text": {"body": "x" * 4097}}
    )
    assert_error(too_long, 400)
    # No chat between Alice and Bob came into being, and Bob has nothing new.
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []
    assert [c["id"] for c in (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"]] == [
        elsewhere["chat_id"]
    ]

    ok = await server.http.post(f"{API}/messages", headers=alice.headers, json=payload)
    assert ok.status_code == 200
    assert [m["text"]["body"] for m in await history(server, bob, ok.json()["chat_id"])] == ["reply"]


async def test_failed_group_change_adds_nobody(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = (
        await server.http.post(f"{API}/groups", headers=alice.headers, json={"name": "G", "members": [bob.phone]})
    ).json()
    response = await server.http.post(
        f"{API}/groups/{group['id']}/members",
        headers=alice.headers,
        json={"phones": [carol.phone, server.next_phone()]},
    )
    assert_error(response, 404)
    members = (await server.http.get(f"{API}/groups/{group['id']}", headers=alice.headers)).json()["members"]
    assert {m["user_id"] for m in members} == {alice.user_id, bob.user_id}
    assert (await server.http.get(f"{API}/chats", headers=carol.headers)).json()["chats"] == []


async def test_failed_media_send_leaves_nothing(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    pdf = await server.http.post(
        f"{API}/media", headers=alice.headers, files={"file": ("a.pdf", b"%PDF-1.4 x", "application/pdf")}
    )
    assert pdf.status_code == 200
    as_image = await server.http.post(
        f"{API}/messages",
        headers=alice.headers,
        json={"to": bob.phone, "type": "image", "image": {"id": pdf.json()["id"]}, "client_id": "m1"},
    )
    assert_error(as_image, 400)
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"] == []
    # Bob cannot fetch the file: the failed send did not share it with him.
    assert_error(await server.http.get(f"{API}/media/{pdf.json()['id']}", headers=bob.headers), 404)
