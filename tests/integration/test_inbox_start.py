"""Starting a conversation from the team inbox (`POST /inbox/api/conversations`): a template to a contact or a
typed number, sent and charged through the Cloud API send path, never half-applied when refused."""

from __future__ import annotations

from typing import Any

import pytest

from parley.config import BillingSettings, Settings
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import Biz, ack_all, approved_template, create_business, person_writes
from tests.integration.inbox_helpers import Agent, agent

pytestmark = pytest.mark.asyncio

GERMANY_MARKETING = 136_500  # micros: the shipped card's marketing rate for Germany


def autumn_sale(*values: str) -> dict[str, Any]:
    return {
        "name": "autumn_sale",
        "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}],
    }


async def marketing_template(server: LiveServer, biz: Biz) -> None:
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, see you."
    )


async def threads(owner: Agent) -> list[dict[str, Any]]:
    return await owner.conversations(status="all")


async def test_an_owner_starts_a_conversation_with_a_new_number_priced_and_charged_once(settings: Settings) -> None:
    poor = settings.model_copy(update={"billing": BillingSettings(trial_credit="0.1")})
    async with running_server(poor) as server:
        biz = await create_business(server)
        await marketing_template(server, biz)
        owner = await agent(server, biz, "Olga", role="owner")
        jonas = await server.user("Jonas", "+4915112345601")
        [offer] = (await owner.get("/templates")).json()["data"]
        assert (offer["name"], offer["examples"]) == ("autumn_sale", ["A-1", "Monday"])  # to prefill the form

        # The price of this send: marketing to Germany, the figure the API's dry run gives.
        body = {"number_id": biz.phone_number_id, "to": "0049 151 1234 5601", "template": autumn_sale("shoes", "Sun")}
        preview = await owner.post("/conversations/preview", body)
        assert preview.status_code == 200, preview.text
        assert preview.json()["to"] == jonas.phone
        assert (preview.json()["cost"]["amount"], preview.json()["cost"]["market"]) == ("0.1365", "Germany")

        # 0.1 USD cannot cover it: refused in the inbox's error shape, and nothing at all is created.
        refused = await owner.post("/conversations", body)
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "payment_required"
        assert await threads(owner) == []
        assert (await owner.get("/contacts")).json()["data"] == []

        await server.container.billing.topup(int(biz.waba_id), 1_000_000, reference="bank-1")
        sent = await owner.post("/conversations", body, **{"Idempotency-Key": "start-1"})
        assert sent.status_code == 201, sent.text
        started = sent.json()["conversation"]
        assert started["contact"]["phone"] == jonas.phone and started["number_id"] == biz.phone_number_id
        assert started["assignee"]["id"] == owner.id  # the answer comes back to whoever started it
        history = (await owner.get(f"/conversations/{started['id']}/messages")).json()["data"]
        assert [m["business"]["template"]["body"] for m in history] == ["Autumn sale on shoes until Sun, see you."]
        # A retry with the same key sends nothing new.
        again = await owner.post("/conversations", body, **{"Idempotency-Key": "start-1"})
        assert again.status_code == 201 and again.json()["message"]["id"] == sent.json()["message"]["id"]
        assert [t["id"] for t in await threads(owner)] == [started["id"]]

        balance = await server.container.billing.balance(int(biz.waba_id))
        assert balance.held == GERMANY_MARKETING  # reserved once
        await ack_all(server, jonas)
        balance = await server.container.billing.balance(int(biz.waba_id))
        assert (balance.balance, balance.held) == (1_100_000 - GERMANY_MARKETING, 0)  # charged once, at delivery

        # When Jonas answers, the conversation opens for the owner who started it.
        await person_writes(server, jonas, biz, "Which shoes?")
        [mine] = await owner.conversations(status="open", assignee="mine")
        assert mine["id"] == started["id"]


async def test_an_existing_contact_can_be_picked_by_id(server: LiveServer) -> None:
    biz = await create_business(server)
    await marketing_template(server, biz)
    ana = await agent(server, biz, "Ana")
    ada = await server.user("Ada")
    await person_writes(server, ada, biz, "Hi")
    [contact] = (await ana.get("/contacts")).json()["data"]
    [existing] = await threads(ana)
    server.clock.advance(hours=25)
    sent = await ana.post(
        "/conversations",
        {"number_id": biz.phone_number_id, "contact_id": contact["id"], "template": autumn_sale("bikes", "Friday")},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["conversation"]["id"] == existing["id"]  # the one conversation with her continues


@pytest.mark.parametrize(
    ("to", "why"),
    [("12", "not a valid phone number"), ("+1 555", "not a valid phone number"), ("call me", "not a valid phone")],
)
async def test_a_bad_number_is_a_400_and_creates_nothing(server: LiveServer, to: str, why: str) -> None:
    biz = await create_business(server)
    await marketing_template(server, biz)
    ana = await agent(server, biz, "Ana")
    answer = await ana.post("/conversations", {"number_id": biz.phone_number_id, "to": to, "template": autumn_sale()})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_phone_number"
    assert why in answer.json()["error"]["message"]
    assert await threads(ana) == []
    assert (await ana.get("/contacts")).json()["data"] == []


async def test_without_an_approved_template_nothing_is_sent(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    ada = await server.user("Ada")
    no_template = await ana.post("/conversations", {"number_id": biz.phone_number_id, "to": ada.phone})
    assert no_template.status_code == 400 and "approved template" in no_template.json()["error"]["message"]
    unknown = await ana.post(
        "/conversations", {"number_id": biz.phone_number_id, "to": ada.phone, "template": autumn_sale("a", "b")}
    )
    assert unknown.status_code == 400 and "autumn_sale" in unknown.json()["error"]["message"], unknown.text
    assert await threads(ana) == []
    assert (await ana.get("/templates")).json()["data"] == []


async def test_an_agent_cannot_send_from_another_business_s_number_or_to_its_contacts(server: LiveServer) -> None:
    shop, other = await create_business(server, "Shop"), await create_business(server, "Other")
    await marketing_template(server, shop)
    await marketing_template(server, other)
    ana = await agent(server, shop, "Ana")
    mallory = await agent(server, other, "Mallory")
    ada = await server.user("Ada")
    await person_writes(server, ada, shop, "Hi shop")
    [shop_contact] = (await ana.get("/contacts")).json()["data"]

    body = {"number_id": shop.phone_number_id, "to": ada.phone, "template": autumn_sale("a", "b")}
    stolen_number = await mallory.post("/conversations", body)
    assert stolen_number.status_code == 404 and stolen_number.json()["error"]["code"] == "not_found"
    assert (await mallory.post("/conversations/preview", body)).status_code == 404
    stolen_contact = await mallory.post(
        "/conversations",
        {"number_id": other.phone_number_id, "contact_id": shop_contact["id"], "template": autumn_sale("a", "b")},
    )
    assert stolen_contact.status_code == 404
    assert await threads(mallory) == []
    no_csrf = await mallory.http.post("/inbox/api/conversations", json={**body, "number_id": other.phone_number_id})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf"
    assert await threads(mallory) == []


async def test_the_reports_page_links_the_console_for_owners_and_admins_only(server: LiveServer) -> None:
    biz = await create_business(server)
    admin, plain = await agent(server, biz, "Ada", role="admin"), await agent(server, biz, "Alan")
    assert 'href="/inbox/console"' in (await admin.http.get("/inbox/reports")).text
    assert 'href="/inbox/console"' not in (await plain.http.get("/inbox/reports")).text
