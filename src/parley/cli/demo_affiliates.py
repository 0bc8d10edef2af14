"""The affiliate demo `parley demo` seeds: Parley Coffee runs a 5 % program and a demo person shares its shop."""

from __future__ import annotations

from parley.affiliates import PERSON
from parley.container import Container


async def seed_demo_affiliates(c: Container, waba_id: int, affiliate_user_id: int) -> str:
    """The program (5 %, 7-day window, 14-day hold; set again on every run) and the affiliate's link, its URL."""
    await c.affiliates.set_program(
        waba_id,
        {"rate_bp": 500, "window_days": 7, "hold_days": 14, "terms": "5 % of every order paid with Parley Pay."},
    )
    link = await c.affiliates.create_link(PERSON, affiliate_user_id, str(waba_id), None)
    return str(link["url"])
