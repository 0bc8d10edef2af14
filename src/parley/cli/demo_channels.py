"""`parley demo`'s channels: one run by a demo person, one by the demo business, each with a few posts."""

from __future__ import annotations

import contextlib

from parley.channels.schemas import ChannelIn, PollIn, PostIn
from parley.container import Container
from parley.kit.errors import AppError


async def seed_demo_channels(c: Container, people_phones: list[str], phone_number_id: str) -> str:
    """Create the demo channels once (a second run finds them): the first demo person's, followed by the others,
    and the demo business's. Answer the Channels page's address."""
    base = c.settings.public_url.rstrip("/")
    people = [(await c.accounts.find_by_phone(phone)).id for phone in people_phones]
    creator_id, follower_ids = people[0], people[1:]
    number = await c.business_numbers.get(int(phone_number_id))
    business_user_id = number.user_id if number is not None else creator_id
    mine = await c.channels.administered(creator_id)
    if mine:
        return f"{base}/channels"
    news = await c.channels.create(
        creator_id,
        ChannelIn(name="Parley Daily", category="news", country="US", description="What's new on Parley, daily."),
    )
    await c.channels.verify(news["id"])
    posts = [
        PostIn(type="text", text="Welcome to Parley Daily! Follow for updates.", client_id="demo-1"),
        PostIn(
            type="poll",
            poll=PollIn(question="Which feature next?", options=["Voice notes", "Stickers", "Dark mode"]),
            client_id="demo-2",
        ),
        PostIn(type="text", text="Tip: react with an emoji, only the counts are shown.", client_id="demo-3"),
    ]
    for post in posts:
        await c.channels.post(creator_id, news["id"], post)
    coffee = await c.channels.create(
        business_user_id,
        ChannelIn(name="Parley Coffee deals", category="business", country="US", description="Offers of the week."),
    )
    await c.channels.post(
        business_user_id, coffee["id"], PostIn(type="text", text="Two lattes for one, all week ☕", client_id="demo-1")
    )
    for follower in follower_ids:
        with contextlib.suppress(AppError):  # a person who cannot follow leaves the demo as it is
            await c.channels.follow(follower, news["id"])
    return f"{base}/channels"
