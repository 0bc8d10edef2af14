"""Business profiles: read and partial update over the Cloud API (all-or-nothing, Meta's limits and error 100),
a profile picture from uploaded media, and what people see of a business through the client API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from parley.config import Settings
from parley.kit.clock import OffsetClock
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business
from tests.integration.test_graph_media import assert_matches_meta, graph_error, jpeg, pdf, png, uploaded


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, OffsetClock())
    settings.public_url = live.base_url  # picture URLs must point at this very server (read when it starts)
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


def profile_url(biz: Biz) -> str:
    return f"{V}/{biz.phone_number_id}/whatsapp_business_profile"


async def read(server: LiveServer, biz: Biz, fields: str | None = None) -> dict[str, Any]:
    params = {"fields": fields} if fields else {}
    response = await server.http.get(profile_url(biz), headers=biz.headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_matches_meta("WhatsAppBusinessProfileResponse", body)
    [item] = body["data"]
    return dict(item)


async def write(server: LiveServer, biz: Biz, **changes: Any) -> httpx.Response:
    return await server.http.post(
        profile_url(biz), headers=biz.headers, json={"messaging_product": "whatsapp", **changes}
    )


FULL = {
    "about": "Fresh bread every morning",
    "address": "1 Baker Street, London",
    "description": "A family bakery since 1921.",
    "email": "hello@bakery.example",
    "websites": ["https://bakery.example", "http://instagram.com/bakery"],
    "vertical": "RESTAURANT",
}


async def test_a_new_profile_shows_only_what_is_set(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    assert await read(server, biz) == {"messaging_product": "whatsapp", "vertical": "OTHER"}


async def test_update_then_read_every_field_and_a_selection(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    assert_matches_meta("WhatsAppBusinessProfileUpdateRequest", {"messaging_product": "whatsapp", **FULL})
    response = await write(server, biz, **FULL)
    assert response.status_code == 200 and response.json() == {"success": True}

    assert await read(server, biz) == {"messaging_product": "whatsapp", **FULL}
    assert await read(server, biz, "about,websites") == {
        "messaging_product": "whatsapp",
        "about": FULL["about"],
        "websites": FULL["websites"],
    }
    unknown = await server.http.get(profile_url(biz), headers=biz.headers, params={"fields": "about,phone"})
    assert "phone" in graph_error(unknown, 100)


async def test_partial_updates_keep_the_other_fields(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    assert (await write(server, biz, **FULL)).status_code == 200
    assert (await write(server, biz, about="Closed on Mondays")).status_code == 200
    assert await read(server, biz) == {"messaging_product": "whatsapp", **FULL, "about": "Closed on Mondays"}

    # pywa clears a field by sending "" (and websites as ""): the field is gone, the others stay.
    assert (await write(server, biz, email="", websites="", vertical="")).status_code == 200
    profile = await read(server, biz)
    assert "email" not in profile and "websites" not in profile and profile["vertical"] == "OTHER"
    assert profile["address"] == FULL["address"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"about": "x" * 140}, "about"),
        ({"about": ""}, "about"),
        ({"about": 7}, "about"),
        ({"address": "x" * 257}, "address"),
        ({"description": "x" * 513}, "description"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@" + "b" * 124 + ".com"}, "email"),
        ({"websites": ["https://a.example", "https://b.example", "https://c.example"]}, "websites"),
        ({"websites": ["ftp://files.example"]}, "websites[0]"),
        ({"websites": ["https://" + "a" * 250 + ".example"]}, "websites[0]"),
        ({"websites": "https://a.example"}, "websites"),
        ({"vertical": "SPACESHIPS"}, "vertical"),
        ({"colour": "blue"}, "colour"),
        ({"profile_picture_handle": "4:aGVsbG8=:aW1hZ2UvanBlZw==:ARb"}, "profile_picture_handle"),
    ],
)
async def test_bad_values_are_refused_and_nothing_is_applied(
    server: LiveServer, changes: dict[str, Any], named: str
) -> None:
    biz = await create_business(server, "Bakery")
    assert (await write(server, biz, **FULL)).status_code == 200
    # A valid change rides along with the bad one: it must not be applied either.
    ride_along = {"about": "Open late"} if "address" in changes else {"address": "Somewhere else"}
    response = await write(server, biz, **{**ride_along, **changes})
    assert named in graph_error(response, 100)
    assert await read(server, biz) == {"messaging_product": "whatsapp", **FULL}


async def test_limits_are_inclusive(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    edge = {"about": "a" * 139, "address": "b" * 256, "description": "c" * 512, "vertical": "MATCHMAKING"}
    assert (await write(server, biz, **edge, websites=["https://" + "w" * 240 + ".example"])).status_code == 200
    profile = await read(server, biz, "about,address,description")
    assert (len(profile["about"]), len(profile["address"]), len(profile["description"])) == (139, 256, 512)


async def test_the_body_must_be_a_whatsapp_json_object(server: LiveServer) -> None:
    biz = await create_business(server, "Bakery")
    no_product = await server.http.post(profile_url(biz), headers=biz.headers, json={"about": "hi"})
    assert "messaging_product" in graph_error(no_product, 100)
    graph_error(await server.http.post(profile_url(biz), headers=biz.headers, content=b"{nope"), 100)
    graph_error(await server.http.post(profile_url(biz), headers=biz.headers, json=["about"]), 100)
    graph_error(await server.http.post(profile_url(biz), headers=biz.headers), 100)


async def test_profiles_are_scoped_to_the_token_business(server: LiveServer) -> None:
    bakery, rival = await create_business(server, "Bakery"), await create_business(server, "Rival")
    foreign = f"{V}/{rival.phone_number_id}/whatsapp_business_profile"
    graph_error(await server.http.get(foreign, headers=bakery.headers), 100, 400, 33)
    taking_over = await server.http.post(
        foreign, headers=bakery.headers, json={"messaging_product": "whatsapp", "about": "ours now"}
    )
    graph_error(taking_over, 100, 400, 33)
    graph_error(await server.http.get(profile_url(bakery)), 190, 401)
    assert "about" not in await read(server, rival)


async def test_profile_picture_from_uploaded_media(server: LiveServer) -> None:
    bakery, rival = await create_business(server, "Bakery"), await create_business(server, "Rival")
    picture = await uploaded(server, bakery, jpeg(), "image/jpeg", "logo.jpg")
    document = await uploaded(server, bakery, pdf(), "application/pdf")
    theirs = await uploaded(server, rival, png(), "image/png")

    assert (await write(server, bakery, profile_picture_handle=picture)).status_code == 200
    url = (await read(server, bakery, "profile_picture_url"))["profile_picture_url"]
    shown = await server.http.get(url)  # public, as Meta's profile picture URLs are
    assert shown.status_code == 200 and shown.content == jpeg()
    assert shown.headers["content-type"] == "image/jpeg"

    assert "JPEG or PNG" in graph_error(await write(server, bakery, profile_picture_handle=document), 100)
    graph_error(await write(server, bakery, profile_picture_handle=theirs), 100)
    assert (await read(server, bakery, "profile_picture_url"))["profile_picture_url"] == url

    # Deleting the media through the API does not take the picture away.
    assert (await server.http.delete(f"{V}/{picture}", headers=bakery.headers)).json() == {"success": True}
    assert (await server.http.get(url)).content == jpeg()

    assert (await write(server, bakery, profile_picture_handle="")).status_code == 200
    assert "profile_picture_url" not in await read(server, bakery)
    assert (await server.http.get(url)).status_code == 404


async def test_people_see_a_business_profile(server: LiveServer) -> None:
    bakery = await create_business(server, "Bakery")
    alice = await server.user("Alice")
    assert (await write(server, bakery, **FULL)).status_code == 200

    response = await server.http.get(f"/client/v1/businesses/{bakery.user_id}/profile", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": str(bakery.user_id),
        "name": "Bakery",
        "phone": bakery.phone,
        "profile_picture_url": None,
        **FULL,
    }
    person = await server.http.get(f"/client/v1/businesses/{alice.user_id}/profile", headers=alice.headers)
    assert person.status_code == 404 and person.json()["error"]["code"] == "not_found"
    assert (await server.http.get("/client/v1/businesses/nope/profile", headers=alice.headers)).status_code == 404
    assert (await server.http.get(f"/client/v1/businesses/{bakery.user_id}/profile")).status_code == 401


async def test_pywa_reads_and_updates_the_profile(server: LiveServer) -> None:
    pywa = pytest.importorskip("pywa")
    biz = await create_business(server, "Bakery")

    def run() -> tuple[Any, Any, Any]:
        wa = pywa.WhatsApp(
            phone_id=biz.phone_number_id, token=biz.token, api_version="23.0", session=httpx.Client(timeout=20)
        )
        wa.api._session.base_url = f"{server.base_url}{V}"
        before = wa.get_business_profile()
        updated = wa.update_business_profile(
            about="Fresh bread", email="hi@bakery.example", websites=["https://bakery.example"], industry="RETAIL"
        )
        return before, updated, wa.get_business_profile()

    before, updated, after = await asyncio.to_thread(run)
    assert before.about is None and before.industry == "OTHER"
    assert bool(updated) is True
    assert (after.about, after.email, after.websites, after.industry) == (
        "Fresh bread",
        "hi@bakery.example",
        ("https://bakery.example",),
        "RETAIL",
    )
