"""Template sends: what they cost and when, and the messaging limit on people reached outside the window."""

from __future__ import annotations

from parley.config import BusinessSettings, Settings
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import (
    V,
    approved_template,
    create_business,
    events,
    person_writes,
    send,
    statuses,
    template_body,
)


async def test_a_template_reaches_a_person_outside_the_window_rendered(server: LiveServer) -> None:
    biz = await create_business(server)
    await approved_template(server, biz)
    alice = await server.user("Alice")
    response = await send(server, biz, template_body(alice))
    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]
    [sent] = await statuses(server, biz, wamid)
    assert sent["pricing"] == {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}
    chats = (await server.http.get("/client/v1/chats", headers=alice.headers)).json()["chats"]
    last = chats[0]["last_message"]
    assert chats[0]["peer"]["kind"] == "business"
    assert "Your order A-1 has shipped and will arrive on Monday" in str(last)


async def test_utility_is_free_inside_the_window_and_marketing_never_is(server: LiveServer) -> None:
    biz = await create_business(server)
    await approved_template(server, biz)
    await approved_template(
        server, biz, "autumn_sale", "MARKETING", "Hello {{1}}, our autumn sale starts {{2}} in every shop."
    )
    alice = await server.user("Alice")
    await person_writes(server, alice, biz)
    utility = (await send(server, biz, template_body(alice))).json()["messages"][0]["id"]
    marketing = (await send(server, biz, template_body(alice, "autumn_sale"))).json()["messages"][0]["id"]
    assert (await statuses(server, biz, utility))[0]["pricing"]["type"] == "free_customer_service"
    pricing = (await statuses(server, biz, marketing))[0]["pricing"]
    assert (pricing["category"], pricing["type"], pricing["billable"]) == ("marketing", "regular", True)


async def test_template_errors_have_metas_codes(server: LiveServer) -> None:
    biz = await create_business(server)
    await approved_template(server, biz)
    alice = await server.user("Alice")
    missing = await send(server, biz, template_body(alice, "no_such_template"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 132001
    body = template_body(alice)
    body["template"]["components"][0]["parameters"].pop()
    wrong = await send(server, biz, body)
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 132000
    assert not await events(server, biz)  # refused sends leave nothing behind


def _tight(settings: Settings) -> Settings:
    return settings.model_copy(update={"business": BusinessSettings(messaging_limit_tiers=[2, 4], sweep_interval_s=0)})


async def test_the_messaging_limit_counts_unique_people_and_is_raised_automatically(settings: Settings) -> None:
    async with running_server(_tight(settings)) as server:
        biz = await create_business(server)
        await approved_template(server, biz)
        people = [await server.user(f"P{i}") for i in range(3)]
        first = [(await send(server, biz, template_body(p))).json()["messages"][0]["id"] for p in people[:2]]
        again = (await send(server, biz, template_body(people[0]))).json()["messages"][0]["id"]
        over = await send(server, biz, template_body(people[2]))
        assert over.status_code == 200  # accepted, then failed, as Meta does
        [failed] = await statuses(server, biz, over.json()["messages"][0]["id"])
        assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131048
        assert [(await statuses(server, biz, w))[0]["status"] for w in [*first, again]] == ["sent"] * 3
        chats = (await server.http.get("/client/v1/chats", headers=people[2].headers)).json()["chats"]
        assert chats == []  # the person never got it

        # A person who writes in is inside the window: replying does not count against the limit.
        await person_writes(server, people[2], biz)
        assert (await send(server, biz, {"to": people[2].phone, "type": "text", "text": {"body": "hi"}})).is_success

        number = await server.http.get(f"{V}/{biz.phone_number_id}", headers=biz.headers)
        assert number.json()["whatsapp_business_manager_messaging_limit"] == "TIER_250"
        await server.container.business_sweeps.sweep_now()  # used >= half of the limit in 7 days: next tier
        number = await server.http.get(f"{V}/{biz.phone_number_id}", headers=biz.headers)
        assert number.json()["whatsapp_business_manager_messaging_limit"] == "TIER_2K"
        capability = [e["value"] for e in await events(server, biz, None) if e["field"] == "business_capability_update"]
        assert capability == [{"max_daily_conversations_per_business": "TIER_2K"}]
        # The rolling day moves on: the first two people no longer count.
        server.clock.advance(hours=25)
        more = [await server.user(f"Q{i}") for i in range(4)]
        results = [await send(server, biz, template_body(p)) for p in more]
        codes = [(await statuses(server, biz, r.json()["messages"][0]["id"]))[0]["status"] for r in results]
        assert codes == ["sent", "sent", "sent", "sent"]
