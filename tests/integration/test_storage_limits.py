"""What one account or one address can make the server store: unsent media under a quota and expiring after
30 days, uploads and link clicks rate-limited per address, repeated clicks counted once and stored once."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from parley.business.models import referral_clicks
from parley.config import LinkSettings, MediaSettings, Settings
from parley.media.models import media
from tests.conftest import LiveServer, User, running_server
from tests.integration.business_helpers import Biz, V, create_business
from tests.integration.test_graph_media import graph_error, media_info
from tests.integration.test_graph_media import upload as graph_upload
from tests.integration.test_media import png, send_media, upload

pytestmark = pytest.mark.asyncio

DAY_S = 24 * 3600


def padded_png(size: int) -> bytes:
    image = png()
    return image + b"\x00" * (size - len(image))


async def stored_media(server: LiveServer) -> int:
    return int(await server.container.db.read(lambda c: c.execute(select(func.count()).select_from(media)).scalar()))


def files_in(server: LiveServer) -> set[Path]:
    media_dir = server.settings.resolved_media_dir
    return set(media_dir.iterdir()) if media_dir.exists() else set()


def with_media(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"media": MediaSettings(**{"sweep_interval_s": 0, **changes})})


def with_links(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"links": LinkSettings(**changes)})


# --- quota of unsent media -------------------------------------------------------------------------------------


async def test_unsent_uploads_are_held_to_a_quota_and_a_refused_upload_keeps_nothing(settings: Settings) -> None:
    async with running_server(with_media(settings, unsent_quota_bytes=10_000)) as server:
        alice, bob = await server.user("Alice"), await server.user("Bob")
        first = await upload(server, alice, padded_png(4_000), "image/png")
        second = await upload(server, alice, padded_png(4_000), "image/png")
        assert first.status_code == second.status_code == 200, second.text
        stored, files = await stored_media(server), files_in(server)

        refused = await upload(server, alice, padded_png(4_000), "image/png")
        assert refused.status_code == 413, refused.text
        error = refused.json()["error"]
        assert error["code"] == "media_quota_exceeded" and "unsent media" in error["message"]
        assert (await stored_media(server), files_in(server)) == (stored, files)

        # The quota is per account, and a sent file no longer counts against it.
        assert (await upload(server, bob, padded_png(4_000), "image/png")).status_code == 200
        assert (await send_media(server, alice, first.json()["id"], to=bob)).status_code == 200
        assert (await upload(server, alice, padded_png(4_000), "image/png")).status_code == 200


async def test_a_business_over_its_media_quota_gets_meta_s_media_upload_error(settings: Settings) -> None:
    async with running_server(with_media(settings, unsent_quota_bytes=10_000)) as server:
        biz = await create_business(server)
        ok = await graph_upload(server, biz, padded_png(6_000), "image/png")
        assert ok.status_code == 200, ok.text
        stored, files = await stored_media(server), files_in(server)

        details = graph_error(await graph_upload(server, biz, padded_png(6_000), "image/png"), 131053)
        assert "unsent media is limited" in details
        assert (await stored_media(server), files_in(server)) == (stored, files)


# --- expiry of unsent media ------------------------------------------------------------------------------------


async def test_unsent_media_expires_after_30_days_with_its_file_and_sent_media_stays(settings: Settings) -> None:
    async with running_server(with_media(settings)) as server:
        alice, bob = await server.user("Alice"), await server.user("Bob")
        biz = await create_business(server)
        unsent = (await upload(server, alice, png(2, 2), "image/png")).json()["id"]
        sent = (await upload(server, alice, png(3, 3), "image/png")).json()["id"]
        assert (await send_media(server, alice, sent, to=bob)).status_code == 200
        biz_unsent = await _graph_uploaded(server, biz, png(4, 4))
        picture = await _graph_uploaded(server, biz, png(5, 5))
        profile = await server.http.post(
            f"{V}/{biz.phone_number_id}/whatsapp_business_profile",
            headers=biz.headers,
            json={"messaging_product": "whatsapp", "profile_picture_handle": picture},
        )
        assert profile.status_code == 200, profile.text

        server.clock.advance(seconds=29 * DAY_S)
        assert await server.container.media.expire_unsent_now() == 0
        server.clock.advance(seconds=DAY_S + 60)
        assert await server.container.media.expire_unsent_now() == 2

        media_dir = server.settings.resolved_media_dir
        assert not (media_dir / unsent).exists() and not (media_dir / biz_unsent).exists()
        gone = await send_media(server, alice, unsent, to=bob)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "media_not_found"
        graph_error(await media_info(server, biz, biz_unsent), 100, 400, 33)
        # What was sent, and the profile picture, stay.
        kept = await server.http.get(f"/client/v1/media/{sent}", headers=bob.headers)
        assert kept.status_code == 200 and kept.content == png(3, 3)
        assert (await media_info(server, biz, picture)).status_code == 200
        assert (media_dir / sent).exists() and (media_dir / picture).exists()


async def _graph_uploaded(server: LiveServer, biz: Biz, data: bytes) -> str:
    response = await graph_upload(server, biz, data, "image/png")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


# --- upload rate per address -----------------------------------------------------------------------------------


async def test_uploads_from_one_address_are_rate_limited_on_both_upload_routes(settings: Settings) -> None:
    async with running_server(with_media(settings, uploads_per_address=3, upload_window_s=60)) as server:
        alice, bob = await server.user("Alice"), await server.user("Bob")
        biz = await create_business(server)
        for person in (alice, bob, alice):  # per address, whoever signs in
            assert (await upload(server, person, png(), "image/png")).status_code == 200
        stored = await stored_media(server)

        limited = await upload(server, bob, png(), "image/png")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert limited.json()["error"]["code"] == "rate_limited"
        graph = await graph_upload(server, biz, png(), "image/png")
        graph_error(graph, 4, 429)
        assert int(graph.headers["Retry-After"]) > 0
        assert await stored_media(server) == stored


# --- link clicks -----------------------------------------------------------------------------------------------


async def _link(server: LiveServer, biz: Biz) -> str:
    created = await server.http.post(f"{V}/{biz.phone_number_id}/referral_links", headers=biz.headers, json={})
    assert created.status_code == 200, created.text
    return str(created.json()["code"])


async def _click(server: LiveServer, code: str, browser: str) -> httpx.Response:
    return await server.http.get(f"/c/{code}", headers={"User-Agent": browser}, follow_redirects=False)


def _clid(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    return response.headers["location"].split("clid=")[1].split("&")[0]


async def stored_clicks(server: LiveServer) -> int:
    query = select(func.count()).select_from(referral_clicks)
    return int(await server.container.db.read(lambda c: c.execute(query).scalar()))


async def test_repeated_clicks_of_one_visitor_count_once_and_store_one_row(server: LiveServer) -> None:
    biz = await create_business(server)
    code = await _link(server, biz)
    first = _clid(await _click(server, code, "Phone A"))
    assert [_clid(await _click(server, code, "Phone A")) for _ in range(5)] == [first] * 5
    assert await stored_clicks(server) == 1
    assert _clid(await _click(server, code, "Phone B")) != first  # another browser is another person
    assert await stored_clicks(server) == 2

    server.clock.advance(seconds=3601)  # past the de-duplication window: a new visit
    assert _clid(await _click(server, code, "Phone A")) != first
    assert await stored_clicks(server) == 3


async def test_a_click_flood_from_one_address_is_refused_and_stores_nothing_more(settings: Settings) -> None:
    async with running_server(with_links(settings, clicks_per_address=5, click_window_s=60)) as server:
        biz = await create_business(server)
        code = await _link(server, biz)
        answers = [await _click(server, code, f"Bot {uuid.uuid4()}") for _ in range(20)]
        assert [a.status_code for a in answers] == [302] * 5 + [429] * 15
        assert answers[-1].json()["error"]["code"] == "rate_limited"
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert await stored_clicks(server) == 5


async def test_a_person_who_clicked_twice_still_brings_the_referral(server: LiveServer) -> None:
    biz = await create_business(server)
    code = await _link(server, biz)
    await _click(server, code, "Phone A")
    clid = _clid(await _click(server, code, "Phone A"))
    alice: User = await server.user("Alice")
    sent = await server.http.post(
        "/client/v1/messages",
        headers=alice.headers,
        json={
            "to": biz.phone,
            "type": "text",
            "text": {"body": "Hi"},
            "client_id": uuid.uuid4().hex,
            "referral_clid": clid,
        },
    )
    assert sent.status_code == 200, sent.text
    used = select(func.count()).select_from(referral_clicks).where(referral_clicks.c.used_at.is_not(None))
    assert await server.container.db.read(lambda c: c.execute(used).scalar()) == 1
