"""Channels through the client API: create (and refuse bad input), admins, posts, polls, reactions, follows."""

from __future__ import annotations

import uuid

from tests.conftest import LiveServer, User
from tests.integration.channel_helpers import API, follow, make_channel, post_text, posts


async def test_create_channel_keeps_hostile_markup_as_text(server: LiveServer) -> None:
    owner = await server.user("Olga")
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    channel = await make_channel(server, owner, hostile)
    assert channel["name"] == hostile
    assert channel["role"] == "owner" and channel["follower_count"] == 0 and channel["verified"] is False
    assert channel["link"].endswith(f"/c/{channel['invite_code']}")
    fetched = await server.http.get(f"{API}/{channel['id']}", headers=owner.headers)
    assert fetched.json()["name"] == hostile


async def test_bad_channel_input_is_a_clear_400_and_creates_nothing(server: LiveServer) -> None:
    owner = await server.user()
    for body, words in [
        ({"name": "   ", "category": "news", "country": "BR"}, "needs a name"),
        ({"name": "a\x07b", "category": "news", "country": "BR"}, "control characters"),
        ({"name": "x" * 101, "category": "news", "country": "BR"}, "at most 100"),
        ({"name": "ok", "category": "gossip", "country": "BR"}, "category must be one of"),
        ({"name": "ok", "category": "news", "country": "1X"}, "two-letter"),
        ({"name": "ok", "category": "news", "country": "BR", "allowed_reactions": ["abc"]}, "not an emoji"),
        ({"name": "ok", "category": "news", "country": "BR", "picture_media_id": "123"}, "no such media"),
    ]:
        response = await server.http.post(API, headers=owner.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert words in response.json()["error"]["message"]
    mine = await server.http.get(f"{API}/mine", headers=owner.headers)
    assert mine.json()["channels"] == []


async def test_non_admin_cannot_post_edit_or_delete(server: LiveServer) -> None:
    owner, reader = await server.user(), await server.user()
    channel = await make_channel(server, owner)
    await follow(server, reader, channel["id"])
    refused = await post_text(server, reader, channel["id"], "mine now")
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "not_channel_admin",
        "message": "only the channel's admins can do this: followers read, admins post",
    }
    posted = (await post_text(server, owner, channel["id"], "first")).json()
    edit = await server.http.patch(
        f"{API}/{channel['id']}/posts/{posted['id']}", headers=reader.headers, json={"text": "hacked"}
    )
    delete = await server.http.delete(f"{API}/{channel['id']}/posts/{posted['id']}", headers=reader.headers)
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert [p["text"] for p in (await posts(server, reader, channel["id"]))["posts"]] == ["first"]


async def test_posts_are_idempotent_by_client_id_and_numbered(server: LiveServer) -> None:
    owner = await server.user()
    channel = await make_channel(server, owner)
    body = {"type": "text", "text": "once", "client_id": "abc"}
    first = await server.http.post(f"{API}/{channel['id']}/posts", headers=owner.headers, json=body)
    again = await server.http.post(f"{API}/{channel['id']}/posts", headers=owner.headers, json=body)
    assert first.json()["id"] == again.json()["id"] and first.json()["seq"] == 1
    second = (await post_text(server, owner, channel["id"], "twice")).json()
    assert second["seq"] == 2
    page = await posts(server, owner, channel["id"])
    assert [p["text"] for p in page["posts"]] == ["once", "twice"] and page["last_seq"] == 2


async def test_edit_and_delete_post(server: LiveServer) -> None:
    owner = await server.user()
    channel = await make_channel(server, owner)
    posted = (await post_text(server, owner, channel["id"], "typo")).json()
    edited = await server.http.patch(
        f"{API}/{channel['id']}/posts/{posted['id']}", headers=owner.headers, json={"text": "fixed"}
    )
    assert edited.json()["text"] == "fixed" and edited.json()["edited_at"] is not None
    deleted = await server.http.delete(f"{API}/{channel['id']}/posts/{posted['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert (await posts(server, owner, channel["id"]))["posts"] == []


async def test_bad_posts_are_refused(server: LiveServer) -> None:
    owner = await server.user()
    channel = await make_channel(server, owner)
    cases = [
        {"type": "text", "text": "  "},
        {"type": "image"},
        {"type": "image", "media_id": "99"},
        {"type": "poll", "poll": {"question": "?", "options": ["only one"]}},
        {"type": "poll", "poll": {"question": "?", "options": [str(i) for i in range(13)]}},
        {"type": "poll", "poll": {"question": "?", "options": ["same", "same"]}},
        {"type": "link", "link": {"url": "javascript:alert(1)"}},
        {"type": "text", "text": "for subscribers", "exclusive": True},
    ]
    for body in cases:
        response = await server.http.post(f"{API}/{channel['id']}/posts", headers=owner.headers, json=body)
        assert response.status_code == 400, (body, response.text)
    assert (await posts(server, owner, channel["id"]))["last_seq"] == 0


async def test_image_and_link_posts(server: LiveServer) -> None:
    owner, reader = await server.user(), await server.user()
    channel = await make_channel(server, owner)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    uploaded = await server.http.post(
        "/client/v1/media", headers=owner.headers, files={"file": ("p.png", png, "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    media_id = uploaded.json()["id"]
    image = await server.http.post(
        f"{API}/{channel['id']}/posts",
        headers=owner.headers,
        json={"type": "image", "media_id": media_id, "text": "a picture"},
    )
    assert image.status_code == 200, image.text
    link = await server.http.post(
        f"{API}/{channel['id']}/posts",
        headers=owner.headers,
        json={"type": "link", "link": {"url": "https://example.com/a", "preview": "Example"}},
    )
    assert link.status_code == 200
    await follow(server, reader, channel["id"])
    page = (await posts(server, reader, channel["id"]))["posts"]
    assert page[0]["media_url"] == f"{API}/{channel['id']}/media/{media_id}"
    assert page[1]["link"] == {"url": "https://example.com/a", "preview": "Example"}
    downloaded = await server.http.get(page[0]["media_url"])
    assert downloaded.status_code == 200 and downloaded.content == png
    unrelated = await server.http.get(f"{API}/{channel['id']}/media/12345")
    assert unrelated.status_code == 404


async def test_polls_count_one_vote_per_person(server: LiveServer) -> None:
    owner, ana, ben = await server.user(), await server.user(), await server.user()
    channel = await make_channel(server, owner)
    poll = await server.http.post(
        f"{API}/{channel['id']}/posts",
        headers=owner.headers,
        json={"type": "poll", "poll": {"question": "Best day?", "options": ["Sat", "Sun"]}},
    )
    post_id = poll.json()["id"]
    vote_url = f"{API}/{channel['id']}/posts/{post_id}/vote"
    not_following = await server.http.post(vote_url, headers=ana.headers, json={"option": 0})
    assert not_following.status_code == 400
    for person in (ana, ben):
        await follow(server, person, channel["id"])
    voted = await server.http.post(vote_url, headers=ana.headers, json={"option": 1})
    assert voted.json()["poll"]["my_vote"] == 1
    assert (await server.http.post(vote_url, headers=ana.headers, json={"option": 0})).status_code == 409
    assert (await server.http.post(vote_url, headers=ben.headers, json={"option": 5})).status_code == 400
    await server.http.post(vote_url, headers=ben.headers, json={"option": 1})
    seen = (await posts(server, owner, channel["id"]))["posts"][0]["poll"]
    assert [o["votes"] for o in seen["options"]] == [0, 2] and seen["my_vote"] is None


async def test_reactions_one_per_person_counts_only(server: LiveServer) -> None:
    owner, ana, ben = await server.user(), await server.user(), await server.user()
    channel = await make_channel(server, owner)
    post_id = (await post_text(server, owner, channel["id"])).json()["id"]
    for person in (ana, ben):
        await follow(server, person, channel["id"])
    url = f"{API}/{channel['id']}/posts/{post_id}/reaction"
    assert (await server.http.put(url, headers=ana.headers, json={"emoji": "👍"})).json()["reactions"] == {"👍": 1}
    twice = await server.http.put(url, headers=ana.headers, json={"emoji": "👍"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_reacted"
    await server.http.put(url, headers=ben.headers, json={"emoji": "👍"})
    replaced = await server.http.put(url, headers=ana.headers, json={"emoji": "❤️"})
    assert replaced.json() == {"reactions": {"👍": 1, "❤️": 1}, "my_reaction": "❤️"}
    not_allowed = await server.http.put(url, headers=ben.headers, json={"emoji": "🍕"})
    assert not_allowed.status_code == 400 and "allows the reactions" in not_allowed.json()["error"]["message"]
    removed = await server.http.delete(url, headers=ben.headers)
    assert removed.json() == {"reactions": {"❤️": 1}, "my_reaction": None}
    seen = (await posts(server, owner, channel["id"]))["posts"][0]
    assert seen["reactions"] == {"❤️": 1} and "user" not in str(seen)


async def test_follow_mute_unread_and_read(server: LiveServer) -> None:
    owner, reader = await server.user(), await server.user()
    channel = await make_channel(server, owner)
    await post_text(server, owner, channel["id"], "before following")
    followed = await follow(server, reader, channel["id"])
    assert followed["following"] is True and followed["unread"] == 0 and followed["follower_count"] == 1
    for i in range(3):
        await post_text(server, owner, channel["id"], f"news {i}")
    listed = (await server.http.get(f"{API}/followed", headers=reader.headers)).json()["channels"]
    assert [(c["id"], c["unread"], c["muted"]) for c in listed] == [(channel["id"], 3, False)]
    unread = await posts(server, reader, channel["id"], after_seq=1)
    assert [p["text"] for p in unread["posts"]] == ["news 0", "news 1", "news 2"]
    read = await server.http.post(f"{API}/{channel['id']}/read", headers=reader.headers, json={"seq": 3})
    assert read.json()["unread"] == 1
    back = await server.http.post(f"{API}/{channel['id']}/read", headers=reader.headers, json={"seq": 1})
    assert back.json()["unread"] == 1  # read marks never move back
    muted = await server.http.put(f"{API}/{channel['id']}/mute", headers=reader.headers, json={"muted": True})
    assert muted.json()["muted"] is True
    gone = await server.http.delete(f"{API}/{channel['id']}/follow", headers=reader.headers)
    assert gone.json()["following"] is False and gone.json()["follower_count"] == 0
    again = await server.http.put(f"{API}/{channel['id']}/mute", headers=reader.headers, json={"muted": False})
    assert again.status_code == 404


async def test_history_expires_after_30_days(server: LiveServer) -> None:
    owner, reader = await server.user(), await server.user()
    channel = await make_channel(server, owner)
    old = (await post_text(server, owner, channel["id"], "old news")).json()
    await follow(server, reader, channel["id"])
    server.clock.advance(hours=24 * 29)
    await post_text(server, owner, channel["id"], "fresh")
    assert [p["text"] for p in (await posts(server, reader, channel["id"]))["posts"]] == ["old news", "fresh"]
    server.clock.advance(hours=24 + 1)
    assert [p["text"] for p in (await posts(server, reader, channel["id"]))["posts"]] == ["fresh"]
    react = await server.http.put(
        f"{API}/{channel['id']}/posts/{old['id']}/reaction", headers=reader.headers, json={"emoji": "👍"}
    )
    assert react.status_code == 404
    assert await server.container.channels.sweep_expired() == 1
    assert await server.container.channels.sweep_expired() == 0


async def test_admins_up_to_16_invites_expire_after_7_days(server: LiveServer) -> None:
    owner = await server.user("Owner")
    channel = await make_channel(server, owner)
    cid = channel["id"]
    helpers = [await server.user(f"Helper {i}") for i in range(17)]
    for helper in helpers[:16]:
        invited = await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": helper.phone})
        assert invited.status_code == 200, invited.text
    full = await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": helpers[16].phone})
    assert full.status_code == 409 and full.json()["error"]["code"] == "too_many_admins"
    pending = (await server.http.get(f"{API}/invitations", headers=helpers[0].headers)).json()["invitations"]
    assert [i["channel"]["id"] for i in pending] == [cid]
    accepted = await server.http.post(f"{API}/{cid}/admins/accept", headers=helpers[0].headers)
    assert accepted.json()["role"] == "admin"
    assert (await post_text(server, helpers[0], cid, "from an admin")).status_code == 200
    not_owner = await server.http.post(
        f"{API}/{cid}/admins", headers=helpers[0].headers, json={"phone": helpers[16].phone}
    )
    assert not_owner.status_code == 403
    server.clock.advance(hours=24 * 7 + 1)
    late = await server.http.post(f"{API}/{cid}/admins/accept", headers=helpers[1].headers)
    assert late.status_code == 410 and late.json()["error"]["code"] == "invite_expired"
    assert (await post_text(server, helpers[1], cid, "too late")).status_code == 403
    # Expired invitations free their places: one accepted admin plus a new invitation fit.
    fits = await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": helpers[16].phone})
    assert fits.status_code == 200
    listed = (await server.http.get(f"{API}/{cid}/admins", headers=helpers[0].headers)).json()["admins"]
    assert [(a["name"], a["role"]) for a in listed] == [("Owner", "owner"), ("Helper 0", "admin")]
    assert all("user_id" not in a for a in listed)  # only the owner sees ids (to remove someone)


async def test_owner_removes_admins_transfers_and_deletes(server: LiveServer) -> None:
    owner, admin, reader = await server.user(), await server.user(), await server.user()
    cid = (await make_channel(server, owner))["id"]
    await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": admin.phone})
    await server.http.post(f"{API}/{cid}/admins/accept", headers=admin.headers)
    denied = await server.http.delete(f"{API}/{cid}/admins/{owner.user_id}", headers=admin.headers)
    assert denied.status_code == 403
    assert (await server.http.delete(f"{API}/{cid}", headers=admin.headers)).status_code == 403
    moved = await server.http.put(f"{API}/{cid}/owner", headers=owner.headers, json={"user_id": admin.user_id})
    assert moved.json()["role"] == "admin"
    removed = await server.http.delete(f"{API}/{cid}/admins/{owner.user_id}", headers=admin.headers)
    assert removed.status_code == 204
    assert (await post_text(server, owner, cid)).status_code == 403
    await follow(server, reader, cid)
    assert (await server.http.delete(f"{API}/{cid}", headers=admin.headers)).status_code == 204
    assert (await server.http.get(f"{API}/{cid}", headers=reader.headers)).status_code == 404
    assert (await server.http.get(f"{API}/followed", headers=reader.headers)).json()["channels"] == []


async def test_directory_search_sort_category_country(server: LiveServer) -> None:
    owner = await server.user()
    people = [await server.user() for _ in range(3)]
    news = await make_channel(server, owner, "Morning NEWS", category="news", country="BR")
    sport = await make_channel(server, owner, "Goal news", category="sports", country="BR")
    tech = await make_channel(server, owner, "Tech Today", category="tech", country="IN")
    hidden = await make_channel(server, owner, "Secret news", discoverable=False)
    for person in people:
        await follow(server, person, sport["id"])
    await follow(server, people[0], news["id"])
    await post_text(server, owner, tech["id"], "active")
    await server.container.channels.verify(news["id"])

    async def names(**params: str) -> list[str]:
        response = await server.http.get(f"{API}/directory", headers=owner.headers, params=params)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["channels"]]

    assert await names(q="news") == ["Goal news", "Morning NEWS"]
    assert await names(q="NEWS", sort="new") == ["Goal news", "Morning NEWS"]
    assert (await names(sort="active"))[0] == "Tech Today"
    assert await names(category="sports") == ["Goal news"]
    assert await names(country="in") == ["Tech Today"]
    assert hidden["name"] not in await names()
    page = (await server.http.get(f"{API}/directory", headers=owner.headers, params={"limit": 2})).json()
    assert len(page["channels"]) == 2 and page["next_offset"] == 2
    card = next(c for c in page["channels"] if c["name"] == "Morning NEWS")
    assert card["verified"] is True and card["paid"] is False
    bad = await server.http.get(f"{API}/directory", headers=owner.headers, params={"category": "nope"})
    assert bad.status_code == 400
    assert await names(q="100%_") == []


async def test_channel_link_opens_the_channel(server: LiveServer) -> None:
    owner, reader = await server.user(), await server.user()
    channel = await make_channel(server, owner)
    redirect = await server.http.get(f"/c/{channel['invite_code']}")
    assert redirect.status_code == 302 and redirect.headers["location"] == f"/channels/c/{channel['invite_code']}"
    found = await server.http.get(f"{API}/by-code/{channel['invite_code']}", headers=reader.headers)
    assert found.json()["id"] == channel["id"] and found.json()["following"] is False
    assert (await server.http.get(f"{API}/by-code/nope", headers=reader.headers)).status_code == 404


async def test_forward_to_a_chat_sends_a_message_with_the_channel_link(server: LiveServer) -> None:
    owner, ana, ben = await server.user(), await server.user(), await server.user()
    channel = await make_channel(server, owner, "Rio Daily")
    post_id = (await post_text(server, owner, channel["id"], "Big news")).json()["id"]
    await follow(server, ana, channel["id"])
    sent = await server.http.post(
        f"{API}/{channel['id']}/posts/{post_id}/forward",
        headers=ana.headers,
        json={"to": ben.phone, "client_id": uuid.uuid4().hex},
    )
    assert sent.status_code == 200, sent.text
    chat_id = sent.json()["chat_id"]
    history = await server.http.get(f"/client/v1/chats/{chat_id}/messages", headers=ben.headers)
    body = history.json()["messages"][0]["text"]["body"]
    assert body.startswith("Big news") and f"/c/{channel['invite_code']}" in body and "Rio Daily" in body
    again = await server.http.post(
        f"{API}/{channel['id']}/posts/{post_id}/forward",
        headers=ana.headers,
        json={"chat_id": chat_id, "client_id": uuid.uuid4().hex},
    )
    assert again.status_code == 200 and again.json()["chat_id"] == chat_id
    stranger_chat = await server.http.post(
        f"{API}/{channel['id']}/posts/{post_id}/forward",
        headers=owner.headers,
        json={"chat_id": chat_id, "client_id": uuid.uuid4().hex},
    )
    assert stranger_chat.status_code == 404


async def test_channel_picture_is_shown_to_anyone_and_only_the_owners_upload_counts(server: LiveServer) -> None:
    owner, stranger = await server.user(), await server.user()
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64

    async def upload(who: User) -> str:
        response = await server.http.post(
            "/client/v1/media",
            headers=who.headers,
            files={"file": ("p.png", png, "image/png")},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    theirs = await upload(stranger)
    refused = await server.http.post(
        API,
        headers=owner.headers,
        json={"name": "Pics", "category": "lifestyle", "country": "US", "picture_media_id": theirs},
    )
    assert refused.status_code == 400
    channel = await make_channel(server, owner, "Pics", picture_media_id=await upload(owner))
    card = (await server.http.get(f"{API}/directory", headers=stranger.headers)).json()["channels"][0]
    assert card["picture_url"] == channel["picture_url"] is not None
    picture = await server.http.get(card["picture_url"])  # no token: an <img> has none
    assert picture.status_code == 200 and picture.content == png
    cleared = await server.http.patch(f"{API}/{channel['id']}", headers=owner.headers, json={"picture_media_id": None})
    assert cleared.json()["picture_url"] is None
    assert (await server.http.get(card["picture_url"])).status_code == 404
