"""The team inbox through its HTTP API: sign-in, the shared conversation record, routing, replies, labels,
notes, quick replies, window rules, away and greeting messages."""

from __future__ import annotations

import pytest

from parley.config import BillingSettings, InboxSettings, Settings
from parley.inbox import repository as inbox_repo
from tests.conftest import LiveServer, running_server
from tests.integration.business_helpers import (
    V,
    ack_all,
    approved_template,
    create_business,
    events,
    person_writes,
    send,
)
from tests.integration.inbox_helpers import PASSWORD, agent, sign_in
from tests.integration.test_graph_media import person_sends_media
from tests.integration.test_media import png

pytestmark = pytest.mark.asyncio


async def test_sign_in_form_sets_a_session_and_bad_passwords_are_refused(server: LiveServer) -> None:
    biz = await create_business(server)
    await server.container.inbox.create_agent(
        int(biz.waba_id), email="ana@shop.example", name="Ana", role="owner", password=PASSWORD
    )
    page = await server.http.get("/inbox", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/inbox/login"
    wrong = await sign_in(server.http, "ana@shop.example", "nope-nope")
    assert wrong.status_code == 400
    assert "Wrong email or password." in wrong.text
    assert "parley_inbox=" not in wrong.headers.get("set-cookie", "")
    api = await server.http.get("/inbox/api/me")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"

    ana = await agent(server, biz, "Ana B", role="owner")
    me = (await ana.get("/me")).json()
    assert me["agent"]["role"] == "owner" and me["agent"]["availability"] == "online"
    assert me["numbers"][0]["id"] == biz.phone_number_id
    # Writes need the CSRF header as well as the cookie.
    no_csrf = await ana.http.patch("/inbox/api/me", json={"availability": "away"})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf"


async def test_a_person_s_message_reaches_the_inbox_and_an_agent_s_reply_goes_out_through_the_api_path(
    server: LiveServer,
) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    ada = await server.user("Ada Lovelace")
    await person_writes(server, ada, biz, "Do you ship to Lyon?")

    [row] = await ana.conversations()
    assert row["contact"]["name"] == "Ada Lovelace" and row["contact"]["phone"] == ada.phone
    assert row["last_message"]["text"] == "Do you ship to Lyon?"
    assert row["unread"] == 1 and row["status"] == "open"
    assert row["assignee"]["id"] == ana.id  # the only online agent
    assert row["window"]["open"] is True

    reply = await ana.post(f"/conversations/{row['id']}/messages", {"text": "Yes, in 2 days."})
    assert reply.status_code == 201, reply.text
    wamid = reply.json()["id"]
    # The business's webhook reports the agent's reply like any API send.
    sent = [v["statuses"][0] for v in await events(server, biz) if "statuses" in v]
    assert any(s["id"] == wamid and s["status"] == "sent" for s in sent)
    # ... and echoes its content (Meta's smb_message_echoes), so the business's software sees the whole thread.
    [echo] = [v["message_echoes"][0] for v in await events(server, biz, field="smb_message_echoes")]
    assert echo["id"] == wamid and echo["text"] == {"body": "Yes, in 2 days."}
    assert echo["to"] == ada.phone.lstrip("+") and echo["from"] == biz.phone.lstrip("+")
    history = (await ana.get(f"/conversations/{row['id']}/messages")).json()
    assert [(m["direction"], m.get("text", {}).get("body")) for m in history["data"]] == [
        ("in", "Do you ship to Lyon?"),
        ("out", "Yes, in 2 days."),
    ]
    # A message the business's software sends through the Cloud API shows in the same conversation.
    api = await send(server, biz, {"to": ada.phone, "type": "text", "text": {"body": "Order #7 confirmed"}})
    assert api.status_code == 200
    [row] = await ana.conversations()
    assert row["last_message"] == {"text": "Order #7 confirmed", "at": row["last_message"]["at"], "direction": "out"}


async def test_round_robin_takes_turns_skips_away_agents_and_queues_when_nobody_is_free(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="admin")
    bob = await agent(server, biz, "Bob")
    people = [await server.user(f"Person {i}") for i in range(4)]
    await person_writes(server, people[0], biz)
    await person_writes(server, people[1], biz)
    owners = {r["contact"]["name"]: r["assignee"]["id"] for r in await ana.conversations()}
    assert sorted(owners.values()) == sorted([ana.id, bob.id])

    assert (await bob.patch("/me", {"availability": "away"})).status_code == 200
    await person_writes(server, people[2], biz)
    rows = {r["contact"]["name"]: r for r in await ana.conversations()}
    assert rows["Person 2"]["assignee"]["id"] == ana.id

    # Ana at capacity: the next conversation waits, then goes to Bob when he comes back.
    assert (await ana.patch(f"/agents/{ana.id}", {"capacity": 2})).status_code == 200
    await person_writes(server, people[3], biz)
    waiting = await ana.conversations(assignee="unassigned")
    assert [r["contact"]["name"] for r in waiting] == ["Person 3"] and waiting[0]["waiting_since"]
    assert (await ana.get("/counts")).json()["unassigned"] == 1
    await bob.patch("/me", {"availability": "online"})
    rows = {r["contact"]["name"]: r for r in await ana.conversations()}
    assert rows["Person 3"]["assignee"]["id"] == bob.id


async def test_outside_the_window_only_templates_go_out(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    ada = await server.user("Ada")
    await person_writes(server, ada, biz)
    [row] = await ana.conversations()
    server.clock.advance(hours=25)
    [row] = await ana.conversations()
    assert row["window"] == {"open": False, "closes_at": None}
    refused = await ana.post(f"/conversations/{row['id']}/messages", {"text": "Still there?"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "outside_window"


async def test_labels_notes_quick_replies_and_resolution(server: LiveServer) -> None:
    biz = await create_business(server, name="Parley Shop")
    ana = await agent(server, biz, "Ana", role="admin")
    ada = await server.user("Ada")
    await person_writes(server, ada, biz, "Hello")
    [row] = await ana.conversations()
    labels = {label["name"]: label["id"] for label in (await ana.get("/labels")).json()["data"]}
    assert {"New customer", "Prospect", "After-sales", "Payment pending", "Paid", "Order complete"} <= set(labels)
    labelled = await ana.post(f"/conversations/{row['id']}/labels", {"label_id": labels["Prospect"]})
    assert [label["name"] for label in labelled.json()["labels"]] == ["Prospect"]
    assert [r["id"] for r in await ana.conversations(label=labels["Prospect"])] == [row["id"]]
    assert await ana.conversations(label=labels["Paid"]) == []

    note = await ana.post(f"/conversations/{row['id']}/notes", {"body": "VIP, be nice"})
    assert note.status_code == 201
    quick = await ana.post("/quick-replies", {"shortcut": "/thanks", "body": "Thanks {{name}}, from {{business}}!"})
    assert quick.status_code == 201 and quick.json()["shortcut"] == "thanks"
    sent = await ana.post(f"/conversations/{row['id']}/messages", {"quick_reply_id": quick.json()["id"]})
    assert sent.status_code == 201
    history = (await ana.get(f"/conversations/{row['id']}/messages")).json()
    assert history["data"][-1]["text"]["body"] == "Thanks Ada, from Parley Shop!"
    assert [n["body"] for n in history["notes"]] == ["VIP, be nice"]

    resolved = await ana.post(f"/conversations/{row['id']}/status", {"status": "resolved"})
    assert resolved.json()["status"] == "resolved"
    assert await ana.conversations() == []
    await person_writes(server, ada, biz, "One more thing")
    [again] = await ana.conversations()
    assert again["id"] == row["id"] and again["status"] == "open" and again["assignee"]["id"] == ana.id


async def test_away_message_goes_out_once_per_closure_and_greeting_to_new_contacts(server: LiveServer) -> None:
    biz = await create_business(server, name="Parley Shop")
    ana = await agent(server, biz, "Ana", role="admin")
    closed_all_week = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    closed_all_week["mon"] = [["00:00", "00:01"]]  # open one minute a week
    saved = await ana.put(
        "/settings/hours",
        {
            "timezone": "Europe/Paris",
            "hours": closed_all_week,
            "away": {"enabled": True, "text": "We are closed, back soon {{name}}."},
            "greeting": {"enabled": True, "text": "Welcome to {{business}}!"},
        },
    )
    assert saved.status_code == 200, saved.text
    ada = await server.user("Ada")
    await person_writes(server, ada, biz, "Hello?")
    await person_writes(server, ada, biz, "Anyone?")
    await server.container.inbox.run_automations_now()  # whatever the background loop has not sent yet
    [row] = await ana.conversations()
    history = (await ana.get(f"/conversations/{row['id']}/messages")).json()["data"]
    texts = [m.get("text", {}).get("body") for m in history]
    assert texts.count("We are closed, back soon Ada.") == 1
    assert texts.count("Welcome to Parley Shop!") == 1
    # Automatic messages never count as the team's first response.
    [row] = await ana.conversations()
    assert row["status"] == "open"


async def test_agents_of_one_business_never_see_another_s(server: LiveServer) -> None:
    shop = await create_business(server, name="Shop")
    bank = await create_business(server, name="Bank")
    ana = await agent(server, shop, "Ana", role="owner")
    eve = await agent(server, bank, "Eve", role="owner")
    ada = await server.user("Ada")
    await person_writes(server, ada, shop, "secret order")
    [row] = await ana.conversations()
    assert await eve.conversations() == []
    for response in (
        await eve.get(f"/conversations/{row['id']}"),
        await eve.get(f"/conversations/{row['id']}/messages"),
        await eve.post(f"/conversations/{row['id']}/messages", {"text": "hi"}),
        await eve.post(f"/conversations/{row['id']}/notes", {"body": "x"}),
        await eve.post(f"/conversations/{row['id']}/status", {"status": "resolved"}),
        await eve.post(f"/conversations/{row['id']}/assign", {"agent_id": eve.id}),
        await eve.get(f"/numbers/{shop.phone_number_id}/routing"),
        await eve.patch(f"/agents/{ana.id}", {"capacity": 1}),
    ):
        assert response.status_code == 404, response.text
    response = await send(server, shop, {"to": ada.phone, "type": "text", "text": {"body": "ok"}})
    assert response.status_code == 200
    assert V


async def test_an_away_message_sent_before_a_crash_is_not_sent_again(settings: Settings) -> None:
    """The send went out but the process died before marking the automation done: the retry sends nothing new."""
    quiet = settings.model_copy(update={"inbox": InboxSettings(automation_poll_s=0)})  # no background loop
    async with running_server(quiet) as server:
        biz = await create_business(server, name="Parley Shop")
        ana = await agent(server, biz, "Ana", role="admin")
        week = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        week["mon"] = [["00:00", "00:01"]]
        away = {"enabled": True, "text": "Closed, back soon."}
        assert (await ana.put("/settings/hours", {"hours": week, "away": away})).status_code == 200
        ada = await server.user("Ada")
        await person_writes(server, ada, biz, "Hello?")
        [planned] = await server.container.db.read(lambda c: inbox_repo.due_automations(c, 10))
        assert await server.container.inbox.automations.send(planned) == "sent"  # ... and then the crash
        assert await server.container.inbox.run_automations_now() == 1  # the restart's retry
        [row] = await ana.conversations()
        history = (await ana.get(f"/conversations/{row['id']}/messages")).json()["data"]
        assert [m.get("text", {}).get("body") for m in history].count("Closed, back soon.") == 1
        assert await server.container.db.read(lambda c: inbox_repo.due_automations(c, 10)) == []


async def test_agents_open_the_photos_of_their_conversations_and_only_those(server: LiveServer) -> None:
    shop = await create_business(server, name="Shop")
    bank = await create_business(server, name="Bank")
    ana = await agent(server, shop, "Ana")
    eve = await agent(server, bank, "Eve")
    ada = await server.user("Ada")
    photo = png(3, 2)
    media_id = await person_sends_media(server, ada, shop, photo, "image/png")
    opened = await ana.http.get(f"/inbox/api/media/{media_id}")
    assert opened.status_code == 200 and opened.content == photo
    assert opened.headers["content-type"] == "image/png"
    assert (await eve.http.get(f"/inbox/api/media/{media_id}")).status_code == 404
    assert (await server.http.get(f"/inbox/api/media/{media_id}")).status_code == 401


async def test_a_long_idempotency_key_is_accepted_and_a_retry_sends_once(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    ada = await server.user("Ada")
    await person_writes(server, ada, biz)
    [row] = await ana.conversations()
    key = "retry-" + "k" * 120  # longer than a stored client id: kept as its digest
    first = await ana.post(f"/conversations/{row['id']}/messages", {"text": "Once only"}, **{"Idempotency-Key": key})
    again = await ana.post(f"/conversations/{row['id']}/messages", {"text": "Once only"}, **{"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"]
    history = (await ana.get(f"/conversations/{row['id']}/messages")).json()["data"]
    assert [m.get("text", {}).get("body") for m in history].count("Once only") == 1
    graph = {"to": ada.phone, "type": "text", "text": {"body": "API once"}}
    one = await send(server, biz, graph, **{"Idempotency-Key": key})
    two = await send(server, biz, graph, **{"Idempotency-Key": key})
    assert one.status_code == 200 and one.json()["messages"][0]["id"] == two.json()["messages"][0]["id"]


async def test_an_agent_s_template_is_priced_reserved_and_charged_like_an_api_send(settings: Settings) -> None:
    """Outside the window the inbox offers templates with their price; the wallet pays at delivery, and a wallet
    that cannot cover it refuses the send (402) before anything goes out."""
    poor = settings.model_copy(update={"billing": BillingSettings(trial_credit="0.1")})
    async with running_server(poor) as server:
        biz = await create_business(server)
        await approved_template(
            server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, see you."
        )
        ana = await agent(server, biz, "Ana")
        jonas = await server.user("Jonas", "+4915112345601")  # Germany: marketing at 0.1365 USD
        await person_writes(server, jonas, biz, "Hallo")
        server.clock.advance(hours=25)
        [row] = await ana.conversations()
        [offer] = (await ana.get(f"/conversations/{row['id']}/templates")).json()["data"]
        assert offer["name"] == "autumn_sale" and offer["variables"] == 2
        assert offer["price"] == {"amount": "0.1365", "currency": "USD"}
        template = {
            "name": "autumn_sale",
            "language": "en_US",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": t} for t in ("shoes", "Sunday")]}],
        }
        refused = await ana.post(f"/conversations/{row['id']}/messages", {"template": template})
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "payment_required"
        assert "top up" in refused.json()["error"]["message"]

        await server.container.billing.topup(int(biz.waba_id), 1_000_000, reference="bank-1")
        sent = await ana.post(f"/conversations/{row['id']}/messages", {"template": template})
        assert sent.status_code == 201, sent.text
        balance = await server.container.billing.balance(int(biz.waba_id))
        assert balance.held == 136_500  # reserved at send
        await ack_all(server, jonas)
        balance = await server.container.billing.balance(int(biz.waba_id))
        assert (balance.balance, balance.held) == (1_100_000 - 136_500, 0)  # charged at delivery
