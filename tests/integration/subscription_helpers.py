"""Paid groups and channel subscriptions through the client API: a coach's group with a plan, a person with a
funded wallet and a PIN, subscribing, and the renewal sweep run at the moment a test moves the clock to."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import LiveServer, User

API = "/client/v1"
DAY_S = 86_400
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
_NUMBERS = itertools.count(10_000)
PLAN = {
    "name": "Coaching circle",
    "description": "Weekly plans and answers",
    "billing": "monthly",
    "prices": [
        {"market": "BR", "amount": "49.90", "currency": "BRL"},
        {"market": "IN", "amount": "100.00", "currency": "INR"},
        {"market": "*", "amount": "10.00", "currency": "USD"},
    ],
}


async def brazilian(server: LiveServer, name: str) -> User:
    return await server.user(name, phone=f"+55119877{next(_NUMBERS):05d}")


async def indian(server: LiveServer, name: str) -> User:
    return await server.user(name, phone=f"+9198766{next(_NUMBERS):05d}")


async def verify_ledger(server: LiveServer) -> None:
    report = await server.container.ledger.verify()
    assert report.ok, [c.problems for c in report.checks if not c.ok]


async def balance(server: LiveServer, user: User, currency: str = "BRL") -> str:
    response = await server.http.get(f"{API}/wallet", headers=user.headers)
    assert response.status_code == 200, response.text
    return str(next(w["balance"] for w in response.json()["wallets"] if w["currency"] == currency))


async def funded(server: LiveServer, user: User, amount: str, currency: str = "BRL") -> None:
    """Top the wallet up by card (the sandbox) and set the payment PIN 1234 (once)."""
    topped = await server.http.post(
        f"{API}/wallet/topups",
        headers={**user.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"amount": amount, "currency": currency, "method": "card", "card": CARD},
    )
    assert topped.status_code == 200, topped.text
    if not (await server.http.get(f"{API}/wallet", headers=user.headers)).json()["pin_set"]:
        pinned = await server.http.put(f"{API}/wallet/pin", headers=user.headers, json={"pin": "1234"})
        assert pinned.status_code == 204, pinned.text


async def paid_group(server: LiveServer, coach: User, plan: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """A group of `coach` with a plan and an invite link: (group id, plan id, invite code)."""
    group = await server.http.post(
        f"{API}/groups", headers=coach.headers, json={"name": "Coach's circle", "members": []}
    )
    assert group.status_code == 200, group.text
    group_id = group.json()["id"]
    made = await server.http.post(f"{API}/groups/{group_id}/plan", headers=coach.headers, json=plan or PLAN)
    assert made.status_code == 200, made.text
    invite = await server.http.post(f"{API}/groups/{group_id}/invites", headers=coach.headers)
    assert invite.status_code == 200, invite.text
    return group_id, made.json()["id"], invite.json()["code"]


async def subscribe(server: LiveServer, user: User, plan_id: str, key: str | None = None) -> httpx.Response:
    return await server.http.post(
        f"{API}/plans/{plan_id}/subscribe",
        headers={**user.headers, "Idempotency-Key": key or uuid.uuid4().hex},
        json={"pin": "1234"},
    )


async def member_ids(server: LiveServer, admin: User, group_id: str) -> set[str]:
    group = await server.http.get(f"{API}/groups/{group_id}", headers=admin.headers)
    assert group.status_code == 200, group.text
    return {m["user_id"] for m in group.json()["members"]}


async def texts(server: LiveServer, user: User, chat_id: str) -> list[str]:
    response = await server.http.get(f"{API}/chats/{chat_id}/messages", headers=user.headers)
    assert response.status_code == 200, response.text
    found = sorted(response.json()["messages"], key=lambda m: int(m["id"]))  # oldest first
    return [m["text"]["body"] for m in found if m.get("type") == "text"]


async def direct_texts(server: LiveServer, user: User, peer: User) -> list[str]:
    """The text messages of `user`'s 1:1 chat with `peer` (none when they never talked)."""
    chats = (await server.http.get(f"{API}/chats", headers=user.headers)).json()["chats"]
    found = [c["id"] for c in chats if c["type"] == "direct" and (c.get("peer") or {}).get("user_id") == peer.user_id]
    return [] if not found else await texts(server, user, found[0])


async def renew_at(server: LiveServer, days: float) -> int:
    """Move the clock `days` on and run one pass of the renewal sweep."""
    server.clock.advance(seconds=days * DAY_S)
    return await server.container.subscriptions.renew_due()


async def subscription(server: LiveServer, user: User, sub_id: str) -> dict[str, Any]:
    mine = (await server.http.get(f"{API}/subscriptions", headers=user.headers)).json()["subscriptions"]
    return dict(next(s for s in mine if s["id"] == sub_id))


async def renew_just_after(server: LiveServer, moment_ms: int) -> int:
    """Move the clock to just past `moment_ms` (an anniversary, a grace's end) and run one pass of the sweep."""
    return await renew_at(server, (moment_ms - server.clock.now_ms()) / (DAY_S * 1000) + 0.001)


@dataclass(frozen=True)
class Subscribed:
    coach: User
    person: User
    group_id: str
    plan_id: str
    code: str  # the group's invite link code
    sub: dict[str, Any]  # the subscription as the subscribe call answered it


async def subscribed(server: LiveServer, name: str, wallet: str, plan: dict[str, Any] | None = None) -> Subscribed:
    """A coach's paid group and a Brazilian person with `wallet` BRL who subscribed to it."""
    coach, person = await brazilian(server, "Coach"), await brazilian(server, name)
    await funded(server, person, wallet)
    group_id, plan_id, code = await paid_group(server, coach, plan)
    answer = await subscribe(server, person, plan_id)
    assert answer.status_code == 200, answer.text
    return Subscribed(coach, person, group_id, plan_id, code, answer.json())


def prorated_brl(price: int, cut: int, days_left: int, days: int) -> tuple[int, int]:
    """What a pro-rata refund gives back in BRL micros, and the part of it that is the platform's cut."""
    back = price * days_left // (days * 10_000) * 10_000
    return back, cut * back // (price * 10_000) * 10_000
