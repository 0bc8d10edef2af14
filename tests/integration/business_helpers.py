"""Shared steps of the business API tests: a business with a token, people writing to it, its webhooks."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from parley import webhooks
from tests.conftest import LiveServer, User

V = "/v23.0"


@dataclass
class Biz:
    waba_id: str
    phone_number_id: str
    token: str
    app_id: str
    phone: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_business(server: LiveServer, name: str = "Acme", phone: str | None = None) -> Biz:
    phone = phone or server.next_phone()
    created = await server.container.business.create_business(name, phone, app_secret="s3cret")
    return Biz(
        str(created.waba_id),
        str(created.phone_number_id),
        created.access_token,
        str(created.app_id),
        phone,
        created.user_id,
    )


async def send(server: LiveServer, biz: Biz, body: dict[str, Any], **headers: str) -> Any:
    return await server.http.post(
        f"{V}/{biz.phone_number_id}/messages",
        headers={**biz.headers, **headers},
        json={"messaging_product": "whatsapp", **body},
    )


async def text_to(server: LiveServer, biz: Biz, person: User, body: str = "hello") -> Any:
    return await send(server, biz, {"to": person.phone, "type": "text", "text": {"body": body}})


async def person_writes(server: LiveServer, person: User, biz: Biz, body: str = "Hi!", **extra: Any) -> str:
    response = await server.http.post(
        "/client/v1/messages",
        headers=person.headers,
        json={"to": biz.phone, "type": "text", "text": {"body": body}, "client_id": uuid.uuid4().hex, **extra},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def events(server: LiveServer, biz: Biz, field: str | None = "messages") -> list[dict[str, Any]]:
    """The webhook values the business has been sent (the outbox), oldest first."""
    rows = await server.container.db.read(lambda c: webhooks.list_events(c, int(biz.waba_id), limit=10_000))
    out = []
    for row in rows:
        value = row.value if isinstance(row.value, dict) else json.loads(row.value)
        if field is None or row.field == field:
            out.append(value if field is not None else {"field": row.field, "value": value})
    return out


async def statuses(server: LiveServer, biz: Biz, wamid: str) -> list[dict[str, Any]]:
    return [v["statuses"][0] for v in await events(server, biz) if "statuses" in v and v["statuses"][0]["id"] == wamid]


async def inbound(server: LiveServer, biz: Biz) -> list[dict[str, Any]]:
    return [v for v in await events(server, biz) if "messages" in v]


async def subscribe_app(server: LiveServer, biz: Biz, callback_url: str, verify_token: str, fields: list[str]) -> None:
    """The business's app subscribed to `fields` through the Graph API, with `callback_url` as its webhook."""
    subscribed = await server.http.post(
        f"{V}/{biz.app_id}/subscriptions",
        headers=biz.headers,
        json={
            "object": "whatsapp_business_account",
            "callback_url": callback_url,
            "verify_token": verify_token,
            "fields": fields,
        },
    )
    assert subscribed.status_code == 200, subscribed.text


async def ack_all(server: LiveServer, person: User) -> None:
    """The person's device received everything (as its WebSocket would acknowledge)."""
    principal = await server.container.accounts.authenticate(person.token)
    pending = await server.container.messaging.pending_inbox(principal.user_id, 0, 1000)
    if pending:
        await server.container.messaging.acknowledge(principal.user_id, principal.device_id, int(pending[-1]["id"]))


async def approved_template(
    server: LiveServer, biz: Biz, name: str = "order_update", category: str = "UTILITY", body: str | None = None
) -> dict[str, Any]:
    """A template created through the API and approved by the (asynchronous) review."""
    text = body or "Your order {{1}} has shipped and will arrive on {{2}}, thank you."
    created = await server.http.post(
        f"{V}/{biz.waba_id}/message_templates",
        headers=biz.headers,
        json={
            "name": name,
            "language": "en_US",
            "category": category,
            "components": [{"type": "BODY", "text": text, "example": {"body_text": [["A-1", "Monday"]]}}],
        },
    )
    assert created.status_code == 200, created.text
    server.clock.advance(seconds=5)
    await server.container.templates.review_due_now()
    template = await server.http.get(f"{V}/{created.json()['id']}", headers=biz.headers)
    assert template.json()["status"] == "APPROVED", template.json()
    return dict(template.json())


def template_body(person: User, name: str = "order_update") -> dict[str, Any]:
    return {
        "to": person.phone,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A-1"}, {"type": "text", "text": "Monday"}]}
            ],
        },
    }


async def approved_auth_template(server: LiveServer, biz: Biz) -> None:
    """An AUTHENTICATION template `login_code` (copy-code button), approved."""
    created = await server.http.post(
        f"{V}/{biz.waba_id}/message_templates",
        headers=biz.headers,
        json={
            "name": "login_code",
            "language": "en_US",
            "category": "AUTHENTICATION",
            "components": [
                {"type": "BODY", "add_security_recommendation": True},
                {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
            ],
        },
    )
    assert created.status_code == 200, created.text
    server.clock.advance(seconds=5)
    await server.container.templates.review_due_now()


def auth_template_body(person: User) -> dict[str, Any]:
    return {
        "to": person.phone,
        "type": "template",
        "template": {
            "name": "login_code",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]},
            ],
        },
    }
