"""What a channel's admins see live: the follower count as people come and go (and nobody else hears it), and an
admin invitation that arrives as a message from the owner, with the link to accept it."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.integration.channel_helpers import API, follow, make_channel, phones_in
from tests.integration.subscription_helpers import direct_texts
from tests.integration.test_receipts_and_stream import open_stream


async def test_owners_and_admins_see_the_follower_count_change_live_followers_do_not(server: LiveServer) -> None:
    owner, admin, ana, ben = [await server.user() for _ in range(4)]
    channel = await make_channel(server, owner)
    cid = channel["id"]
    await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": admin.phone})
    assert (await server.http.post(f"{API}/{cid}/admins/accept", headers=admin.headers)).status_code == 200
    await follow(server, ana, cid)
    async with (
        open_stream(server, owner) as owner_stream,
        open_stream(server, admin) as admin_stream,
        open_stream(server, ana) as ana_stream,
    ):
        await follow(server, ben, cid)
        for stream in (owner_stream, admin_stream):
            assert await stream.next("channel_followers") == {
                "type": "channel_followers",
                "channel_id": cid,
                "follower_count": 2,
            }
        await follow(server, ben, cid)  # following again changes nothing, so nothing is sent
        assert (await server.http.delete(f"{API}/{cid}/follow", headers=ben.headers)).status_code == 200
        assert (await owner_stream.next("channel_followers"))["follower_count"] == 1
        assert (await admin_stream.next("channel_followers"))["follower_count"] == 1
        await owner_stream.sync()
        assert owner_stream.held("channel_followers") == []  # the repeated follow sent nothing
        await ana_stream.sync()
        assert ana_stream.held("channel_followers") == []  # a follower is not told who comes and goes


async def test_an_admin_invitation_arrives_as_a_message_from_the_owner_with_the_channel_link(
    server: LiveServer,
) -> None:
    owner, invitee, follower = await server.user("Owner Olga"), await server.user("Ivan"), await server.user()
    channel = await make_channel(server, owner, "Morning Brief")
    cid = channel["id"]
    await follow(server, follower, cid)
    async with open_stream(server, invitee) as stream:
        invited = await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": invitee.phone})
        assert invited.status_code == 200, invited.text
        message = await stream.next("message")
    link = f"/channels/c/{channel['invite_code']}"
    texts = await direct_texts(server, invitee, owner)
    assert len(texts) == 1 and "admin of my channel Morning Brief" in texts[0] and link in texts[0]
    assert message["message"]["sender_name"] == "Owner Olga"  # live, as any message from the owner
    assert channel["invite_code"] in message["message"]["text"]["body"]
    # The link opens the channel's page, where the invitation is waiting to be accepted.
    assert (await server.http.get(link)).status_code == 200
    waiting = (await server.http.get(f"{API}/invitations", headers=invitee.headers)).json()["invitations"]
    assert [i["channel"]["id"] for i in waiting] == [cid]
    # The owner sees the invitation in their own chat too; a new invitation is a new message.
    assert len(await direct_texts(server, owner, invitee)) == 1
    server.clock.advance(seconds=60)
    await server.http.post(f"{API}/{cid}/admins", headers=owner.headers, json={"phone": invitee.phone})
    assert len(await direct_texts(server, invitee, owner)) == 2
    # The invitee sees the owner's number (it is a 1:1 chat), followers still never do.
    chats = (await server.http.get("/client/v1/chats", headers=invitee.headers)).json()["chats"]
    assert any((c.get("peer") or {}).get("user_id") == owner.user_id for c in chats)
    seen_by_follower = (await server.http.get(f"{API}/{cid}", headers=follower.headers)).text
    assert phones_in(seen_by_follower, owner) == []
    assert await direct_texts(server, follower, owner) == []
