"""The console's Templates API (`/inbox/api/console/templates`): owners and admins list, create, edit, pause,
resume and delete templates through the same service (and the same checks and review) as the Cloud API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parley.config import Settings, TemplateSettings
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business, events
from tests.integration.inbox_helpers import Agent, agent

API = "/console/templates"
REVIEW_DELAY_S = 60


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Reviews come a minute after a submission, so a test sees PENDING for as long as it likes."""
    return settings.model_copy(update={"templates": TemplateSettings(review_delay_s=REVIEW_DELAY_S)})


BOOKED = "Hi {{1}}, your table for {{2}} is booked. See you soon!"


def greeting(name: str = "table_booked", body: str = BOOKED) -> dict[str, Any]:
    return {
        "name": name,
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Booking confirmed"},
            {"type": "BODY", "text": body, "example": {"body_text": [["Ada", "two"]]}},
            {"type": "FOOTER", "text": "Parley Bistro"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Change it"},
                    {"type": "URL", "text": "Menu", "url": "https://bistro.example/menu"},
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+14155550100"},
                ],
            },
        ],
    }


async def reviewed(server: LiveServer) -> None:
    """Time passes until the review is due, and the review decides (as its loop does on its own)."""
    server.clock.advance(seconds=REVIEW_DELAY_S + 1)
    await server.container.templates.review_due_now()


async def graph_templates(server: LiveServer, biz: Biz) -> list[dict[str, Any]]:
    found = await server.http.get(f"{V}/{biz.waba_id}/message_templates", headers=biz.headers)
    return list(found.json()["data"])


async def owner_of(server: LiveServer, name: str = "Templates Co") -> tuple[Biz, Agent]:
    biz = await create_business(server, name)
    return biz, await agent(server, biz, "Olive Owner", role="owner")


async def test_an_owner_creates_a_template_that_is_pending_then_approved_and_priced_in_its_market(
    server: LiveServer,
) -> None:
    biz, owner = await owner_of(server)
    try:
        created = await owner.post(API, greeting())
        assert created.status_code == 201, created.text
        item = created.json()
        assert item["status"] == "PENDING" and item["name"] == "table_booked" and item["category"] == "UTILITY"
        # The Cloud API sees the same template: one service behind both.
        assert [t["name"] for t in await graph_templates(server, biz)] == ["table_booked"]

        listing = await owner.get(API)
        assert listing.status_code == 200
        body = listing.json()
        assert [t["status"] for t in body["data"]] == ["PENDING"]
        pricing = body["pricing"]
        # The business's own number is +1...: its market is the default.
        assert pricing["market"] == pricing["home_market"] == "North America (United States, Canada)"
        assert pricing["rates"]["UTILITY"]["text"].startswith("$")
        assert pricing["currency"] == "USD" and "India" in pricing["markets"]

        await reviewed(server)
        detail = await owner.get(f"{API}/{item['id']}")
        assert detail.json()["status"] == "APPROVED"
        assert detail.json()["can_pause"] is True

        india = await owner.get(API, market="India")
        assert india.json()["pricing"]["market"] == "India"
        assert india.json()["pricing"]["rates"]["UTILITY"] != pricing["rates"]["UTILITY"]
        assert (await owner.get("/console/templates/prices", market="Nowhere")).status_code == 400
    finally:
        await owner.http.aclose()


async def test_a_rejected_template_says_why_in_plain_words(server: LiveServer) -> None:
    _, owner = await owner_of(server)
    try:
        created = await owner.post(API, greeting(body="Hi {{1}}, your table for {{2}}"))  # ends with a variable
        assert created.status_code == 201, created.text
        await reviewed(server)
        item = (await owner.get(f"{API}/{created.json()['id']}")).json()
        assert item["status"] == "REJECTED"
        assert item["review"]["reason"] == "INVALID_FORMAT"
        assert item["review"]["in_plain_words"] == "Its layout breaks one of WhatsApp's template rules."
        assert "cannot end with a variable" in item["review"]["details"]
        assert item["can_edit"] is True
    finally:
        await owner.http.aclose()


async def test_invalid_input_is_refused_in_the_apis_words_and_creates_nothing(server: LiveServer) -> None:
    biz, owner = await owner_of(server)
    try:
        bad_name = await owner.post(API, {**greeting(), "name": "Table Booked!"})
        assert bad_name.status_code == 400
        assert bad_name.json()["error"]["code"] == "invalid_request"
        assert "template name 'Table Booked!' is invalid" in bad_name.json()["error"]["message"]
        no_components = await owner.post(API, {**greeting(), "components": []})
        assert no_components.status_code == 400
        assert "components is required" in no_components.json()["error"]["message"]
        not_json = await owner.http.post(
            "/inbox/api/console/templates",
            content=b"{nope",
            headers={"X-CSRF-Token": owner.csrf, "Content-Type": "application/json"},
        )
        assert not_json.status_code == 400
        assert (await owner.get(API, status="SOMETIMES")).status_code == 400
        assert (await owner.get(f"{API}/not-an-id")).status_code == 404
        assert (await owner.get(API)).json()["data"] == []
        assert await graph_templates(server, biz) == []
        # The same name and language twice: the API's duplicate refusal, and still only one.
        assert (await owner.post(API, greeting())).status_code == 201
        again = await owner.post(API, greeting())
        assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
        assert len(await graph_templates(server, biz)) == 1
    finally:
        await owner.http.aclose()


async def test_an_edit_goes_back_to_review_with_the_same_checks_as_create(server: LiveServer) -> None:
    _, owner = await owner_of(server)
    try:
        item = (await owner.post(API, greeting())).json()
        pending_edit = await owner.patch(f"{API}/{item['id']}", {"components": greeting()["components"]})
        assert pending_edit.status_code == 400 and "PENDING" in pending_edit.json()["error"]["message"]
        await reviewed(server)
        refused = await owner.patch(f"{API}/{item['id']}", {"components": "a body"})
        assert refused.status_code == 400 and "components" in refused.json()["error"]["message"]
        components = greeting(body="Hello {{1}}, your table for {{2}} is booked for tonight.")["components"]
        edited = await owner.patch(f"{API}/{item['id']}", {"components": components})
        assert edited.status_code == 200, edited.text
        assert edited.json()["status"] == "PENDING"
        assert edited.json()["components"][1]["text"].startswith("Hello {{1}}")
        await reviewed(server)
        assert (await owner.get(f"{API}/{item['id']}")).json()["status"] == "APPROVED"
    finally:
        await owner.http.aclose()


async def test_an_owner_pauses_and_resumes_a_template_and_sends_are_refused_meanwhile(server: LiveServer) -> None:
    biz, owner = await owner_of(server)
    person = await server.user("Ada")
    try:
        template = (await owner.post(API, greeting(name="order_update"))).json()
        await reviewed(server)
        refused = await owner.post(f"{API}/{template['id']}/resume")
        assert refused.status_code == 409 and "not paused" in refused.json()["error"]["message"]
        paused = await owner.post(f"{API}/{template['id']}/pause")
        assert paused.status_code == 200, paused.text
        assert paused.json()["status"] == "PAUSED" and paused.json()["paused_by"] == "business"
        assert (await owner.post(f"{API}/{template['id']}/pause")).status_code == 400
        send = await server.http.post(
            f"{V}/{biz.phone_number_id}/messages",
            headers=biz.headers,
            json={
                "messaging_product": "whatsapp",
                "to": person.phone,
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": {"code": "en_US"},
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": "Bo"}, {"type": "text", "text": "2"}]}
                    ],
                },
            },
        )
        assert send.json()["error"]["code"] == 132015
        assert "paused by the business" in send.json()["error"]["error_data"]["details"]
        resumed = await owner.post(f"{API}/{template['id']}/resume")  # no 5-minute wait for one's own pause
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "APPROVED"
        # The business's webhook hears both, as for Meta's own pauses.
        updates = await events(server, biz, field="message_template_status_update")
        assert [(u["event"], u.get("other_info", {}).get("title")) for u in updates[-2:]] == [
            ("PAUSED", "BUSINESS_PAUSE"),
            ("APPROVED", "UNPAUSE"),
        ]
    finally:
        await owner.http.aclose()


async def test_delete_removes_every_language_of_the_name(server: LiveServer) -> None:
    biz, owner = await owner_of(server)
    try:
        english = (await owner.post(API, greeting())).json()
        assert (await owner.post(API, {**greeting(), "language": "fr"})).status_code == 201
        assert (await owner.post(API, greeting(name="other_one"))).status_code == 201
        deleted = await owner.delete(f"{API}/{english['id']}")
        assert deleted.status_code == 200 and deleted.json() == {"success": True, "name": "table_booked"}
        assert [t["name"] for t in await graph_templates(server, biz)] == ["other_one"]
        assert (await owner.delete(f"{API}/{english['id']}")).status_code == 404
    finally:
        await owner.http.aclose()


async def test_search_and_status_filter_the_list(server: LiveServer) -> None:
    _, owner = await owner_of(server)
    try:
        for name in ("spring_menu", "autumn_menu", "receipt"):
            assert (await owner.post(API, greeting(name=name))).status_code == 201
        await reviewed(server)
        assert (await owner.post(API, greeting(name="winter_menu"))).status_code == 201
        names = [t["name"] for t in (await owner.get(API, q="menu")).json()["data"]]
        assert names == ["winter_menu", "autumn_menu", "spring_menu"]
        pending = [t["name"] for t in (await owner.get(API, status="pending")).json()["data"]]
        assert pending == ["winter_menu"]
        first = (await owner.get(API, limit=2)).json()
        assert len(first["data"]) == 2 and first["paging"]["after"]
        rest = (await owner.get(API, limit=2, after=first["paging"]["after"])).json()
        assert [t["name"] for t in rest["data"]] == ["autumn_menu", "spring_menu"]
    finally:
        await owner.http.aclose()


async def test_agents_get_403_and_writes_need_the_csrf_header(server: LiveServer) -> None:
    biz, owner = await owner_of(server)
    helper = await agent(server, biz, "Andy Agent", role="agent")
    try:
        item = (await owner.post(API, greeting())).json()
        calls = [
            helper.get(API),
            helper.get("/console/templates/prices"),
            helper.get(f"{API}/{item['id']}"),
            helper.post(API, greeting(name="by_agent")),
            helper.patch(f"{API}/{item['id']}", {"category": "MARKETING"}),
            helper.post(f"{API}/{item['id']}/pause"),
            helper.post(f"{API}/{item['id']}/resume"),
            helper.delete(f"{API}/{item['id']}"),
        ]
        for response in [await c for c in calls]:
            assert response.status_code == 403, response.request.url
            assert response.json()["error"]["code"] == "forbidden"
        no_csrf = await owner.http.post("/inbox/api/console/templates", json=greeting(name="no_csrf"))
        assert no_csrf.status_code == 403
        async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
            assert (await anonymous.get("/inbox/api/console/templates")).status_code == 401
        assert [t["name"] for t in await graph_templates(server, biz)] == ["table_booked"]
    finally:
        await owner.http.aclose()
        await helper.http.aclose()


async def test_the_page_lists_templates_with_their_price_for_owners_only(server: LiveServer) -> None:
    biz, owner = await owner_of(server)
    helper = await agent(server, biz, "Andy Agent", role="agent")
    try:
        assert (await owner.post(API, greeting())).status_code == 201
        page = await owner.http.get("/inbox/console/templates")
        assert page.status_code == 200
        assert 'aria-current="page">Templates' in page.text
        assert "table_booked" in page.text and "In review" in page.text
        assert "North America" in page.text
        assert (await helper.http.get("/inbox/console/templates")).status_code == 403
    finally:
        await owner.http.aclose()
        await helper.http.aclose()
