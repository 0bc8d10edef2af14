"""People answer business messages by tapping their buttons (a `reply`), and share locations, via the client API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from parley.messaging.content import AnyContent, InteractiveContent, TemplateContent
from tests.conftest import LiveServer, User

API = "/client/v1"

DELIVERY = InteractiveContent(
    type="button",
    header={"type": "text", "text": "Order 7"},
    body="When should we deliver?",
    footer="Parley Shop",
    action={
        "buttons": [
            {"type": "reply", "reply": {"id": "today", "title": "Today"}},
            {"type": "reply", "reply": {"id": "tomorrow", "title": "Tomorrow"}},
        ]
    },
)
SLOTS = InteractiveContent(
    type="list",
    body="Pick a slot",
    action={
        "button": "Slots",
        "sections": [
            {"title": "Morning", "rows": [{"id": "m9", "title": "9:00", "description": "Early bird"}]},
            {"title": "Evening", "rows": [{"id": "e6", "title": "18:00"}]},
        ],
    },
)
SHIPPED = TemplateContent(
    name="order_shipped",
    language="en_US",
    category="UTILITY",
    body="Hi Ada, order 7 is on its way.",
    footer="Parley Shop",
    buttons=[
        {"type": "QUICK_REPLY", "text": "Stop updates", "payload": "STOP"},
        {"type": "URL", "text": "Track", "url": "https://example.com/t/7"},
    ],
)


async def business_says(server: LiveServer, business: User, person: User, type_: str, content: AnyContent) -> str:
    """A business account's message, stored through the messaging layer as the business send path does."""
    messaging = server.container.messaging
    now = server.clock.now_ms()

    def unit(conn: Any) -> Any:
        return messaging.send_direct_in(
            conn, int(business.user_id), int(person.user_id), uuid.uuid4().hex, type_, content, None, now
        )

    result, committed = await server.container.db.write("tests.business_says", unit)
    await messaging.publish_committed(committed)
    return str(result.message_id)


async def tap(server: LiveServer, person: User, business: User, message_id: str | None, **reply: Any) -> httpx.Response:
    body: dict[str, Any] = {"to": business.phone, "type": "reply", "reply": reply, "client_id": uuid.uuid4().hex}
    if message_id is not None:
        body["context"] = {"message_id": message_id}
    return await server.http.post(f"{API}/messages", headers=person.headers, json=body)


async def history(server: LiveServer, user: User, chat_id: str) -> list[dict[str, Any]]:
    """The chat's messages, oldest first."""
    response = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers)
    assert response.status_code == 200, response.text
    return sorted(response.json()["messages"], key=lambda m: int(m["id"]))


async def test_a_tapped_reply_button_is_stored_and_shown_to_both(server: LiveServer) -> None:
    shop, ada = await server.user("Parley Shop"), await server.user("Ada")
    asked = await business_says(server, shop, ada, "interactive", DELIVERY)

    response = await tap(server, ada, shop, asked, reply_type="button_reply", id="tomorrow", title="Tomorrow")
    assert response.status_code == 200, response.text
    sent = response.json()

    for reader in (ada, shop):
        question, answer = await history(server, reader, sent["chat_id"])
        assert question["id"] == asked
        assert question["business"] == {"interactive": DELIVERY.model_dump(exclude={"kind"})}
        assert question["text"] is None and question["media"] is None
        assert answer["id"] == sent["id"]
        assert answer["type"] == "reply"
        assert answer["context"] == {"message_id": asked}
        assert answer["business"] == {
            "reply": {"reply_type": "button_reply", "id": "tomorrow", "title": "Tomorrow", "description": None}
        }


async def test_a_list_row_keeps_the_rows_own_label(server: LiveServer) -> None:
    shop, ada = await server.user("Parley Shop"), await server.user("Ada")
    asked = await business_says(server, shop, ada, "interactive", SLOTS)

    # The label stored is the row's, whatever the client claimed.
    response = await tap(server, ada, shop, asked, reply_type="list_reply", id="m9", title="nine")
    assert response.status_code == 200, response.text
    [_, answer] = await history(server, shop, response.json()["chat_id"])
    assert answer["business"]["reply"] == {
        "reply_type": "list_reply",
        "id": "m9",
        "title": "9:00",
        "description": "Early bird",
    }


async def test_a_template_quick_reply_answers_with_its_payload(server: LiveServer) -> None:
    shop, ada = await server.user("Parley Shop"), await server.user("Ada")
    shipped = await business_says(server, shop, ada, "template", SHIPPED)

    response = await tap(server, ada, shop, shipped, reply_type="button", id="STOP", title="Stop updates")
    assert response.status_code == 200, response.text
    [template, answer] = await history(server, ada, response.json()["chat_id"])
    assert template["business"]["template"]["buttons"][1] == {
        "type": "URL",
        "text": "Track",
        "url": SHIPPED.buttons[1]["url"],
    }
    assert answer["business"]["reply"]["id"] == "STOP"

    # The chat list previews the tap like any last message.
    chats = (await server.http.get(f"{API}/chats", headers=ada.headers)).json()["chats"]
    assert chats[0]["last_message"]["business"]["reply"]["title"] == "Stop updates"


async def test_replies_that_match_no_button_are_refused_and_store_nothing(server: LiveServer) -> None:
    shop, ada = await server.user("Parley Shop"), await server.user("Ada")
    asked = await business_says(server, shop, ada, "interactive", DELIVERY)
    said = await server.send_text(shop, "Hello from the shop", to=ada)
    mine = await server.send_text(ada, "Hi", to=shop)

    refusals = [
        (asked, {"reply_type": "button_reply", "id": "yesterday", "title": "Yesterday"}),  # no such button
        (asked, {"reply_type": "list_reply", "id": "today", "title": "Today"}),  # a button is not a row
        (said["id"], {"reply_type": "button_reply", "id": "today", "title": "Today"}),  # a text has no buttons
        (mine["id"], {"reply_type": "button_reply", "id": "today", "title": "Today"}),  # not one's own message
    ]
    for message_id, reply in refusals:
        response = await tap(server, ada, shop, message_id, **reply)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_message"

    missing_context = await tap(server, ada, shop, None, reply_type="button_reply", id="today", title="Today")
    assert missing_context.status_code == 400, missing_context.text
    bad_kind = await tap(server, ada, shop, asked, reply_type="swipe", id="today", title="Today")
    assert bad_kind.status_code == 400, bad_kind.text

    assert [m["type"] for m in await history(server, ada, said["chat_id"])] == ["interactive", "text", "text"]


async def test_a_person_shares_a_location(server: LiveServer) -> None:
    ada, bob = await server.user("Ada"), await server.user("Bob")
    body = {
        "to": bob.phone,
        "type": "location",
        "location": {"latitude": 52.5163, "longitude": 13.3777, "name": "Brandenburg Gate", "address": "Pariser Platz"},
        "client_id": uuid.uuid4().hex,
    }
    response = await server.http.post(f"{API}/messages", headers=ada.headers, json=body)
    assert response.status_code == 200, response.text
    [shared] = await history(server, bob, response.json()["chat_id"])
    assert shared["type"] == "location"
    assert shared["business"] == {"location": body["location"]}

    off_the_map = {**body, "location": {"latitude": 91, "longitude": 0}, "client_id": uuid.uuid4().hex}
    response = await server.http.post(f"{API}/messages", headers=ada.headers, json=off_the_map)
    assert response.status_code == 400, response.text
