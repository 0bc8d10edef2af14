"""Channel posts reach followers' open streams live, with no row per follower; subscriber-only posts stay locked
for non-subscribers; followers and admins never see each other's phone numbers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from parley.channels.models import channel_follows, channel_posts, channels
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import V, create_business
from tests.integration.channel_helpers import API, follow, make_channel, phones_in, post_text, posts
from tests.integration.test_receipts_and_stream import open_stream


class PaidChannels:
    """A stand-in for the subscriptions package: these channels are paid, these people subscribed."""

    def __init__(self) -> None:
        self.paid: set[int] = set()
        self.subscribers: set[int] = set()

    def paid_channels_in(self, conn: Connection, channel_ids: Sequence[int]) -> set[int]:
        return {c for c in channel_ids if c in self.paid}

    def subscribed_channels_in(self, conn: Connection, user_id: int, channel_ids: Sequence[int], now: int) -> set[int]:
        return {c for c in channel_ids if c in self.paid and user_id in self.subscribers}


def with_paid_channels(server: LiveServer) -> PaidChannels:
    seam = PaidChannels()
    server.container.channels.use_subscriptions(seam)
    server.container.channel_fanout.use_subscriptions(seam)
    return seam


async def test_a_post_reaches_open_streams_of_followers_only(server: LiveServer) -> None:
    owner, ana, ben = await server.user(), await server.user(), await server.user()
    channel = await make_channel(server, owner)
    await follow(server, ana, channel["id"])
    async with open_stream(server, ana) as ana_stream, open_stream(server, ben) as ben_stream:
        posted = (await post_text(server, owner, channel["id"], "breaking")).json()
        event = await ana_stream.next("channel_post")
        assert event["channel_id"] == channel["id"]
        assert (event["post"]["id"], event["post"]["text"], event["post"]["seq"]) == (posted["id"], "breaking", 1)
        # Ben follows while his stream is open: the next post reaches him too, without reconnecting.
        await follow(server, ben, channel["id"])
        await post_text(server, owner, channel["id"], "second")
        assert (await ben_stream.next("channel_post"))["post"]["text"] == "second"
        assert (await ana_stream.next("channel_post"))["post"]["text"] == "second"
        await server.http.delete(f"{API}/{channel['id']}/follow", headers=ben.headers)
        await post_text(server, owner, channel["id"], "third")
        assert (await ana_stream.next("channel_post"))["post"]["text"] == "third"
        await ben_stream.sync()
        assert ben_stream.held("channel_post") == []


async def test_muted_followers_still_hear_posts_and_reactions_update_live(server: LiveServer) -> None:
    owner, ana = await server.user(), await server.user()
    channel = await make_channel(server, owner)
    await follow(server, ana, channel["id"])
    await server.http.put(f"{API}/{channel['id']}/mute", headers=ana.headers, json={"muted": True})
    async with open_stream(server, ana) as stream, open_stream(server, owner) as owner_stream:
        post_id = (await post_text(server, owner, channel["id"], "quiet")).json()["id"]
        assert (await stream.next("channel_post"))["post"]["text"] == "quiet"
        assert (await owner_stream.next("channel_post"))["post"]["id"] == post_id  # admins hear their channel
        await server.http.put(
            f"{API}/{channel['id']}/posts/{post_id}/reaction", headers=ana.headers, json={"emoji": "👍"}
        )
        counts = await owner_stream.next("channel_reactions")
        assert counts == {
            "type": "channel_reactions",
            "channel_id": channel["id"],
            "post_id": post_id,
            "reactions": {"👍": 1},
        }


async def test_a_post_writes_a_constant_number_of_rows(server: LiveServer) -> None:
    owner = await server.user()
    channel = await make_channel(server, owner)
    people = [await server.user() for _ in range(20)]
    for person in people:
        await follow(server, person, channel["id"])

    def counts(conn: Connection) -> tuple[int, int]:
        posts_n = conn.execute(select(func.count()).select_from(channel_posts)).scalar_one()
        follows_n = conn.execute(select(func.count()).select_from(channel_follows)).scalar_one()
        return int(posts_n), int(follows_n)

    before = await server.container.db.read(counts)
    async with open_stream(server, people[0]) as stream:
        await post_text(server, owner, channel["id"], "one row")
        await stream.next("channel_post")
    after = await server.container.db.read(counts)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 0)
    last_seq = await server.container.db.read(
        lambda conn: conn.execute(select(channels.c.last_seq).where(channels.c.id == int(channel["id"]))).scalar_one()
    )
    assert last_seq == 1


async def test_subscriber_only_posts_are_locked_for_others(server: LiveServer) -> None:
    seam = with_paid_channels(server)
    owner, fan, subscriber = await server.user(), await server.user(), await server.user()
    channel = await make_channel(server, owner)
    seam.paid.add(int(channel["id"]))
    seam.subscribers.add(int(subscriber.user_id))
    for person in (fan, subscriber):
        await follow(server, person, channel["id"])
    card = (await server.http.get(f"{API}/directory", headers=fan.headers)).json()["channels"][0]
    assert card["paid"] is True  # the diamond
    async with open_stream(server, fan) as fan_stream, open_stream(server, subscriber) as sub_stream:
        secret = await post_text(server, owner, channel["id"], "members only", exclusive=True)
        assert secret.status_code == 200, secret.text
        stub = (await fan_stream.next("channel_post"))["post"]
        whole = (await sub_stream.next("channel_post"))["post"]
    assert stub["locked"] is True and "text" not in stub and "members only" not in json.dumps(stub)
    assert whole["text"] == "members only" and whole["locked"] is False
    fan_view = (await posts(server, fan, channel["id"]))["posts"][0]
    assert fan_view["locked"] is True and "text" not in fan_view
    assert (await posts(server, subscriber, channel["id"]))["posts"][0]["text"] == "members only"
    forward = await server.http.post(
        f"{API}/{channel['id']}/posts/{secret.json()['id']}/forward",
        headers=fan.headers,
        json={"to": owner.phone, "client_id": "x1"},
    )
    assert forward.status_code == 404


async def test_no_phone_number_reaches_followers_or_admins(server: LiveServer) -> None:
    owner, admin = await server.user("Owner Olga"), await server.user("Admin Abe")
    fans = [await server.user(f"Fan {i}") for i in range(2)]
    channel = await make_channel(server, owner)
    cid = channel["id"]
    await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": admin.phone})
    await server.http.post(f"{API}/{cid}/admins/accept", headers=admin.headers)
    for fan in fans:
        await follow(server, fan, cid)
    post_id = (await post_text(server, admin, cid, "hello fans")).json()["id"]
    await server.http.put(f"{API}/{cid}/posts/{post_id}/reaction", headers=fans[0].headers, json={"emoji": "👍"})
    everyone: list[User] = [owner, admin, *fans]
    seen: dict[str, str] = {}

    async def collect(who: User, label: str) -> None:
        texts = []
        async with open_stream(server, who) as stream:
            await post_text(server, owner, cid, f"live for {label}")
            texts.append(json.dumps(await stream.next("channel_post")))
        for path in (
            f"{API}/{cid}",
            f"{API}/{cid}/posts",
            f"{API}/followed",
            f"{API}/mine",
            f"{API}/directory",
            f"{API}/by-code/{channel['invite_code']}",
            f"{API}/{cid}/admins",
        ):
            response = await server.http.get(path, headers=who.headers)
            texts.append(response.text)
        seen[label] = "\n".join(texts)

    for who, label in [(fans[0], "fan0"), (fans[1], "fan1"), (admin, "admin"), (owner, "owner")]:
        await collect(who, label)
    for label in ("fan0", "fan1", "admin", "owner"):
        me = {"fan0": fans[0], "fan1": fans[1], "admin": admin, "owner": owner}[label]
        others = [p for p in everyone if p is not me]
        assert phones_in(seen[label], *others) == [], label
    # Followers are never named to anyone; admins see each other's names only in the admin list.
    for label, text in seen.items():
        assert [name for fan, name in (("fan0", "Fan 0"), ("fan1", "Fan 1")) if fan != label and name in text] == []
    assert "Owner Olga" not in seen["fan0"] and "Admin Abe" not in seen["fan1"]
    assert "Owner Olga" in seen["admin"] and "Admin Abe" in seen["owner"]


async def test_business_runs_a_channel_through_the_business_api(server: LiveServer) -> None:
    biz = await create_business(server, "Acme News")
    other = await create_business(server, "Other")
    reader = await server.user()
    created = await server.http.post(
        f"{V}/{biz.waba_id}/channels",
        headers=biz.headers,
        json={"name": "Acme Deals", "category": "business", "country": "US", "description": "Offers"},
    )
    assert created.status_code == 200, created.text
    cid = created.json()["id"]
    assert created.json()["invite_link"].split("/c/")[1]
    foreign = await server.http.post(
        f"{V}/{biz.waba_id}/channels", headers=other.headers, json={"name": "x", "category": "news", "country": "US"}
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == 200
    bad = await server.http.post(f"{V}/{biz.waba_id}/channels", headers=biz.headers, json={"name": "", "country": "US"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
    await follow(server, reader, cid)
    async with open_stream(server, reader) as stream:
        posted = await server.http.post(
            f"{V}/{cid}/posts", headers=biz.headers, json={"type": "text", "text": "50% off today"}
        )
        assert posted.status_code == 200, posted.text
        assert (await stream.next("channel_post"))["post"]["text"] == "50% off today"
    listed = await server.http.get(f"{V}/{biz.waba_id}/channels", headers=biz.headers)
    assert [c["name"] for c in listed.json()["data"]] == ["Acme Deals"]
    fetched = await server.http.get(f"{V}/{cid}", headers=biz.headers)
    assert fetched.status_code == 200 and fetched.json()["follower_count"] == 1
    for response in (
        await server.http.get(f"{V}/{cid}", headers=other.headers),
        await server.http.post(f"{V}/{cid}/posts", headers=other.headers, json={"text": "x"}),
    ):  # another business's channel does not exist for it (Meta's unsupported request, code 100 subcode 33)
        assert (response.status_code, response.json()["error"]["error_subcode"]) == (400, 33)
    page = await server.http.get(f"{V}/{cid}/posts", headers=biz.headers)
    assert [p["text"] for p in page.json()["data"]] == ["50% off today"]
    seen_by_reader = (await server.http.get(f"{API}/{cid}", headers=reader.headers)).text
    assert phones_in(seen_by_reader, User(str(biz.user_id), biz.phone, "", "")) == []
    assert "waba_id" not in seen_by_reader


async def test_follows_from_many_people_at_once_count_right(server: LiveServer) -> None:
    owner = await server.user()
    channel = await make_channel(server, owner)
    people = [await server.user() for _ in range(8)]
    await asyncio.gather(*(follow(server, p, channel["id"]) for p in people))
    fetched = await server.http.get(f"{API}/{channel['id']}", headers=owner.headers)
    assert fetched.json()["follower_count"] == 8


async def test_double_clicks_count_once(server: LiveServer) -> None:
    owner, fan, other = await server.user(), await server.user(), await server.user()
    channel = await make_channel(server, owner)
    cid = channel["id"]
    follows = await asyncio.gather(*(server.http.put(f"{API}/{cid}/follow", headers=fan.headers) for _ in range(4)))
    assert {r.status_code for r in follows} == {200}
    await follow(server, other, cid)
    post_id = (await post_text(server, owner, cid)).json()["id"]
    url = f"{API}/{cid}/posts/{post_id}/reaction"
    reacted = await asyncio.gather(
        *(server.http.put(url, headers=who.headers, json={"emoji": "🙏"}) for who in (fan, fan, fan, other, other))
    )
    assert sorted(r.status_code for r in reacted) == [200, 200, 409, 409, 409]
    poll = await server.http.post(
        f"{API}/{cid}/posts",
        headers=owner.headers,
        json={"type": "poll", "poll": {"question": "?", "options": ["a", "b"]}},
    )
    vote_url = f"{API}/{cid}/posts/{poll.json()['id']}/vote"
    votes = await asyncio.gather(
        *(server.http.post(vote_url, headers=fan.headers, json={"option": 0}) for _ in range(3))
    )
    assert sorted(r.status_code for r in votes) == [200, 409, 409]
    same = {"type": "text", "text": "once", "client_id": "same-key"}
    posted = await asyncio.gather(
        *(server.http.post(f"{API}/{cid}/posts", headers=owner.headers, json=same) for _ in range(3))
    )
    assert len({r.json()["id"] for r in posted}) == 1
    page = await posts(server, fan, cid)
    assert [p["seq"] for p in page["posts"]] == [1, 2, 3] and page["last_seq"] == 3
    assert page["posts"][0]["reactions"] == {"🙏": 2}
    assert page["posts"][1]["poll"]["options"][0]["votes"] == 1
    assert (await server.http.get(f"{API}/{cid}", headers=owner.headers)).json()["follower_count"] == 2
