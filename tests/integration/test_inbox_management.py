"""Managing the team inbox: invitations, roles, removing an agent, routing policies, the list's filters,
search and paging, labels' life cycle, and the greeting after 14 days of silence."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business, person_writes
from tests.integration.inbox_helpers import PASSWORD, agent, sign_in

pytestmark = pytest.mark.asyncio


async def test_an_invited_agent_sets_a_password_and_signs_in_once(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olivia", role="owner")
    invited = await owner.post("/agents", {"email": "Sam@Shop.example", "name": "Sam", "role": "agent"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["agent"]["invited"] is True and invited.json()["agent"]["email"] == "sam@shop.example"
    url = invited.json()["invite_url"]
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        page = await browser.get(url)
        assert page.status_code == 200 and "sam@shop.example" in page.text
        mismatch = await browser.post(url, data={"password": PASSWORD, "password_confirm": "something else"})
        assert mismatch.status_code == 400 and "differ" in mismatch.text
        short = await browser.post(url, data={"password": "short", "password_confirm": "short"})
        assert short.status_code == 400
        accepted = await browser.post(url, data={"password": PASSWORD, "password_confirm": PASSWORD})
        assert accepted.status_code == 303 and accepted.headers["location"] == "/inbox"
        me = await browser.get("/inbox/api/me")
        assert me.status_code == 200 and me.json()["agent"]["name"] == "Sam"
        assert (await browser.get(url)).status_code == 404  # an invitation works once
    # The same email cannot be invited twice.
    again = await owner.post("/agents", {"email": "sam@shop.example", "name": "Sam 2", "role": "agent"})
    assert again.status_code == 409


async def test_roles_limit_who_changes_the_business_s_settings(server: LiveServer) -> None:
    biz = await create_business(server)
    admin = await agent(server, biz, "Adam", role="admin")
    sam = await agent(server, biz, "Sam")
    for response in (
        await sam.post("/labels", {"name": "VIP", "colour": "#ff0000"}),
        await sam.post("/quick-replies", {"shortcut": "hi", "body": "Hello"}),
        await sam.post("/agents", {"email": "x@shop.example", "name": "X", "role": "agent"}),
        await sam.patch(f"/agents/{admin.id}", {"capacity": 1}),
        await sam.put(f"/numbers/{biz.phone_number_id}/routing", {"policy": "manual"}),
        await sam.put("/settings/hours", {"hours": {}}),
        await sam.patch(f"/agents/{sam.id}", {"role": "admin"}),  # nobody promotes themself
    ):
        assert response.status_code == 403, response.text
    # An admin cannot make owners; an agent may change their own availability and name.
    owner_try = await admin.post("/agents", {"email": "boss@shop.example", "name": "Boss", "role": "owner"})
    assert owner_try.status_code == 403
    renamed = await sam.patch("/me", {"name": "Samuel", "availability": "away"})
    assert renamed.json()["name"] == "Samuel" and renamed.json()["availability"] == "away"


async def test_a_removed_agent_is_signed_out_and_never_routed_to(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olivia", role="owner")
    sam = await agent(server, biz, "Sam")
    await owner.patch("/me", {"availability": "away"})
    removed = await owner.delete(f"/agents/{sam.id}")
    assert removed.status_code == 204
    assert (await sam.get("/me")).status_code == 401
    refused = await sign_in(server.http, sam.email)
    assert refused.status_code == 400
    ada = await server.user("Ada")
    await person_writes(server, ada, biz)
    [row] = await owner.conversations()
    assert row["assignee"] is None and row["waiting_since"] is not None
    assert (await owner.delete(f"/agents/{owner.id}")).status_code == 409  # nobody removes themself


async def test_operator_password_reset_ends_sessions(server: LiveServer) -> None:
    biz = await create_business(server)
    sam = await agent(server, biz, "Sam")
    await server.container.inbox.reset_password(int(biz.waba_id), sam.email, "a brand new password")
    assert (await sam.get("/me")).status_code == 401
    old = await sign_in(server.http, sam.email)
    assert old.status_code == 400
    new = await sign_in(server.http, sam.email, "a brand new password")
    assert new.status_code == 303


async def test_least_open_by_label_and_manual_policies(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="admin")
    bob = await agent(server, biz, "Bob")
    number = biz.phone_number_id
    people = [await server.user(f"Person {i}") for i in range(6)]

    # Least open: Ana already has two open conversations, so Bob gets the next ones until they are even.
    await ana.put(f"/numbers/{number}/routing", {"policy": "manual"})
    await person_writes(server, people[0], biz)
    await person_writes(server, people[1], biz)
    for row in await ana.conversations(assignee="unassigned"):
        assert (await ana.post(f"/conversations/{row['id']}/assign", {"agent_id": ana.id})).status_code == 200
    assert (await ana.get(f"/numbers/{number}/routing")).json()["policy"] == "manual"
    await ana.put(f"/numbers/{number}/routing", {"policy": "least_open"})
    await person_writes(server, people[2], biz)
    await person_writes(server, people[3], biz)
    owners = {r["contact"]["name"]: r["assignee"]["id"] for r in await ana.conversations()}
    assert owners["Person 2"] == bob.id and owners["Person 3"] == bob.id

    # By label: Bob's skill is "Paid". Unlabelled conversations go to whoever is least busy (Ana, by age on a tie);
    # labelled ones (on the conversation or on the contact) only to agents with that skill.
    labels = {label["name"]: label["id"] for label in (await ana.get("/labels")).json()["data"]}
    assert (await ana.patch(f"/agents/{bob.id}", {"skills": [labels["Paid"]]})).status_code == 200
    await ana.put(f"/numbers/{number}/routing", {"policy": "by_label"})
    await person_writes(server, people[4], biz)
    await person_writes(server, people[5], biz)
    rows = {r["contact"]["name"]: r for r in await ana.conversations()}
    assert rows["Person 4"]["assignee"]["id"] == ana.id
    await ana.post(f"/conversations/{rows['Person 4']['id']}/labels", {"label_id": labels["Paid"]})
    await ana.post(f"/contacts/{rows['Person 5']['contact']['id']}/labels", {"label_id": labels["Paid"]})
    for name in ("Person 4", "Person 5"):
        await ana.post(f"/conversations/{rows[name]['id']}/assign", {"agent_id": None})  # back to routing
    rows = {r["contact"]["name"]: r for r in await ana.conversations()}
    assert rows["Person 4"]["assignee"]["id"] == bob.id and rows["Person 5"]["assignee"]["id"] == bob.id
    # A label nobody is skilled for waits in the queue.
    await ana.post(f"/conversations/{rows['Person 0']['id']}/labels", {"label_id": labels["After-sales"]})
    await ana.post(f"/conversations/{rows['Person 0']['id']}/assign", {"agent_id": None})
    waiting = await ana.conversations(assignee="unassigned")
    assert [r["contact"]["name"] for r in waiting] == ["Person 0"]


async def test_the_list_filters_searches_and_pages(server: LiveServer) -> None:
    shop = await create_business(server, name="Shop")
    ana = await agent(server, shop, "Ana", role="admin")
    people = [await server.user(f"Customer {i:02d}") for i in range(7)]
    for i, person in enumerate(people):
        await person_writes(server, person, shop, f"question number {i} about the green bike")
        server.clock.advance(seconds=1)
    await person_writes(server, people[3], shop, "my parcel never arrived")

    first = await ana.get("/conversations", limit=3)
    page = first.json()
    assert [r["contact"]["name"] for r in page["data"]] == ["Customer 03", "Customer 06", "Customer 05"]
    second = (await ana.get("/conversations", limit=3, cursor=page["paging"]["next"])).json()
    third = (await ana.get("/conversations", limit=3, cursor=second["paging"]["next"])).json()
    names = [r["contact"]["name"] for r in page["data"] + second["data"] + third["data"]]
    assert sorted(names) == [f"Customer {i:02d}" for i in range(7)] and third["paging"]["next"] is None

    assert [r["contact"]["name"] for r in await ana.conversations(q="parcel never")] == ["Customer 03"]
    assert [r["contact"]["name"] for r in await ana.conversations(q="customer 05")] == ["Customer 05"]
    assert [r["contact"]["phone"] for r in await ana.conversations(q=people[6].phone[-6:])] == [people[6].phone]
    assert await ana.conversations(q="%") == []  # wildcards are literal
    assert len(await ana.conversations(number=shop.phone_number_id)) == 7
    assert (await ana.get("/conversations", cursor="garbage")).status_code == 400
    assert (await ana.get("/conversations", status="closed")).status_code == 400
    assert (await ana.get("/conversations", limit=0)).status_code == 400

    # Pending and resolved leave the open list; read clears the unread count.
    rows = await ana.conversations()
    assert rows[0]["unread"] == 2
    await ana.post(f"/conversations/{rows[0]['id']}/read")
    await ana.post(f"/conversations/{rows[1]['id']}/status", {"status": "pending"})
    await ana.post(f"/conversations/{rows[2]['id']}/status", {"status": "resolved"})
    assert len(await ana.conversations()) == 5
    assert [r["id"] for r in await ana.conversations(status="pending")] == [rows[1]["id"]]
    assert [r["id"] for r in await ana.conversations(status="resolved")] == [rows[2]["id"]]
    assert len(await ana.conversations(status="all")) == 7
    assert (await ana.get(f"/conversations/{rows[0]['id']}")).json()["unread"] == 0
    reopened = await ana.post(f"/conversations/{rows[2]['id']}/status", {"status": "open"})
    assert reopened.json()["status"] == "open"


async def test_labels_are_renamed_recoloured_and_removed_everywhere(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="admin")
    ada = await server.user("Ada")
    await person_writes(server, ada, biz)
    [row] = await ana.conversations()
    vip = (await ana.post("/labels", {"name": "VIP", "colour": "#FF0000"})).json()
    assert vip["colour"] == "#ff0000"
    assert (await ana.post("/labels", {"name": "VIP", "colour": "#00ff00"})).status_code == 409
    assert (await ana.post("/labels", {"name": "Bad", "colour": "red"})).status_code == 400
    await ana.post(f"/conversations/{row['id']}/labels", {"label_id": vip["id"]})
    renamed = await ana.patch(f"/labels/{vip['id']}", {"name": "Very important", "colour": "#0000ff"})
    assert renamed.json() == {"id": vip["id"], "name": "Very important", "colour": "#0000ff"}
    [row] = await ana.conversations()
    assert [label["name"] for label in row["labels"]] == ["Very important"]
    assert (await ana.delete(f"/labels/{vip['id']}")).status_code == 204
    [row] = await ana.conversations()
    assert row["labels"] == []
    assert (await ana.post(f"/conversations/{row['id']}/labels", {"label_id": vip["id"]})).status_code == 404


async def test_a_greeting_goes_to_a_new_contact_and_again_after_14_silent_days(server: LiveServer) -> None:
    biz = await create_business(server, name="Parley Shop")
    ana = await agent(server, biz, "Ana", role="admin")
    greeting = {"enabled": True, "text": "Welcome to {{business}}, {{name}}!"}
    assert (await ana.put("/settings/hours", {"hours": {}, "greeting": greeting})).status_code == 200
    ada = await server.user("Ada")

    async def greetings() -> int:
        await server.container.inbox.run_automations_now()
        await ana.sign_in_again(server.base_url)  # weeks pass between messages: sessions last 14 days
        [row] = await ana.conversations(status="all")
        history = (await ana.get(f"/conversations/{row['id']}/messages", limit=100)).json()["data"]
        return [m.get("text", {}).get("body") for m in history].count("Welcome to Parley Shop, Ada!")

    await person_writes(server, ada, biz, "Hi")
    await person_writes(server, ada, biz, "Are you there?")
    assert await greetings() == 1
    server.clock.advance(hours=13 * 24)
    await person_writes(server, ada, biz, "Back again")
    assert await greetings() == 1  # 13 days: not a stranger yet
    server.clock.advance(hours=14 * 24 + 1)
    await person_writes(server, ada, biz, "Long time no see")
    assert await greetings() == 2


async def test_a_session_slides_while_the_agent_keeps_working_and_ends_after_14_idle_days(server: LiveServer) -> None:
    biz = await create_business(server)
    sam = await agent(server, biz, "Sam")
    server.clock.advance(hours=10 * 24)
    page = await sam.http.get("/inbox")  # day 10: past half its life, the session is renewed
    assert page.status_code == 200 and "parley_inbox" in page.headers.get("set-cookie", "")
    server.clock.advance(hours=10 * 24)
    assert (await sam.get("/me")).status_code == 200  # day 20: still signed in
    server.clock.advance(hours=14 * 24 + 1)
    assert (await sam.get("/me")).status_code == 401  # 14 idle days: signed out
