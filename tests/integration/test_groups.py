"""Groups: membership decides who reads and posts; admins manage members, roles and invite links."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from parley.accounts import repository as account_rows
from parley.config import LimitSettings, Settings
from tests.conftest import LiveServer, User, running_server

API = "/client/v1"


@pytest.fixture
async def small_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server whose groups hold at most three members, so the limit is cheap to reach."""
    small = settings.model_copy(update={"limits": LimitSettings(group_max_members=3)})
    async with running_server(small) as live:
        yield live


async def create_group(server: LiveServer, admin: User, *members: User, name: str = "Team") -> dict[str, Any]:
    response = await server.http.post(
        f"{API}/groups", headers=admin.headers, json={"name": name, "members": [m.phone for m in members]}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def post(server: LiveServer, sender: User, group_id: str, body: str = "hi") -> httpx.Response:
    return await server.http.post(
        f"{API}/messages",
        headers=sender.headers,
        json={"group_id": group_id, "type": "text", "text": {"body": body}, "client_id": uuid.uuid4().hex},
    )


async def bodies(server: LiveServer, user: User, group_id: str) -> list[str]:
    response = await server.http.get(f"{API}/chats/{group_id}/messages", headers=user.headers)
    assert response.status_code == 200, response.text
    return [m["text"]["body"] for m in response.json()["messages"]]


def roles(group: dict[str, Any]) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in group["members"]}


async def test_create_group_with_members(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await create_group(server, alice, bob, carol, name="Climbing")
    assert group["name"] == "Climbing"
    assert roles(group) == {alice.user_id: "admin", bob.user_id: "member", carol.user_id: "member"}
    assert {m["phone"] for m in group["members"]} == {alice.phone, bob.phone, carol.phone}
    assert isinstance(group["created_at"], int)

    for user in (alice, bob, carol):
        fetched = await server.http.get(f"{API}/groups/{group['id']}", headers=user.headers)
        assert fetched.status_code == 200
        assert roles(fetched.json()) == roles(group)
        chats = (await server.http.get(f"{API}/chats", headers=user.headers)).json()["chats"]
        assert [(c["id"], c["type"], c["title"], c["peer"]) for c in chats] == [
            (group["id"], "group", "Climbing", None)
        ]


async def test_creator_listed_among_members_is_not_added_twice(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    group = await create_group(server, alice, bob, alice, bob)
    assert roles(group) == {alice.user_id: "admin", bob.user_id: "member"}


async def test_create_group_with_an_unknown_number_creates_nothing(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    response = await server.http.post(
        f"{API}/groups", headers=alice.headers, json={"name": "x", "members": [bob.phone, server.next_phone()]}
    )
    assert response.status_code == 404
    for user in (alice, bob):
        assert (await server.http.get(f"{API}/chats", headers=user.headers)).json()["chats"] == []


async def test_members_post_and_everyone_reads(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await create_group(server, alice, bob, carol)
    assert (await post(server, alice, group["id"], "from alice")).status_code == 200
    sent = await post(server, bob, group["id"], "from bob")
    assert sent.status_code == 200
    assert sent.json()["chat_id"] == group["id"]
    for user in (alice, bob, carol):
        assert await bodies(server, user, group["id"]) == ["from bob", "from alice"]
    chats = (await server.http.get(f"{API}/chats", headers=carol.headers)).json()["chats"]
    assert chats[0]["unread_count"] == 2


async def test_outsiders_see_a_group_exactly_as_a_chat_that_does_not_exist(server: LiveServer) -> None:
    alice, bob, eve = await server.user("Alice"), await server.user("Bob"), await server.user("Eve")
    group = await create_group(server, alice, bob)
    await post(server, alice, group["id"], "members only")
    missing = str(int(group["id"]) + 12345)

    async def attempts(group_id: str) -> list[httpx.Response]:
        h = eve.headers
        return [
            await server.http.get(f"{API}/groups/{group_id}", headers=h),
            await server.http.get(f"{API}/chats/{group_id}/messages", headers=h),
            await post(server, eve, group_id, "let me in"),
            await server.http.post(f"{API}/chats/{group_id}/typing", headers=h),
            await server.http.post(f"{API}/groups/{group_id}/members", headers=h, json={"phones": [eve.phone]}),
            await server.http.post(f"{API}/groups/{group_id}/invites", headers=h),
            await server.http.post(f"{API}/groups/{group_id}/leave", headers=h),
        ]

    real, fake = await attempts(group["id"]), await attempts(missing)
    for seen, unknown in zip(real, fake, strict=True):
        assert seen.status_code == 404, seen.request.url
        assert (seen.status_code, seen.json(), seen.headers.get("content-length")) == (
            unknown.status_code,
            unknown.json(),
            unknown.headers.get("content-length"),
        )
    assert await bodies(server, alice, group["id"]) == ["members only"]
    assert roles((await server.http.get(f"{API}/groups/{group['id']}", headers=alice.headers)).json()) == {
        alice.user_id: "admin",
        bob.user_id: "member",
    }


async def test_admin_adds_and_removes_members(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await create_group(server, alice, bob)

    added = await server.http.post(
        f"{API}/groups/{group['id']}/members", headers=alice.headers, json={"phones": [carol.phone]}
    )
    assert added.status_code == 200
    assert roles(added.json())[carol.user_id] == "member"
    await post(server, alice, group["id"], "welcome carol")
    assert await bodies(server, carol, group["id"]) == ["welcome carol"]
    assert (await post(server, carol, group["id"], "thanks")).status_code == 200

    removed = await server.http.delete(f"{API}/groups/{group['id']}/members/{carol.user_id}", headers=alice.headers)
    assert removed.status_code == 200
    assert carol.user_id not in roles(removed.json())
    assert (await post(server, carol, group["id"], "still here?")).status_code == 404
    assert (await server.http.get(f"{API}/chats/{group['id']}/messages", headers=carol.headers)).status_code == 404
    await post(server, alice, group["id"], "after carol left")
    assert await bodies(server, bob, group["id"]) == ["after carol left", "thanks", "welcome carol"]
    # Removing someone who is not a member is a 404 and changes nothing.
    again = await server.http.delete(f"{API}/groups/{group['id']}/members/{carol.user_id}", headers=alice.headers)
    assert again.status_code == 404


async def test_members_cannot_manage_the_group(server: LiveServer) -> None:
    alice, bob, carol, dave = (
        await server.user("Alice"),
        await server.user("Bob"),
        await server.user("Carol"),
        await server.user("Dave"),
    )
    group = await create_group(server, alice, bob, carol)
    gid = group["id"]
    attempts = [
        await server.http.post(f"{API}/groups/{gid}/members", headers=bob.headers, json={"phones": [dave.phone]}),
        await server.http.delete(f"{API}/groups/{gid}/members/{carol.user_id}", headers=bob.headers),
        await server.http.put(f"{API}/groups/{gid}/admins/{bob.user_id}", headers=bob.headers),
        await server.http.delete(f"{API}/groups/{gid}/admins/{alice.user_id}", headers=bob.headers),
        await server.http.post(f"{API}/groups/{gid}/invites", headers=bob.headers),
    ]
    for response in attempts:
        assert response.status_code == 403, response.request.url
        assert response.json()["error"]["code"] == "not_group_admin"
    after = (await server.http.get(f"{API}/groups/{gid}", headers=alice.headers)).json()
    assert roles(after) == roles(group)


async def test_promote_and_demote(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await create_group(server, alice, bob)
    gid = group["id"]

    promoted = await server.http.put(f"{API}/groups/{gid}/admins/{bob.user_id}", headers=alice.headers)
    assert promoted.status_code == 200
    assert roles(promoted.json())[bob.user_id] == "admin"
    added = await server.http.post(f"{API}/groups/{gid}/members", headers=bob.headers, json={"phones": [carol.phone]})
    assert added.status_code == 200

    demoted = await server.http.delete(f"{API}/groups/{gid}/admins/{bob.user_id}", headers=alice.headers)
    assert demoted.status_code == 200
    assert roles(demoted.json())[bob.user_id] == "member"
    refused = await server.http.delete(f"{API}/groups/{gid}/members/{carol.user_id}", headers=bob.headers)
    assert refused.status_code == 403

    outsider = await server.user("Eve")
    not_member = await server.http.put(f"{API}/groups/{gid}/admins/{outsider.user_id}", headers=alice.headers)
    assert not_member.status_code == 404


async def test_leaving_a_group(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await create_group(server, alice, bob, carol)
    assert (await server.http.post(f"{API}/groups/{group['id']}/leave", headers=carol.headers)).status_code == 204
    assert (await server.http.get(f"{API}/groups/{group['id']}", headers=carol.headers)).status_code == 404
    assert (await post(server, carol, group["id"])).status_code == 404
    assert carol.user_id not in roles(
        (await server.http.get(f"{API}/groups/{group['id']}", headers=alice.headers)).json()
    )
    assert (await server.http.get(f"{API}/chats", headers=carol.headers)).json()["chats"] == []
    assert (await server.http.post(f"{API}/groups/{group['id']}/leave", headers=carol.headers)).status_code == 404


async def test_last_admin_leaving_hands_the_group_on(server: LiveServer) -> None:
    alice, bob, carol, dave = (
        await server.user("Alice"),
        await server.user("Bob"),
        await server.user("Carol"),
        await server.user("Dave"),
    )
    group = await create_group(server, alice, bob, carol)
    assert (await server.http.post(f"{API}/groups/{group['id']}/leave", headers=alice.headers)).status_code == 204
    after = (await server.http.get(f"{API}/groups/{group['id']}", headers=bob.headers)).json()
    admins = [m for m in after["members"] if m["role"] == "admin"]
    assert len(admins) == 1
    assert admins[0]["user_id"] in {bob.user_id, carol.user_id}
    new_admin = bob if admins[0]["user_id"] == bob.user_id else carol
    added = await server.http.post(
        f"{API}/groups/{group['id']}/members", headers=new_admin.headers, json={"phones": [dave.phone]}
    )
    assert added.status_code == 200


async def test_an_admin_leaving_keeps_the_other_admins(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    group = await create_group(server, alice, bob, carol)
    await server.http.put(f"{API}/groups/{group['id']}/admins/{carol.user_id}", headers=alice.headers)
    await server.http.post(f"{API}/groups/{group['id']}/leave", headers=alice.headers)
    after = (await server.http.get(f"{API}/groups/{group['id']}", headers=bob.headers)).json()
    assert roles(after) == {bob.user_id: "member", carol.user_id: "admin"}


async def test_invite_link(server: LiveServer) -> None:
    alice, bob, newcomer = await server.user("Alice"), await server.user("Bob"), await server.user("New")
    group = await create_group(server, alice, bob)
    invite = await server.http.post(f"{API}/groups/{group['id']}/invites", headers=alice.headers)
    assert invite.status_code == 200
    code = invite.json()["code"]
    assert invite.json()["url"].endswith(f"/join/{code}")
    page = await server.http.get(f"/join/{code}")  # the link opens the web client's join screen
    assert (page.status_code, page.headers["location"]) == (303, f"/app#join={code}")

    joined = await server.http.post(f"{API}/invites/{code}/join", headers=newcomer.headers)
    assert joined.status_code == 200
    assert joined.json()["id"] == group["id"]
    assert roles(joined.json())[newcomer.user_id] == "member"
    assert (await post(server, newcomer, group["id"], "hello all")).status_code == 200
    assert await bodies(server, bob, group["id"]) == ["hello all"]
    # Joining twice changes nothing; an admin joining does not lose the admin role.
    assert len((await server.http.post(f"{API}/invites/{code}/join", headers=newcomer.headers)).json()["members"]) == 3
    assert (
        roles((await server.http.post(f"{API}/invites/{code}/join", headers=alice.headers)).json())[alice.user_id]
        == "admin"
    )


async def test_revoked_invite_stops_working(server: LiveServer) -> None:
    alice, bob, late = await server.user("Alice"), await server.user("Bob"), await server.user("Late")
    group = await create_group(server, alice, bob)
    code = (await server.http.post(f"{API}/groups/{group['id']}/invites", headers=alice.headers)).json()["code"]
    other = (await server.http.post(f"{API}/groups/{group['id']}/invites", headers=alice.headers)).json()["code"]
    assert (
        await server.http.delete(f"{API}/groups/{group['id']}/invites/{code}", headers=alice.headers)
    ).status_code == 204

    refused = await server.http.post(f"{API}/invites/{code}/join", headers=late.headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "invite_not_found"
    assert late.user_id not in roles(
        (await server.http.get(f"{API}/groups/{group['id']}", headers=alice.headers)).json()
    )
    assert (await server.http.post(f"{API}/invites/made-up-code/join", headers=late.headers)).status_code == 404
    # Only that link stopped working.
    assert (await server.http.post(f"{API}/invites/{other}/join", headers=late.headers)).status_code == 200
    again = await server.http.delete(f"{API}/groups/{group['id']}/invites/{code}", headers=alice.headers)
    assert again.status_code == 404


async def test_invite_cannot_be_revoked_through_another_group(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    first, second = await create_group(server, alice, bob), await create_group(server, alice, bob)
    code = (await server.http.post(f"{API}/groups/{first['id']}/invites", headers=alice.headers)).json()["code"]
    wrong = await server.http.delete(f"{API}/groups/{second['id']}/invites/{code}", headers=alice.headers)
    assert wrong.status_code == 404
    newcomer = await server.user("New")
    assert (await server.http.post(f"{API}/invites/{code}/join", headers=newcomer.headers)).status_code == 200


async def test_group_member_limit_on_create(small_server: LiveServer) -> None:
    server = small_server
    alice, bob, carol, dave = (
        await server.user("Alice"),
        await server.user("Bob"),
        await server.user("Carol"),
        await server.user("Dave"),
    )
    too_many = await server.http.post(
        f"{API}/groups", headers=alice.headers, json={"name": "big", "members": [bob.phone, carol.phone, dave.phone]}
    )
    assert too_many.status_code == 409
    assert too_many.json()["error"]["code"] == "group_full"
    assert (await server.http.get(f"{API}/chats", headers=alice.headers)).json()["chats"] == []
    full = await create_group(server, alice, bob, carol)
    assert len(full["members"]) == 3


async def test_group_member_limit_on_add_and_join(small_server: LiveServer) -> None:
    server = small_server
    alice, bob, carol, dave = (
        await server.user("Alice"),
        await server.user("Bob"),
        await server.user("Carol"),
        await server.user("Dave"),
    )
    group = await create_group(server, alice, bob)
    gid = group["id"]
    code = (await server.http.post(f"{API}/groups/{gid}/invites", headers=alice.headers)).json()["code"]

    both = await server.http.post(
        f"{API}/groups/{gid}/members", headers=alice.headers, json={"phones": [carol.phone, dave.phone]}
    )
    assert both.status_code == 409
    assert (
        len((await server.http.get(f"{API}/groups/{gid}", headers=alice.headers)).json()["members"]) == 2
    )  # none added

    assert (await server.http.post(f"{API}/invites/{code}/join", headers=carol.headers)).status_code == 200
    full = await server.http.post(f"{API}/invites/{code}/join", headers=dave.headers)
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "group_full"
    adding = await server.http.post(f"{API}/groups/{gid}/members", headers=alice.headers, json={"phones": [dave.phone]})
    assert adding.status_code == 409
    # Re-adding someone already in a full group is not growth.
    assert (
        await server.http.post(f"{API}/groups/{gid}/members", headers=alice.headers, json={"phones": [bob.phone]})
    ).status_code == 200

    await server.http.post(f"{API}/groups/{gid}/leave", headers=carol.headers)
    assert (await server.http.post(f"{API}/invites/{code}/join", headers=dave.headers)).status_code == 200


async def test_a_group_holds_1024_members_and_no_more(server: LiveServer) -> None:
    assert server.settings.limits.group_max_members == 1024
    admin = await server.user("Admin")
    phones = [f"+1628555{n:04d}" for n in range(1024)]  # 1,023 members fill it; one more overflows
    now = server.clock.now_ms()

    def insert_people(conn: Any) -> None:
        for phone in phones:
            account_rows.insert_user(conn, server.container.ids.next_id(), phone, "", now)

    await server.container.db.write("tests.test_a_group_holds_1024_members_and_no_more", insert_people)
    created = await server.http.post(
        f"{API}/groups", headers=admin.headers, json={"name": "all", "members": phones[:1023]}
    )
    assert created.status_code == 200, created.text
    assert len(created.json()["members"]) == 1024

    one_more = await server.http.post(
        f"{API}/groups/{created.json()['id']}/members", headers=admin.headers, json={"phones": phones[1023:]}
    )
    assert one_more.status_code == 409
    assert one_more.json()["error"]["code"] == "group_full"
    too_big = await server.http.post(f"{API}/groups", headers=admin.headers, json={"name": "over", "members": phones})
    assert too_big.status_code in (400, 409)
    assert len((await server.http.get(f"{API}/chats", headers=admin.headers)).json()["chats"]) == 1


async def test_the_only_admin_removing_themselves_hands_the_group_on(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    group = await create_group(server, alice, bob)
    response = await server.http.delete(f"{API}/groups/{group['id']}/members/{alice.user_id}", headers=alice.headers)
    assert response.status_code == 200
    assert roles(response.json()) == {bob.user_id: "admin"}
    assert (await server.http.post(f"{API}/groups/{group['id']}/invites", headers=bob.headers)).status_code == 200


async def test_the_last_admin_cannot_step_down(server: LiveServer) -> None:
    alice, bob = await server.user("Alice"), await server.user("Bob")
    group = await create_group(server, alice, bob)
    gid = group["id"]
    refused = await server.http.delete(f"{API}/groups/{gid}/admins/{alice.user_id}", headers=alice.headers)
    assert refused.status_code == 409
    assert roles((await server.http.get(f"{API}/groups/{gid}", headers=bob.headers)).json())[alice.user_id] == "admin"
    # With a second admin, stepping down is fine.
    await server.http.put(f"{API}/groups/{gid}/admins/{bob.user_id}", headers=alice.headers)
    stepped = await server.http.delete(f"{API}/groups/{gid}/admins/{alice.user_id}", headers=alice.headers)
    assert stepped.status_code == 200
    assert roles(stepped.json()) == {alice.user_id: "member", bob.user_id: "admin"}


async def test_concurrent_joins_cannot_overfill_a_group(small_server: LiveServer) -> None:
    server = small_server
    alice, bob = await server.user("Alice"), await server.user("Bob")
    group = await create_group(server, alice, bob)  # one place left
    code = (await server.http.post(f"{API}/groups/{group['id']}/invites", headers=alice.headers)).json()["code"]
    hopefuls = [await server.user(f"Hopeful {i}") for i in range(8)]
    responses = await asyncio.gather(
        *(server.http.post(f"{API}/invites/{code}/join", headers=h.headers) for h in hopefuls)
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    members = (await server.http.get(f"{API}/groups/{group['id']}", headers=alice.headers)).json()["members"]
    assert len(members) == 3


# --- who can add me to groups: everyone / my contacts / nobody; blocks always hold -------------------------


async def set_group_add(server: LiveServer, user: User, choice: str) -> None:
    response = await server.http.patch(f"{API}/privacy", headers=user.headers, json={"group_add": choice})
    assert response.status_code == 200, response.text
    assert response.json()["group_add"] == choice


async def add(server: LiveServer, admin: User, group_id: str, *people: User) -> httpx.Response:
    return await server.http.post(
        f"{API}/groups/{group_id}/members", headers=admin.headers, json={"phones": [p.phone for p in people]}
    )


async def invitations(server: LiveServer, user: User) -> list[dict[str, Any]]:
    """The group invitations in the person's 1:1 chats, as their client shows them."""
    found = []
    for chat in (await server.http.get(f"{API}/chats", headers=user.headers)).json()["chats"]:
        if chat["type"] != "direct":
            continue
        page = (await server.http.get(f"{API}/chats/{chat['id']}/messages", headers=user.headers)).json()
        found += [m for m in page["messages"] if m["type"] == "group_invite"]
    return found


async def members_of(server: LiveServer, admin: User, group_id: str) -> set[str]:
    response = await server.http.get(f"{API}/groups/{group_id}", headers=admin.headers)
    return {m["user_id"] for m in response.json()["members"]}


async def test_someone_who_blocked_you_is_never_added_to_your_groups(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    blocked = await server.http.post(f"{API}/blocks", headers=bob.headers, json={"phone": alice.phone})
    assert blocked.status_code == 200
    # Bob allows everyone, but he blocked Alice: neither creating a group nor adding him puts him in one.
    group = await create_group(server, alice, bob, carol)
    assert set(roles(group)) == {alice.user_id, carol.user_id}
    assert [i["user_id"] for i in group["invited"]] == [bob.user_id]
    refused = await add(server, alice, group["id"], bob)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "group_add_not_allowed"
    assert bob.user_id not in await members_of(server, alice, group["id"])
    # Alice is told what she would be told for a privacy setting; Bob never sees the invitation.
    assert bob.phone in refused.json()["error"]["message"]
    assert await invitations(server, bob) == []
    assert (await server.http.get(f"{API}/chats", headers=bob.headers)).json()["chats"] == []


async def test_nobody_turns_an_add_into_an_invitation_the_person_accepts(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    await set_group_add(server, bob, "nobody")
    group = await create_group(server, alice, carol, name="Climbing")

    refused = await add(server, alice, group["id"], bob)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "group_add_not_allowed"
    assert "privacy settings" in error["message"] and "invitation was sent" in error["message"]
    assert bob.user_id not in await members_of(server, alice, group["id"])

    [invite] = await invitations(server, bob)
    assert invite["sender_id"] == alice.user_id
    details = invite["business"]["group_invite"]
    assert details["group_id"] == group["id"] and details["group_name"] == "Climbing"
    # Only Bob can accept it; accepting makes him a member, and accepting again changes nothing.
    stranger = await server.http.post(f"{API}/group-invites/{details['invite_id']}/accept", headers=carol.headers)
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "invite_not_found"
    accepted = await server.http.post(f"{API}/group-invites/{details['invite_id']}/accept", headers=bob.headers)
    assert accepted.status_code == 200, accepted.text
    assert roles(accepted.json())[bob.user_id] == "member"
    again = await server.http.post(f"{API}/group-invites/{details['invite_id']}/accept", headers=bob.headers)
    assert again.status_code == 200 and len(again.json()["members"]) == 3
    assert (await post(server, bob, group["id"], "thanks for the invite")).status_code == 200


async def test_my_contacts_admits_only_people_i_have_written_to(server: LiveServer) -> None:
    alice, bob, dave = await server.user("Alice"), await server.user("Bob"), await server.user("Dave")
    await set_group_add(server, bob, "contacts")
    await server.send_text(bob, "hi Dave", to=dave)
    await server.send_text(alice, "hi Bob, I am a stranger", to=bob)  # writing to Bob does not make Alice his contact

    from_dave = await create_group(server, dave, bob)
    assert set(roles(from_dave)) == {dave.user_id, bob.user_id} and from_dave["invited"] == []
    # Alice's group is created with her alone, and Bob gets an invitation.
    from_alice = await create_group(server, alice, bob)
    assert set(roles(from_alice)) == {alice.user_id}
    [invited] = from_alice["invited"]
    assert invited["user_id"] == bob.user_id and invited["phone"] == bob.phone
    assert invited["error"]["code"] == "group_add_not_allowed"
    assert [i["business"]["group_invite"]["invite_id"] for i in await invitations(server, bob)] == [
        invited["invite_id"]
    ]


async def test_adding_in_part_adds_who_may_be_added_and_invites_the_rest(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    await set_group_add(server, bob, "nobody")
    group = await create_group(server, alice)
    added = await add(server, alice, group["id"], bob, carol)
    assert added.status_code == 200, added.text
    assert set(roles(added.json())) == {alice.user_id, carol.user_id}
    assert [i["user_id"] for i in added.json()["invited"]] == [bob.user_id]
    # A retry is answered the same and sends no second invitation.
    retried = await add(server, alice, group["id"], bob)
    assert retried.status_code == 403
    assert len(await invitations(server, bob)) == 1
    # Bob choosing "everyone" later lets Alice add him directly.
    await set_group_add(server, bob, "everyone")
    assert (await add(server, alice, group["id"], bob)).status_code == 200
    assert bob.user_id in await members_of(server, alice, group["id"])


async def test_an_invitation_expires_after_three_days_or_when_its_sender_stops_being_admin(server: LiveServer) -> None:
    alice, bob, carol = await server.user("Alice"), await server.user("Bob"), await server.user("Carol")
    await set_group_add(server, bob, "nobody")
    await set_group_add(server, carol, "nobody")
    group = await create_group(server, alice, name="Old news")
    later = await create_group(server, alice, name="Later")
    assert (await add(server, alice, group["id"], bob)).status_code == 403
    [invite] = await invitations(server, bob)
    server.clock.advance(seconds=3 * 24 * 3600 + 1)
    late = await server.http.post(
        f"{API}/group-invites/{invite['business']['group_invite']['invite_id']}/accept", headers=bob.headers
    )
    assert late.status_code == 404
    assert "expired" in late.json()["error"]["message"]

    dave = await server.user("Dave")
    assert (await add(server, alice, later["id"], dave)).status_code == 200
    await server.http.put(f"{API}/groups/{later['id']}/admins/{dave.user_id}", headers=alice.headers)
    assert (await add(server, dave, later["id"], carol)).status_code == 403
    demoted = await server.http.delete(f"{API}/groups/{later['id']}/admins/{dave.user_id}", headers=alice.headers)
    assert demoted.status_code == 200
    [lapsed] = await invitations(server, carol)
    refused = await server.http.post(
        f"{API}/group-invites/{lapsed['business']['group_invite']['invite_id']}/accept", headers=carol.headers
    )
    assert refused.status_code == 404
    assert carol.user_id not in await members_of(server, alice, later["id"])
