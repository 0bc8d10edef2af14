"""Contacts for a CRM: the Graph list/get/update with a Cloud API token, the `parley_contacts` webhook, and the
inbox's CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from parley.inbox import contacts_endpoints
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business, events, person_writes, subscribe_app
from tests.integration.inbox_helpers import agent
from tests.integration.test_webhooks_support import receiver

pytestmark = pytest.mark.asyncio


def graph_error(response: httpx.Response, code: int = 100, status: int = 400, subcode: int | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "OAuthException" and error["fbtrace_id"], error
    if subcode is not None:
        assert error.get("error_subcode") == subcode, error
    return str(error["error_data"]["details"])


async def contacts_page(server: LiveServer, biz: Biz, url: str | None = None, **params: Any) -> dict[str, Any]:
    # `params={}` would drop the query of a `next` URL (httpx replaces it), so pass None then.
    response = await server.http.get(url or f"{V}/{biz.waba_id}/contacts", headers=biz.headers, params=params or None)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_crm_pages_through_contacts_reads_one_and_updates_it(server: LiveServer) -> None:
    biz = await create_business(server)
    people = [await server.user(f"Person {i}") for i in range(5)]
    for person in people:
        await person_writes(server, person, biz, "Hello")
        server.clock.advance(seconds=1)

    # Five contacts, two a page: three pages, newest contact first, Meta's paging shape.
    seen: list[dict[str, Any]] = []
    page = await contacts_page(server, biz, limit=2)
    pages = 1
    while True:
        seen += page["data"]
        assert set(page["paging"]["cursors"]) == {"after"}
        if "next" not in page["paging"]:
            break
        page = await contacts_page(server, biz, url=page["paging"]["next"])
        pages += 1
    assert pages == 3
    assert [c["name"] for c in seen] == [f"Person {i}" for i in reversed(range(5))]
    first = seen[-1]
    assert first["phone"] == people[0].phone and first["wa_id"] == people[0].phone.lstrip("+")
    assert first["profile_name"] == "Person 0" and first["notes"] == "" and first["labels"] == []
    assert first["first_contact_at"] <= first["last_contact_at"]
    assert [c["status"] for c in first["conversations"]] == ["open"]
    # The `after` cursor of a page continues right after it.
    rest = await contacts_page(server, biz, limit=2, after=page["paging"]["cursors"]["after"])
    assert rest["data"] == []

    one = await server.http.get(f"{V}/{biz.waba_id}/contacts/{first['id']}", headers=biz.headers)
    assert one.status_code == 200 and one.json() == first

    ana = await agent(server, biz, "Ana", role="admin")
    labels = {label["name"]: label["id"] for label in (await ana.get("/labels")).json()["data"]}
    updated = await server.http.post(
        f"{V}/{biz.waba_id}/contacts/{first['id']}",
        headers=biz.headers,
        json={"name": "Ada (VIP)", "notes": "Prefers mornings", "labels": [labels["Paid"], labels["Prospect"]]},
    )
    assert updated.status_code == 200 and updated.json() == {"success": True}
    after = (await server.http.get(f"{V}/{biz.waba_id}/contacts/{first['id']}", headers=biz.headers)).json()
    assert after["name"] == "Ada (VIP)" and after["notes"] == "Prefers mornings"
    assert sorted(label["name"] for label in after["labels"]) == ["Paid", "Prospect"]
    # The team sees the CRM's edit in the inbox.
    assert (await ana.get(f"/contacts/{first['id']}")).json()["name"] == "Ada (VIP)"

    paid = await contacts_page(server, biz, label=labels["Paid"])
    assert [c["id"] for c in paid["data"]] == [first["id"]]
    assert (await contacts_page(server, biz, label=labels["After-sales"]))["data"] == []
    assert [c["id"] for c in (await contacts_page(server, biz, q="vip"))["data"]] == [first["id"]]

    # A form post (how some Graph clients send updates) with labels as JSON.
    as_form = await server.http.post(
        f"{V}/{biz.waba_id}/contacts/{first['id']}", headers=biz.headers, data={"labels": "[]"}
    )
    assert as_form.status_code == 200, as_form.text
    assert (await contacts_page(server, biz, label=labels["Paid"]))["data"] == []


async def test_another_business_s_contacts_are_not_found_and_bad_input_is_error_100(server: LiveServer) -> None:
    mine = await create_business(server, name="Mine")
    other = await create_business(server, name="Other")
    ada = await server.user("Ada")
    await person_writes(server, ada, other, "Hi other")
    await person_writes(server, ada, mine, "Hi mine")
    [their_contact] = (await contacts_page(server, other))["data"]
    [my_contact] = (await contacts_page(server, mine))["data"]
    assert their_contact["id"] != my_contact["id"]

    # My token on their business account, or on their contact through mine: as if it did not exist.
    graph_error(await server.http.get(f"{V}/{other.waba_id}/contacts", headers=mine.headers), subcode=33)
    graph_error(
        await server.http.get(f"{V}/{other.waba_id}/contacts/{their_contact['id']}", headers=mine.headers), subcode=33
    )
    graph_error(
        await server.http.get(f"{V}/{mine.waba_id}/contacts/{their_contact['id']}", headers=mine.headers), subcode=33
    )
    graph_error(
        await server.http.post(
            f"{V}/{mine.waba_id}/contacts/{their_contact['id']}", headers=mine.headers, json={"name": "Mine now"}
        ),
        subcode=33,
    )
    assert (await contacts_page(server, other))["data"][0]["name"] == "Ada"
    graph_error(await server.http.get(f"{V}/{mine.waba_id}/contacts"), code=190, status=401)

    url = f"{V}/{mine.waba_id}/contacts/{my_contact['id']}"
    other_agent = await agent(server, other, "Olga", role="admin")
    their_label = (await other_agent.get("/labels")).json()["data"][0]["id"]
    for body in (
        {"labels": "Paid"},
        {"labels": [their_label]},
        {"colour": "#ffffff"},
        {"name": "x" * 500},
        {"notes": 7},
        ["name"],
    ):
        graph_error(await server.http.post(url, headers=mine.headers, json=body))
    graph_error(await server.http.post(url, headers=mine.headers, content=b"{nope"))
    graph_error(await server.http.get(f"{V}/{mine.waba_id}/contacts", headers=mine.headers, params={"limit": 0}))
    graph_error(await server.http.get(f"{V}/{mine.waba_id}/contacts", headers=mine.headers, params={"after": "zz"}))
    graph_error(await server.http.get(f"{V}/{mine.waba_id}/contacts", headers=mine.headers, params={"label": "vip"}))
    assert (await contacts_page(server, mine, label=their_label))["data"] == []  # their label matches none of mine
    # Nothing was half-applied.
    unchanged = (await server.http.get(url, headers=mine.headers)).json()
    assert unchanged["name"] == "Ada" and unchanged["labels"] == [] and unchanged["notes"] == ""


async def test_contacts_webhook_on_create_and_update_reaches_a_subscribed_callback(server: LiveServer) -> None:
    biz = await create_business(server)
    async with receiver() as rx:
        await subscribe_app(server, biz, rx.url, rx.verify_token, ["parley_contacts"])
        listed = await server.http.get(f"{V}/{biz.app_id}/subscriptions", headers=biz.headers)
        assert [f["name"] for f in listed.json()["data"][0]["fields"]] == ["parley_contacts"]

        ada = await server.user("Ada")
        await person_writes(server, ada, biz, "Hello")
        await person_writes(server, ada, biz, "Again")  # an existing contact: no second "created"
        [created] = await events(server, biz, field="parley_contacts")
        assert created["messaging_product"] == "whatsapp" and created["event"] == "created"
        contact = created["contact"]
        assert contact["phone"] == ada.phone and contact["profile_name"] == "Ada"

        edit = await server.http.post(
            f"{V}/{biz.waba_id}/contacts/{contact['id']}", headers=biz.headers, json={"notes": "Called back"}
        )
        assert edit.status_code == 200
        [_, updated] = await events(server, biz, field="parley_contacts")
        assert updated["event"] == "updated" and updated["contact"]["id"] == contact["id"]
        assert updated["contact"]["notes"] == "Called back"

        # Delivered like any other field; `messages` is not subscribed, so only contacts arrive.
        posts = await rx.wait_for(2)
        changes = [post.json["entry"][0]["changes"][0] for post in posts]
        assert [(c["field"], c["value"]["event"]) for c in changes] == [
            ("parley_contacts", "created"),
            ("parley_contacts", "updated"),
        ]
        assert posts[0].json["entry"][0]["id"] == biz.waba_id


async def test_the_csv_export_lists_every_contact_safely(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contacts_endpoints, "PAGE_SIZE", 2)  # several pages without creating a thousand contacts
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="admin")
    names = ["Ada", '=HYPERLINK("http://evil")', 'Bo, "the" boss', "@SUM(1)", "Eve"]
    people = [await server.user(name) for name in names]
    for person in people:
        await person_writes(server, person, biz, "Hi")
        server.clock.advance(seconds=1)
    [ada] = [c for c in (await ana.get("/contacts", limit=100)).json()["data"] if c["profile_name"] == "Ada"]
    labels = {label["name"]: label["id"] for label in (await ana.get("/labels")).json()["data"]}
    await ana.patch(f"/contacts/{ada['id']}", {"name": "Ada L.", "notes": "-1 refund\nsecond line"})
    await ana.post(f"/contacts/{ada['id']}/labels", {"label_id": labels["Paid"]})
    await ana.post(f"/contacts/{ada['id']}/labels", {"label_id": labels["Prospect"]})

    response = await ana.http.get("/inbox/api/contacts.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "name",
        "profile_name",
        "phone",
        "labels",
        "notes",
        "first_contact",
        "last_contact",
        "conversations",
    ]
    assert len(rows) == 1 + len(names)
    by_phone = {row[2].lstrip("'"): row for row in rows[1:]}
    ada_row = by_phone[people[0].phone]
    assert ada_row[0] == "Ada L." and ada_row[1] == "Ada"
    assert ada_row[2] == "'" + people[0].phone  # a leading + would make a spreadsheet compute the cell
    assert sorted(ada_row[3].split("; ")) == ["Paid", "Prospect"]
    assert ada_row[4] == "'-1 refund\nsecond line"
    assert ada_row[5].endswith("Z") and "T" in ada_row[5] and ada_row[5] <= ada_row[6]
    assert ada_row[7] == "1"
    assert by_phone[people[1].phone][1] == '\'=HYPERLINK("http://evil")'
    assert by_phone[people[2].phone][1] == 'Bo, "the" boss'
    assert by_phone[people[3].phone][1] == "'@SUM(1)"

    # Only this business's contacts, and only for a signed-in agent.
    other = await create_business(server, name="Other")
    olga = await agent(server, other, "Olga")
    assert (await olga.http.get("/inbox/api/contacts.csv")).text.strip().count("\n") == 0
    assert (await server.http.get("/inbox/api/contacts.csv")).status_code == 401
