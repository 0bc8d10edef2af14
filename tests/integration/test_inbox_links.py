"""Chat links with QR codes: Meta's QR code API, the inbox's links and profile editor, and what a scan counts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business, inbound, person_writes, statuses, text_to
from tests.integration.inbox_helpers import agent

pytestmark = pytest.mark.asyncio

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CODE = re.compile(r"^[A-Z2-7]{14}$")


def _client_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"], error
    if code is not None:
        assert error["code"] == code, error


def _graph_error(response: httpx.Response, code: int = 100) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] == code and {"message", "type", "fbtrace_id"} <= set(error), error
    return dict(error)


def _is_svg(body: bytes) -> bool:
    return ET.fromstring(body).tag.endswith("svg")


async def _scan(server: LiveServer, url: str, browser: str = "Phone/1") -> str:
    """Follow a short link as a phone's browser would: the click id the web client then sends along."""
    opened = await server.http.get(urlsplit(url).path, headers={"User-Agent": browser}, follow_redirects=False)
    assert opened.status_code == 302, opened.text
    target = opened.headers["location"]
    assert target.startswith("/app#chat=")
    return unquote(target.split("clid=")[1].split("&")[0])


async def test_a_link_made_in_the_inbox_counts_scans_and_conversations_but_brings_no_ad_referral(
    server: LiveServer,
) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="admin")
    created = await ana.post("/links", {"number_id": biz.phone_number_id, "prefilled_message": "Table for two?"})
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["number_id"] == biz.phone_number_id and link["prefilled_message"] == "Table for two?"
    assert link["url"].endswith(f"/c/{link['code']}") and (link["clicks"], link["conversations"]) == (0, 0)

    opened = await server.http.get(f"/c/{link['code']}", follow_redirects=False)
    assert opened.status_code == 302
    assert (
        opened.headers["location"].startswith("/app#chat=")
        and "text=Table%20for%20two%3F" in opened.headers["location"]
    )
    clid = opened.headers["location"].split("clid=")[1].split("&")[0]
    ada = await server.user("Ada")
    await person_writes(server, ada, biz, "Table for two?", referral_clid=clid)

    # Not an ad: the business hears a plain message, and its reply is not a free-entry-point conversation.
    [value] = await inbound(server, biz)
    assert "referral" not in value["messages"][0]
    reply = (await text_to(server, biz, ada, "Of course!")).json()["messages"][0]["id"]
    [sent] = await statuses(server, biz, reply)
    assert sent["pricing"]["type"] != "free_entry_point"

    await _scan(server, link["url"], "Another phone/2")  # a second person's scan that never becomes a conversation
    [listed] = (await ana.get("/links")).json()["data"]
    assert listed["code"] == link["code"] and (listed["clicks"], listed["conversations"]) == (2, 1)

    png = await ana.get(f"/links/{link['code']}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG_MAGIC)
    svg = await ana.get(f"/links/{link['code']}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert _is_svg(svg.content)
    assert (await ana.get(listed["qr_png"].removeprefix("/inbox/api"))).content == png.content

    # The same link is one of the number's QR codes on the Cloud API.
    codes = (await server.http.get(f"{V}/{biz.phone_number_id}/message_qrdls", headers=biz.headers)).json()
    assert [c["code"] for c in codes["data"]] == [link["code"]]

    deleted = await ana.delete(f"/links/{link['code']}")
    assert deleted.status_code == 204
    assert (await ana.get("/links")).json()["data"] == []
    assert (await server.http.get(f"/c/{link['code']}", follow_redirects=False)).status_code == 404


async def test_agents_see_links_and_the_profile_but_only_admins_change_them(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olga", role="owner")
    bob = await agent(server, biz, "Bob")
    link = (await owner.post("/links", {"number_id": biz.phone_number_id, "prefilled_message": ""})).json()
    assert link["prefilled_message"] == ""

    assert [item["code"] for item in (await bob.get("/links")).json()["data"]] == [link["code"]]
    assert (await bob.get(f"/links/{link['code']}/qr.svg")).status_code == 200
    assert (await bob.get("/profile", number=biz.phone_number_id)).status_code == 200
    _client_error(await bob.post("/links", {"number_id": biz.phone_number_id}), 403, "forbidden")
    _client_error(await bob.delete(f"/links/{link['code']}"), 403, "forbidden")
    _client_error(
        await bob.http.patch(
            "/inbox/api/profile",
            params={"number": biz.phone_number_id},
            json={"about": "x"},
            headers={"X-CSRF-Token": bob.csrf},
        ),
        403,
        "forbidden",
    )
    # A write without the CSRF header is refused even for the owner.
    no_csrf = await owner.http.post("/inbox/api/links", json={"number_id": biz.phone_number_id})
    _client_error(no_csrf, 403, "csrf")
    assert len((await owner.get("/links")).json()["data"]) == 1


async def test_another_business_s_links_and_profiles_are_not_found(server: LiveServer) -> None:
    biz = await create_business(server, "Acme")
    other = await create_business(server, "Globex")
    ana = await agent(server, biz, "Ana", role="owner")
    gus = await agent(server, other, "Gus", role="owner")
    link = (await ana.post("/links", {"number_id": biz.phone_number_id, "prefilled_message": "Hi"})).json()

    assert (await gus.get("/links")).json()["data"] == []
    for response in (
        await gus.get(f"/links/{link['code']}/qr.png"),
        await gus.get(f"/links/{link['code']}/qr.svg"),
        await gus.delete(f"/links/{link['code']}"),
        await gus.post("/links", {"number_id": biz.phone_number_id, "prefilled_message": "Hi"}),
        await gus.get("/profile", number=biz.phone_number_id),
        await gus.patch(f"/profile?number={biz.phone_number_id}", {"about": "Taken over"}),
        await ana.get("/links/NOSUCHCODE/qr.png"),
    ):
        _client_error(response, 404, "not_found")
    # Nothing changed for the owner of the link and the number.
    [still] = (await ana.get("/links")).json()["data"]
    assert still["code"] == link["code"]
    assert (await ana.get("/profile", number=biz.phone_number_id)).json()["about"] != "Taken over"


async def test_bad_link_input_is_a_400_and_creates_nothing(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="admin")
    for body in (
        {"number_id": "", "prefilled_message": "Hi"},
        {"prefilled_message": "Hi"},
        {"number_id": biz.phone_number_id, "prefilled_message": "x" * 1025},
        {"number_id": biz.phone_number_id, "prefilled_message": "x" * 141},  # Meta's limit for QR codes
        {"number_id": biz.phone_number_id, "prefilled_message": 7},
        {"number_id": biz.phone_number_id, "colour": "red"},
        {"number_id": True},
        ["not", "an", "object"],
    ):
        _client_error(await ana.post("/links", body), 400, "invalid_request")
    _client_error(await ana.post("/links", {"number_id": "123456789", "prefilled_message": "Hi"}), 404, "not_found")
    _client_error(await ana.get("/profile"), 400, "invalid_request")
    assert (await ana.get("/links")).json()["data"] == []
    ok = await ana.post("/links", {"number_id": biz.phone_number_id, "prefilled_message": "x" * 140})
    assert ok.status_code == 201, ok.text


async def test_the_inbox_edits_the_business_profile_with_the_cloud_api_s_rules(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="owner")
    shown = (await ana.get("/profile", number=biz.phone_number_id)).json()
    assert shown["number_id"] == biz.phone_number_id
    assert {"about", "description", "address", "email", "websites", "vertical"} <= set(shown)

    changes = {
        "about": "Fresh bread daily",
        "description": "A bakery in Lyon",
        "email": "hello@bakery.example",
        "websites": ["https://bakery.example"],
        "vertical": "RESTAURANT",
    }
    updated = await ana.patch(f"/profile?number={biz.phone_number_id}", changes)
    assert updated.status_code == 200, updated.text
    assert {k: updated.json()[k] for k in changes} == changes
    # The business's API client reads what the team wrote.
    graph = await server.http.get(f"{V}/{biz.phone_number_id}/whatsapp_business_profile", headers=biz.headers)
    assert graph.json()["data"][0]["about"] == "Fresh bread daily"

    for bad in (
        {"email": "not an email", "about": "Changed"},
        {"about": ""},
        {"about": "x" * 140},
        {"websites": ["ftp://bakery.example"]},
        {"websites": ["https://a.example", "https://b.example", "https://c.example"]},
        {"vertical": "SPACESHIPS"},
        {"profile_picture_handle": "123"},
        "about",
    ):
        _client_error(await ana.patch(f"/profile?number={biz.phone_number_id}", bad), 400, "invalid_request")
    # All-or-nothing: the bad email did not let its "about" through.
    assert (await ana.get("/profile", number=biz.phone_number_id)).json()["about"] == "Fresh bread daily"


async def test_meta_s_qr_code_api_creates_lists_updates_and_deletes_codes(server: LiveServer) -> None:
    biz = await create_business(server)
    base = f"{V}/{biz.phone_number_id}/message_qrdls"
    created = await server.http.post(
        base, headers=biz.headers, json={"prefilled_message": "Show me deals!", "generate_qr_image": "SVG"}
    )
    assert created.status_code == 200, created.text
    qr = created.json()
    assert CODE.match(qr["code"]) and qr["prefilled_message"] == "Show me deals!"
    assert qr["deep_link_url"].endswith(f"/c/{qr['code']}")
    # The image URL is public, like Meta's: no token needed.
    image = await server.http.get(urlsplit(qr["qr_image_url"]).path)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
    assert _is_svg(image.content)

    server.clock.advance(seconds=1)  # "newest first" needs distinct creation times
    png = (
        await server.http.post(base, headers=biz.headers, json={"prefilled_message": "Hi", "generate_qr_image": "PNG"})
    ).json()
    assert (await server.http.get(urlsplit(png["qr_image_url"]).path)).content.startswith(PNG_MAGIC)
    server.clock.advance(seconds=1)
    plain = (await server.http.post(base, headers=biz.headers, json={"prefilled_message": "Plain"})).json()
    assert set(plain) == {"code", "prefilled_message", "deep_link_url"}

    listed = (await server.http.get(base, headers=biz.headers)).json()
    assert [c["code"] for c in listed["data"]] == [plain["code"], png["code"], qr["code"]]  # newest first
    assert set(listed["data"][0]) == {"code", "prefilled_message", "deep_link_url"}
    first = (
        await server.http.get(base, headers=biz.headers, params={"limit": 2, "fields": "code,qr_image_url.format(PNG)"})
    ).json()
    assert [c["code"] for c in first["data"]] == [plain["code"], png["code"]]
    assert first["data"][0]["qr_image_url"].endswith(".png")
    rest = (
        await server.http.get(
            base, headers=biz.headers, params={"limit": 2, "after": first["paging"]["cursors"]["after"]}
        )
    ).json()
    assert [c["code"] for c in rest["data"]] == [qr["code"]] and "next" not in rest["paging"]
    only = (await server.http.get(base, headers=biz.headers, params={"code": qr["code"]})).json()
    assert [c["code"] for c in only["data"]] == [qr["code"]]

    changed = await server.http.post(
        base, headers=biz.headers, json={"code": qr["code"], "prefilled_message": "New deals"}
    )
    assert changed.status_code == 200 and changed.json()["prefilled_message"] == "New deals"
    one = (await server.http.get(f"{base}/{qr['code']}", headers=biz.headers)).json()
    assert one["data"] == [{"code": qr["code"], "prefilled_message": "New deals", "deep_link_url": qr["deep_link_url"]}]
    opened = await server.http.get(urlsplit(qr["deep_link_url"]).path, follow_redirects=False)
    assert "text=New%20deals" in opened.headers["location"]

    deleted = await server.http.delete(f"{base}/{qr['code']}", headers=biz.headers)
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    _graph_error(await server.http.get(f"{base}/{qr['code']}", headers=biz.headers))
    assert (await server.http.get(urlsplit(qr["qr_image_url"]).path)).status_code == 404
    assert (await server.http.get(urlsplit(qr["deep_link_url"]).path, follow_redirects=False)).status_code == 404


async def test_meta_s_qr_code_api_refuses_bad_input_and_other_businesses(server: LiveServer) -> None:
    biz = await create_business(server, "Acme")
    other: Biz = await create_business(server, "Globex")
    base = f"{V}/{biz.phone_number_id}/message_qrdls"
    code = (await server.http.post(base, headers=biz.headers, json={"prefilled_message": "Hi"})).json()["code"]

    for body in (
        {"prefilled_message": "x" * 141},
        {},
        {"prefilled_message": "Hi", "generate_qr_image": "GIF"},
        {"prefilled_message": "Hi", "colour": "red"},
    ):
        _graph_error(await server.http.post(base, headers=biz.headers, json=body))
    _graph_error(await server.http.get(base, headers=biz.headers, params={"fields": "code,owner"}))
    _graph_error(await server.http.get(base, headers=biz.headers, params={"limit": 0}))
    _graph_error(await server.http.get(base, headers=biz.headers, params={"after": "%%%"}))

    # Another business's token reaches neither the number nor its codes.
    for response in (
        await server.http.get(base, headers=other.headers),
        await server.http.post(base, headers=other.headers, json={"prefilled_message": "Mine now"}),
        await server.http.get(f"{base}/{code}", headers=other.headers),
        await server.http.delete(f"{base}/{code}", headers=other.headers),
    ):
        assert _graph_error(response).get("error_subcode") == 33
    # Nor through its own number: a code belongs to one number.
    elsewhere = f"{V}/{other.phone_number_id}/message_qrdls"
    _graph_error(
        await server.http.post(elsewhere, headers=other.headers, json={"code": code, "prefilled_message": "x"})
    )
    _graph_error(await server.http.delete(f"{elsewhere}/{code}", headers=other.headers))
    _graph_error(await server.http.get(base), code=190)
    assert (await server.http.get(f"{V}/message_qrdls/{code}.png")).status_code == 200
    assert (await server.http.get(f"{V}/message_qrdls/{code}.gif")).status_code == 404
    [kept] = (await server.http.get(base, headers=biz.headers)).json()["data"]
    assert kept == {"code": code, "prefilled_message": "Hi", "deep_link_url": kept["deep_link_url"]}
