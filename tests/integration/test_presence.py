"""Online / last seen from the realtime stream, the `last_seen` privacy setting enforced by the API, and
profile photos that others may see."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import update

from parley.config import Settings
from parley.messaging.models import presence
from tests.conftest import LiveServer, User, running_server
from tests.integration.test_media import png, upload
from tests.integration.test_receipts_and_stream import open_stream

API = "/client/v1"


async def presence_seen_by(server: LiveServer, viewer: User, target: User) -> dict[str, Any]:
    response = await server.http.get(f"{API}/users/{target.user_id}/presence", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def set_last_seen(server: LiveServer, user: User, choice: str) -> None:
    response = await server.http.patch(f"{API}/privacy", headers=user.headers, json={"last_seen": choice})
    assert response.status_code == 200, response.text
    assert response.json()["last_seen"] == choice


async def until_offline(server: LiveServer, viewer: User, target: User) -> dict[str, Any]:
    """The stream's close is handled on the server just after the client's: wait for it."""
    for _ in range(100):
        seen = await presence_seen_by(server, viewer, target)
        if not seen["online"]:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError("still online after the stream closed")


async def test_online_while_streaming_then_last_seen_with_one_write_per_disconnect(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    await server.send_text(alice, "hi", to=bob)
    assert await presence_seen_by(server, alice, bob) == {"online": False, "last_seen": None}  # never connected

    before = server.clock.now_ms()
    async with open_stream(server, bob):
        assert await presence_seen_by(server, alice, bob) == {"online": True, "last_seen": None}
        # Messages on a live stream write nothing to presence: only opening and closing do.
        stored = await server.container.db.read(lambda c: c.execute(presence.select()).all())
        await server.send_text(alice, "are you there?", to=bob)
        await server.send_text(bob, "yes", to=alice)
        assert await server.container.db.read(lambda c: c.execute(presence.select()).all()) == stored
    seen = await until_offline(server, alice, bob)
    assert seen["last_seen"] is not None and before <= seen["last_seen"] <= server.clock.now_ms()

    # Two devices: closing one keeps the person online.
    bob_phone = await server.container.accounts.create_user_with_token(bob.phone, "Bob", "Phone")
    phone = User(bob.user_id, bob.phone, bob_phone.token, "Bob")
    async with open_stream(server, bob):
        async with open_stream(server, phone):
            assert (await presence_seen_by(server, alice, bob))["online"] is True
        await asyncio.sleep(0.2)  # the phone's close is handled
        assert (await presence_seen_by(server, alice, bob))["online"] is True
    await until_offline(server, alice, bob)


async def test_last_seen_privacy_is_enforced_by_the_api(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    await server.send_text(bob, "hi Alice", to=alice)  # Alice is Bob's contact: he wrote to her
    await server.send_text(carol, "hi Bob", to=bob)  # Carol wrote to Bob; Bob never wrote to Carol
    async with open_stream(server, bob):
        assert (await presence_seen_by(server, carol, bob))["online"] is True

        await set_last_seen(server, bob, "contacts")
        assert (await presence_seen_by(server, alice, bob))["online"] is True
        assert await presence_seen_by(server, carol, bob) == {"online": False, "last_seen": None}

        await set_last_seen(server, bob, "nobody")
        assert await presence_seen_by(server, alice, bob) == {"online": False, "last_seen": None}
        assert (await presence_seen_by(server, bob, bob))["online"] is True  # one's own is always there

        # As on WhatsApp: whoever hides theirs sees nobody's.
        await set_last_seen(server, bob, "everyone")
        await set_last_seen(server, alice, "nobody")
        assert await presence_seen_by(server, alice, bob) == {"online": False, "last_seen": None}
        assert (await presence_seen_by(server, carol, bob))["online"] is True

        # Someone who blocked you shows you nothing.
        blocked = await server.http.post(f"{API}/blocks", headers=bob.headers, json={"phone": carol.phone})
        assert blocked.status_code == 200
        assert await presence_seen_by(server, carol, bob) == {"online": False, "last_seen": None}

    # Only people you have a 1:1 chat with; bad ids and bad choices are 4xx, and change nothing.
    dave = await server.user("Dave")
    stranger = await server.http.get(f"{API}/users/{bob.user_id}/presence", headers=dave.headers)
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "chat_not_found"
    bad = await server.http.get(f"{API}/users/nope/presence", headers=dave.headers)
    assert bad.status_code == 404
    refused = await server.http.patch(
        f"{API}/privacy", headers=bob.headers, json={"group_add": "nobody", "last_seen": "friends"}
    )
    assert refused.status_code == 400
    settings = (await server.http.get(f"{API}/privacy", headers=bob.headers)).json()
    assert settings == {"group_add": "everyone", "last_seen": "everyone"}


async def test_profile_photo_is_set_shown_and_downloadable_by_others(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    await server.send_text(alice, "hi", to=bob)
    photo = (await upload(server, alice, png(3, 3), "image/png", "me.png")).json()["id"]
    # Nobody else may see an upload before it is a profile photo.
    assert (await server.http.get(f"{API}/media/{photo}", headers=bob.headers)).status_code == 404

    # Only one's own images.
    bobs = (await upload(server, bob, png(), "image/png")).json()["id"]
    taken = await server.http.put(f"{API}/me/photo", headers=alice.headers, json={"media_id": bobs})
    assert taken.status_code == 404
    text = (await upload(server, alice, b"notes", "text/plain", "notes.txt")).json()["id"]
    not_image = await server.http.put(f"{API}/me/photo", headers=alice.headers, json={"media_id": text})
    assert not_image.status_code == 400

    answer = await server.http.put(f"{API}/me/photo", headers=alice.headers, json={"media_id": photo})
    assert answer.status_code == 200 and answer.json() == {"photo_id": photo}
    assert (await server.http.get(f"{API}/me", headers=alice.headers)).json()["photo_id"] == photo
    peer = (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"][0]["peer"]
    assert peer["photo_id"] == photo
    downloaded = await server.http.get(f"{API}/media/{photo}", headers=bob.headers)
    assert downloaded.status_code == 200 and downloaded.content == png(3, 3)

    removed = await server.http.delete(f"{API}/me/photo", headers=alice.headers)
    assert removed.status_code == 204
    assert (await server.http.get(f"{API}/me", headers=alice.headers)).json()["photo_id"] is None
    assert (await server.http.get(f"{API}/media/{photo}", headers=bob.headers)).status_code == 404


async def test_a_restarted_server_counts_no_stream_left_open_by_a_crash(settings: Settings) -> None:
    if settings.redis_url:
        pytest.skip("with Redis, other processes may hold streams: only a single process forgets them on start")
    async with running_server(settings) as server:
        alice, bob = await server.user("Alice"), await server.user("Bob")
        await server.send_text(alice, "hi", to=bob)
        async with open_stream(server, bob):
            pass
        await until_offline(server, alice, bob)
        # What a process that died holding Bob's stream leaves behind:
        crashed = update(presence).where(presence.c.user_id == int(bob.user_id)).values(streams=1)
        await server.container.db.write(
            "tests.test_a_restarted_server_counts_no_stream_left_open_by_a_crash", lambda c: c.execute(crashed)
        )
        assert (await presence_seen_by(server, alice, bob))["online"] is True
    async with running_server(settings) as restarted:
        seen = await presence_seen_by(restarted, alice, bob)
        assert seen["online"] is False and seen["last_seen"] is not None
