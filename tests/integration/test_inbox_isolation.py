"""One business's inbox never reaches another's: every `/inbox/api` route of the app (found from the app's own
route table, so a new route is covered the day it is added) is called by business B's owner with business A's
ids, without a session, and without the CSRF header. And people's text comes back as data, never as markup."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parley.business import parse_wamid
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import Biz, create_business, person_writes, send
from tests.integration.inbox_helpers import Agent, agent
from tests.integration.test_graph_media import person_sends_media
from tests.integration.test_media import png
from tests.integration.test_merchant_payments import GOOD_CARD, brazil_order

pytestmark = pytest.mark.asyncio

PREFIX = "/inbox/api"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Which object a path parameter names; a route with a parameter missing here fails the matrix until it is added.
PARAM_SLOTS = {
    "conversation_id": "conversation",
    "label_id": "label",
    "reply_id": "reply",
    "agent_id": "agent",
    "contact_id": "contact",
    "number_id": "number",
    "code": "code",
    "media_id": "media",
    # The business console's objects (under /inbox/api/console).
    "template_id": "template",
    "token_id": "token",
    "payment_id": "payment",
    "event_id": "event",
    "order_id": "order",  # a paid order (the console's Payments page refunds it)
    "campaign_id": "campaign",  # an ad campaign (the console's Ads page pauses and resumes it)
}
# An id of the same shape that names nothing, to compare A's ids against: the answers must not differ.
NOBODY = {slot: "999999999999999999" for slot in PARAM_SLOTS.values()} | {"code": "zzzzzzzzzz"}
# A body that would be valid for the caller's own object; "{slot}" is filled like a path parameter.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/me"): {"availability": "online"},
    ("POST", "/agents"): {"email": "new.agent@b.example", "name": "New", "role": "agent"},
    ("PATCH", "/agents/{agent_id}"): {"name": "Renamed"},
    ("POST", "/conversations/{conversation_id}/messages"): {"text": "hello"},
    ("POST", "/conversations/{conversation_id}/preview"): {"text": "hello"},
    ("POST", "/conversations/{conversation_id}/notes"): {"body": "a note"},
    ("POST", "/conversations/{conversation_id}/assign"): {"agent_id": "{agent}"},
    ("POST", "/conversations/{conversation_id}/status"): {"status": "resolved"},
    ("POST", "/conversations/{conversation_id}/labels"): {"label_id": "{label}"},
    ("POST", "/labels"): {"name": "B's new label", "colour": "#123456"},
    ("PATCH", "/labels/{label_id}"): {"name": "Renamed"},
    ("POST", "/quick-replies"): {"shortcut": "bnew", "body": "B's reply"},
    ("PATCH", "/quick-replies/{reply_id}"): {"shortcut": "bchanged", "body": "Changed"},
    ("PUT", "/settings/hours"): {"hours": {}},
    ("PUT", "/numbers/{number_id}/routing"): {"policy": "manual"},
    ("PATCH", "/contacts/{contact_id}"): {"name": "Renamed"},
    ("POST", "/contacts/{contact_id}/labels"): {"label_id": "{label}"},
    ("POST", "/links"): {"number_id": "{number}", "prefilled_message": "hello"},
    ("PATCH", "/profile"): {"about": "Taken over"},
    ("POST", "/console/templates"): {
        "name": "b_new_template",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Your order is ready."}],
    },
    ("PATCH", "/console/templates/{template_id}"): {
        "components": [{"type": "BODY", "text": "Taken over, your order is ready."}]
    },
    ("POST", "/console/developers/tokens"): {"name": "B's new token"},
    ("PUT", "/console/developers/webhook"): {"callback_url": "https://b.example/hook", "verify_token": "b"},
    ("POST", "/console/billing/payments"): {"amount": "25.00"},
    ("POST", "/console/payments/orders/{order_id}/refunds"): {"amount": "1.00"},
    ("POST", "/console/ads/campaigns"): {
        "name": "B's campaign",
        "daily_budget": "20.00",
        "headline": "B's sale",
        "body": "Ask us anything.",
    },
    ("POST", "/console/ads/campaigns/{campaign_id}/status"): {"status": "PAUSED"},
    ("POST", "/console/affiliates/program"): {"rate_percent": "5", "terms": "B's terms"},  # affiliates
    ("POST", "/console/billing/payments/{payment_id}/confirm"): {
        "card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
    },
}
# Query strings a route without path parameters is also called with: A's ids as filters must find nothing.
LIST_QUERIES: list[dict[str, str]] = [
    {},
    {"status": "all", "assignee": "all"},
    {"label": "{label}", "number": "{number}", "agent": "{agent}"},
]


@dataclass
class Tenant:
    biz: Biz
    owner: Agent
    ids: dict[str, str]
    secrets: set[str] = field(default_factory=set)  # ids and texts no other business may ever see


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under /inbox/api, e.g. /conversations/{conversation_id}

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def slots(self) -> list[str]:
        return [PARAM_SLOTS[p] for p in self.params] + sorted(set(_placeholders(BODIES.get((self.method, self.path)))))


def inbox_endpoints(server: LiveServer) -> list[Endpoint]:
    found = []
    for route in iter_route_contexts(server.app.routes):
        path = route.path or ""
        if not path.startswith(PREFIX + "/") or not route.methods:  # the stream has its own test below
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            found.append(Endpoint(method, path.removeprefix(PREFIX)))
    assert len(found) > 30, found  # the table was read, not silently empty
    return found


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return re.findall(r"^{(\w+)}$", value)
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return []


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"{(\w+)}", value)
        return ids[match.group(1)] if match else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def call(http: httpx.AsyncClient, endpoint: Endpoint, ids: dict[str, str], **kwargs: Any) -> httpx.Response:
    for name in endpoint.params:
        if name not in PARAM_SLOTS:
            pytest.fail(f"{endpoint.method} {endpoint.path}: tell PARAM_SLOTS which object {{{name}}} names")
    url = PREFIX + endpoint.path.format(**{p: ids[PARAM_SLOTS[p]] for p in endpoint.params})
    body = _fill(BODIES.get((endpoint.method, endpoint.path), {}), ids)
    json_body = body if endpoint.method in WRITE_METHODS else None
    return await http.request(endpoint.method, url, json=json_body, **kwargs)


async def paid_order(server: LiveServer, biz: Biz, person: User, reference_id: str) -> str:
    """An order_details the person paid by card: what the console's Payments page lists and refunds."""
    expires = server.clock.now_ms() // 1000 + 3600
    sent = await send(server, biz, brazil_order(person, reference_id, expires))
    assert sent.status_code == 200, sent.text
    message_id = parse_wamid(sent.json()["messages"][0]["id"])
    order = await server.http.get(f"/client/v1/messages/{message_id}/order", headers=person.headers)
    order_id = str(order.json()["id"])
    paid = await server.http.post(
        f"/client/v1/orders/{order_id}/pay",
        headers={**person.headers, "Idempotency-Key": f"pay-{reference_id}"},
        json={"method": "card", "card": GOOD_CARD},
    )
    assert paid.status_code == 200, paid.text
    return order_id


async def tenant(server: LiveServer, tag: str) -> Tenant:
    """A business with one of everything the inbox API names by id, and secret texts in each."""
    biz = await create_business(server, name=f"Shop {tag}")
    owner = await agent(server, biz, f"Owner {tag}", role="owner")
    aide = await agent(server, biz, f"Aide {tag}")
    person = await server.user(f"Customer {tag} Secretname")
    await person_writes(server, person, biz, f"secret message of {tag}")
    media_id = await person_sends_media(server, person, biz, png(2, 2), "image/png")  # a photo in the chat
    [conversation] = await owner.conversations()
    label = await owner.post("/labels", {"name": f"Secret label {tag}", "colour": "#abcdef"})
    reply = await owner.post("/quick-replies", {"shortcut": f"secret{tag.lower()}", "body": f"Secret reply {tag}"})
    assert label.status_code == reply.status_code == 201, (label.text, reply.text)
    label_id, reply_id = label.json()["id"], reply.json()["id"]
    assert (await owner.post(f"/conversations/{conversation['id']}/labels", {"label_id": label_id})).status_code == 200
    assert (await owner.post(f"/conversations/{conversation['id']}/notes", {"body": f"Secret note {tag}"})).is_success
    contact_id = conversation["contact"]["id"]
    assert (await owner.patch(f"/contacts/{contact_id}", {"notes": f"Secret contact note {tag}"})).is_success
    assert (await owner.post(f"/contacts/{contact_id}/labels", {"label_id": label_id})).is_success
    link = await owner.post("/links", {"number_id": biz.phone_number_id, "prefilled_message": f"Secret hello {tag}"})
    assert link.status_code == 201, link.text
    profile = await owner.http.patch(
        f"{PREFIX}/profile",
        params={"number": biz.phone_number_id},
        json={"about": f"Secret about {tag}"},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert profile.is_success, profile.text
    # The console's objects: a template, an API token, a card payment and a webhook event (the person's message).
    template = await owner.post(
        "/console/templates",
        {
            "name": f"secret_template_{tag.lower()}",
            "language": "en_US",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": f"Secret template body {tag}, your order is ready."}],
        },
    )
    token = await owner.post("/console/developers/tokens", {"name": f"Secret token {tag}"})
    payment = await owner.post("/console/billing/payments", {"amount": "25.00"})
    assert template.status_code == token.status_code == 201 and payment.is_success, (template.text, payment.text)
    [event, *_] = (await owner.get("/console/developers/deliveries")).json()["data"]
    order_id = await paid_order(server, biz, person, f"ISO-{tag}")
    campaign = await owner.post(
        "/console/ads/campaigns",
        {"name": f"Secret campaign {tag}", "daily_budget": "20.00", "headline": "Linen sale", "body": "Ask us."},
    )
    assert campaign.status_code == 201, campaign.text
    program = await owner.post("/console/affiliates/program", {"rate_percent": "5", "terms": f"Secret terms {tag}"})
    assert program.is_success, program.text  # affiliates
    ids = {
        "conversation": conversation["id"],
        "label": label_id,
        "reply": reply_id,
        "agent": aide.id,
        "contact": contact_id,
        "number": biz.phone_number_id,
        "code": link.json()["code"],
        "media": media_id,
        "template": template.json()["id"],
        "token": token.json()["token"]["id"],
        "payment": payment.json()["id"],
        "event": event["event_id"],
        "order": order_id,
        "campaign": campaign.json()["campaign_id"],
    }
    secrets = set(ids.values()) | {owner.id, conversation["chat_id"], conversation["contact"]["person_id"]}
    secrets |= {f"Customer {tag} Secretname", f"secret message of {tag}", f"Secret label {tag}", f"Secret reply {tag}"}
    secrets |= {f"Secret note {tag}", f"Secret contact note {tag}", f"Secret hello {tag}", f"Secret about {tag}"}
    secrets |= {person.phone, person.phone.lstrip("+"), biz.waba_id}
    secrets |= {f"secret_template_{tag.lower()}", f"Secret template body {tag}", f"Secret token {tag}"}
    secrets |= {token.json()["access_token"], f"Secret campaign {tag}"}
    secrets |= {f"Secret terms {tag}"}  # affiliates
    return Tenant(biz, owner, ids, secrets)


def leaked(response: httpx.Response, victim: Tenant) -> list[str]:
    text = response.text
    return sorted(secret for secret in victim.secrets if secret in text)


def variants(endpoint: Endpoint, a: Tenant, b: Tenant) -> list[tuple[dict[str, str], str]]:
    """All of A's ids; and, where a call names several objects, each one of A's among B's own."""
    slots = endpoint.slots()
    out = [({**b.ids, **{s: a.ids[s] for s in slots}}, "all")]
    if len(slots) > 1:
        out += [({**b.ids, s: a.ids[s]}, s) for s in slots]
    return out


async def test_business_b_reaches_none_of_business_a_s_objects_through_any_inbox_route(server: LiveServer) -> None:
    a = await tenant(server, "A")
    b = await tenant(server, "B")
    problems: list[str] = []
    checked = 0
    for endpoint in inbox_endpoints(server):
        csrf = {"X-CSRF-Token": b.owner.csrf}
        if not endpoint.params:
            # Lists and the caller's own settings: any answer, as long as it holds nothing of A's.
            for query in LIST_QUERIES if endpoint.method == "GET" else [{"number": "{number}"}]:
                response = await call(b.owner.http, endpoint, a.ids, params=_fill(query, a.ids), headers=csrf)
                checked += 1
                if leaked(response, a):
                    problems.append(f"{endpoint} {query}: {response.status_code} shows {leaked(response, a)}")
            continue
        for ids, which in variants(endpoint, a, b):
            response = await call(b.owner.http, endpoint, ids, headers=csrf)
            foreign = {s: NOBODY[s] if ids[s] == a.ids[s] else ids[s] for s in ids}
            baseline = await call(b.owner.http, endpoint, foreign, headers=csrf)
            checked += 1
            where = f"{endpoint.method} {endpoint.path} (A's {which})"
            if leaked(response, a):
                problems.append(f"{where}: {response.status_code} shows {leaked(response, a)}")
            names_a_path_object = which == "all" or which in (PARAM_SLOTS[p] for p in endpoint.params)
            if names_a_path_object and (response.status_code != 404 or response.json()["error"]["code"] != "not_found"):
                problems.append(f"{where}: {response.status_code} {response.text[:200]}, not 404")
            if response.status_code != baseline.status_code:  # else the answer tells that A's object exists
                problems.append(f"{where}: {response.status_code} but {baseline.status_code} for an unknown id")
    assert not problems, "\n".join(problems)
    assert checked > 60

    # And A's inbox is as A left it.
    owner = a.owner
    conversation = (await owner.get(f"/conversations/{a.ids['conversation']}")).json()
    assert conversation["status"] == "open" and [x["id"] for x in conversation["labels"]] == [a.ids["label"]]
    assert [
        n["body"] for n in (await owner.get(f"/conversations/{a.ids['conversation']}/messages")).json()["notes"]
    ] == ["Secret note A"]
    contact = (await owner.get(f"/contacts/{a.ids['contact']}")).json()
    assert contact["notes"] == "Secret contact note A" and [x["id"] for x in contact["labels"]] == [a.ids["label"]]
    assert contact["name"] == "Customer A Secretname"
    labels = {x["id"]: x["name"] for x in (await owner.get("/labels")).json()["data"]}
    assert labels[a.ids["label"]] == "Secret label A"
    replies = {x["id"]: x["body"] for x in (await owner.get("/quick-replies")).json()["data"]}
    assert replies[a.ids["reply"]] == "Secret reply A"
    agents = {x["id"]: x for x in (await owner.get("/agents")).json()["data"]}
    assert agents[a.ids["agent"]]["availability"] != "disabled" and agents[a.ids["agent"]]["name"] == "Aide A"
    assert [x["code"] for x in (await owner.get("/links")).json()["data"]] == [a.ids["code"]]
    profile = (await owner.get("/profile", number=a.ids["number"])).json()
    assert "Secret about A" in str(profile)


async def test_without_a_session_every_route_is_401_and_a_write_without_the_csrf_header_is_403(
    server: LiveServer,
) -> None:
    b = await tenant(server, "B")
    endpoints = inbox_endpoints(server)
    anonymous = httpx.AsyncClient(base_url=server.base_url, timeout=20)
    problems: list[str] = []
    try:
        for endpoint in endpoints:
            response = await call(anonymous, endpoint, b.ids, headers={"X-CSRF-Token": b.owner.csrf})
            if response.status_code != 401 or response.json()["error"]["code"] != "unauthenticated":
                problems.append(f"no session: {endpoint}: {response.status_code} {response.text[:200]}")
    finally:
        await anonymous.aclose()
    for endpoint in (e for e in endpoints if e.method in WRITE_METHODS):
        # B's own objects: without the header even a write the owner may make is refused, before it happens.
        for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
            response = await call(b.owner.http, endpoint, b.ids, headers=headers)
            if response.status_code != 403 or response.json()["error"]["code"] != "csrf":
                problems.append(f"csrf {headers}: {endpoint}: {response.status_code} {response.text[:200]}")
    assert not problems, "\n".join(problems)
    # Nothing the refused writes named changed.
    conversation = (await b.owner.get(f"/conversations/{b.ids['conversation']}")).json()
    assert conversation["status"] == "open" and len(conversation["labels"]) == 1
    assert len((await b.owner.get("/links")).json()["data"]) == 1


async def test_markup_in_a_person_s_name_and_message_is_returned_as_text(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana", role="owner")
    name, text = "<img src=x onerror=alert(1)>", "<script>alert(1)</script>"
    person = await server.user(name)
    await person_writes(server, person, biz, text)

    listed = await ana.get("/conversations")
    [row] = listed.json()["data"]
    assert row["contact"]["name"] == name and row["last_message"]["text"] == text
    history = await ana.get(f"/conversations/{row['id']}/messages")
    assert [m["text"]["body"] for m in history.json()["data"]] == [text]
    contact = await ana.get(f"/contacts/{row['contact']['id']}")
    assert contact.json()["profile_name"] == name
    note = await ana.post(f"/conversations/{row['id']}/notes", {"body": text})
    assert note.json()["body"] == text
    for response in (listed, history, contact, note):
        assert response.headers["content-type"].startswith("application/json")
        assert "&lt;" not in response.text and "\\u003c" not in response.text  # stored and sent as typed

    page = await ana.http.get("/inbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    directives = {}
    for part in page.headers["content-security-policy"].split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources
    scripts = directives.get("script-src", directives.get("default-src", ""))
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "'unsafe-inline'" not in directives.get("style-src", "")
    assert page.headers.get("x-content-type-options") == "nosniff"
    assert name not in page.text and "alert(1)" not in page.text  # the shell carries no data; the API does


async def refused(url: str, headers: dict[str, str]) -> int:
    """How the stream said no: the handshake's HTTP status, or the close code right after it."""
    try:
        async with connect(url, additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    except InvalidStatus as error:
        return error.response.status_code
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_the_live_stream_needs_a_session_and_carries_only_the_agent_s_own_business(server: LiveServer) -> None:
    a = await tenant(server, "A")
    b = await tenant(server, "B")
    url = server.base_url.replace("http://", "ws://") + f"{PREFIX}/stream"
    for headers in ({}, {"Cookie": "parley_inbox=forged"}):
        assert await refused(url, headers) in (403, 4401)
    cookie = {"Cookie": f"parley_inbox={b.owner.http.cookies['parley_inbox']}"}
    # Another site's page must not ride the agent's cookie.
    assert await refused(url, {**cookie, "Origin": "http://evil.example"}) in (403, 4403)
    async with connect(url, additional_headers=cookie) as ws:
        # A's activity is published first; B's stream must skip it and show B's own change first.
        await a.owner.post(f"/conversations/{a.ids['conversation']}/status", {"status": "pending"})
        await b.owner.post(f"/conversations/{b.ids['conversation']}/status", {"status": "pending"})
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert event == {"type": "conversation", "id": b.ids["conversation"]}


async def test_every_route_with_a_path_parameter_is_known_to_the_matrix() -> None:
    """Fails early, with a clear message, when a new route names an object the matrix cannot fill."""
    from parley.app import create_app

    app = create_app()
    names = {
        name
        for route in iter_route_contexts(app.routes)
        if (route.path or "").startswith(PREFIX + "/")
        for name in re.findall(r"{(\w+)}", route.path or "")
    }
    assert names <= set(PARAM_SLOTS), names - set(PARAM_SLOTS)
