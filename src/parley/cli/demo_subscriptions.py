"""`parley demo`'s paid group: a coach selling a monthly place in her running group (docs/subscriptions.md)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from parley.container import Container
from parley.kit.errors import ConflictError
from parley.subscriptions.service import PlanIn, PriceIn

COACH_PHONE, COACH_NAME = "+5511900004242", "Coach Rita"


@dataclass(frozen=True)
class DemoPaidGroup:
    coach_phone: str
    coach_token: str
    group_id: str
    invite_url: str


async def seed_demo_paid_group(c: Container) -> DemoPaidGroup:
    """The coach, her group with a plan (R$ 49.90/month in Brazil, US$ 9.90 elsewhere) and an invite link; once."""
    session = await c.accounts.create_user_with_token(COACH_PHONE, COACH_NAME, device_name="demo")
    groups = [chat for chat in await c.messaging.chats(session.user_id) if chat["type"] == "group"]
    group_id = (
        str(groups[0]["id"])
        if groups
        else str((await c.messaging.create_group(session.user_id, "Morning Run Club", []))["id"])
    )
    plan = PlanIn(
        "Morning Run Club",
        "Weekly training plans, form checks and race-day tips",
        "monthly",
        [PriceIn("BR", "49.90", "BRL"), PriceIn("*", "9.90", "USD")],
    )
    with contextlib.suppress(ConflictError):  # seeded before
        await c.subscriptions.create_plan(session.user_id, "group", group_id, plan)
    _, url = await c.messaging.create_invite(session.user_id, group_id)
    return DemoPaidGroup(COACH_PHONE, session.token, group_id, url)
