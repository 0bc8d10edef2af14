"""Click -> chat -> sale: the referral an ad's click brings, the free entry point it opens, and the conversions
(ConversationStarted, Purchase) attributed to the ad, over real HTTP and the real send and payment paths."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from parley.ads.models import ad_conversions
from tests.ads_attrib_seed import AdsSeed
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import (
    Biz,
    ack_all,
    approved_template,
    create_business,
    inbound,
    person_writes,
    send,
    statuses,
    template_body,
    text_to,
)
from tests.integration.test_merchant_payments import _pay, _send_order

HOUR_MS = 3_600_000


async def conversions(server: LiveServer) -> list[dict[str, Any]]:
    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(ad_conversions).order_by(ad_conversions.c.created_at, ad_conversions.c.id))
        return [dict(r._mapping) for r in rows]

    return await server.container.db.read(read)


async def user_id(server: LiveServer, person: User) -> int:
    return (await server.container.accounts.authenticate(person.token)).user_id


async def test_the_referral_carries_the_ads_image_video_and_welcome_message(server: LiveServer) -> None:
    biz = await create_business(server)
    seed = AdsSeed(server)
    account_id = await seed.account(biz.waba_id)
    campaign_id = await seed.campaign(account_id)
    ad_set_id = await seed.ad_set(account_id, campaign_id, biz.phone_number_id)
    image = await seed.ad(
        account_id, campaign_id, ad_set_id, biz.phone_number_id, "Image ad",
        media_type="image", image_url="https://cdn.test/a.jpg", welcome_message="Hi! Ask us anything.",
    )  # fmt: skip
    video = await seed.ad(
        account_id, campaign_id, ad_set_id, biz.phone_number_id, "Video ad",
        media_type="video", video_url="https://cdn.test/v.mp4", thumbnail_url="https://cdn.test/t.jpg",
    )  # fmt: skip
    alice, bob = await server.user("Alice"), await server.user("Bob")
    await person_writes(server, alice, biz, "Hello!", referral_clid=await seed.click(image, "v-alice"))
    await person_writes(server, bob, biz, "Hello!", referral_clid=await seed.click(video, "v-bob"))
    first, second = [v["messages"][0]["referral"] for v in await inbound(server, biz)]
    assert first["media_type"] == "image" and first["image_url"] == "https://cdn.test/a.jpg"
    assert first["welcome_message"] == {"text": "Hi! Ask us anything."}
    assert "video_url" not in first and "thumbnail_url" not in first
    assert (second["media_type"], second["video_url"], second["thumbnail_url"]) == (
        "video",
        "https://cdn.test/v.mp4",
        "https://cdn.test/t.jpg",
    )
    assert "image_url" not in second and "welcome_message" not in second
    assert first["source_type"] == "ad" and first["source_id"] == str(image.id)


async def test_an_ad_click_opens_a_free_entry_point_even_for_marketing_templates_until_72_hours(
    server: LiveServer,
) -> None:
    biz = await create_business(server)
    await approved_template(
        server, biz, name="autumn_sale", category="MARKETING", body="Autumn sale on {{1}} until {{2}}, come and see."
    )
    [ad] = await AdsSeed(server).full(biz.waba_id, biz.phone_number_id)
    person = await server.user("Ann")
    await person_writes(server, person, biz, "I saw your ad", referral_clid=await AdsSeed(server).click(ad, "v"))
    before = await server.container.billing.balance(int(biz.waba_id))
    reply = await text_to(server, biz, person, "Welcome!")
    server.clock.advance(hours=30)  # the 24 h service window has closed; the 72 h free entry point has not
    marketing = await send(server, biz, template_body(person, "autumn_sale"))
    assert reply.status_code == marketing.status_code == 200, marketing.text
    await ack_all(server, person)
    for response in (reply, marketing):
        for status in await statuses(server, biz, response.json()["messages"][0]["id"]):
            assert status["pricing"]["type"] == "free_entry_point", status
            assert status["pricing"]["category"] == "referral_conversion" and status["pricing"]["billable"] is False
    after = await server.container.billing.balance(int(biz.waba_id))
    assert (after.balance, after.held) == (before.balance, 0)  # nothing charged on the ledger
    server.clock.advance(hours=43)  # 73 h after the reply: the free entry point has closed
    late = await send(server, biz, template_body(person, "autumn_sale"))
    assert late.status_code == 200, late.text
    await ack_all(server, person)
    delivered = [s for s in await statuses(server, biz, late.json()["messages"][0]["id"]) if s["status"] == "delivered"]
    assert delivered[0]["pricing"]["type"] == "regular" and delivered[0]["pricing"]["billable"] is True
    assert delivered[0]["pricing"]["category"] == "marketing"
    charged = await server.container.billing.balance(int(biz.waba_id))
    assert charged.balance < before.balance


async def test_a_chat_from_an_ad_is_one_conversation_started_per_click(server: LiveServer) -> None:
    biz = await create_business(server)
    [ad] = await AdsSeed(server).full(biz.waba_id, biz.phone_number_id)
    seed = AdsSeed(server)
    person = await server.user("Ann")
    clid = await seed.click(ad, "anonymous-viewer")
    await person_writes(server, person, biz, "Hi from the ad", referral_clid=clid)
    await person_writes(server, person, biz, "again", referral_clid=clid)  # a click id works once
    await person_writes(server, person, biz, "and a plain message")
    [started] = await conversions(server)
    assert (started["event_name"], started["source"], started["attribution"]) == (
        "ConversationStarted",
        "chat",
        "click",
    )
    assert (started["event_id"], started["ctwa_clid"], started["ad_id"], started["value"]) == (clid, clid, ad.id, 0)
    assert started["person_id"] == await user_id(server, person)
    # A second click of the same ad by the same person is another conversation started.
    second = await seed.click(ad, "anonymous-viewer")
    await person_writes(server, person, biz, "me again", referral_clid=second)
    assert [c["event_id"] for c in await conversions(server)] == [clid, second]


async def _paid_order(server: LiveServer, biz: Biz, person: User, reference_id: str) -> None:
    _, order_id = await _send_order(server, biz, person, reference_id)
    paid = await _pay(server, person, order_id, f"key-{reference_id}")
    assert paid.status_code == 200, paid.text


async def test_a_purchase_goes_to_the_last_click_across_two_ads(server: LiveServer) -> None:
    biz = await create_business(server)
    seed = AdsSeed(server)
    first, second = await seed.full(biz.waba_id, biz.phone_number_id, ads_count=2, currency="BRL")
    person = await server.user("Ana")
    viewer = seed.viewer_of(await user_id(server, person))
    # The chat starts from an anonymous click on the first ad; later, signed in, the person clicks the second.
    clid = await seed.click(first, "a-browser-not-signed-in")
    await person_writes(server, person, biz, "Oi!", referral_clid=clid)
    server.clock.advance(hours=2)
    later = await seed.click(second, viewer)
    server.clock.advance(hours=1)
    await _paid_order(server, biz, person, "BR-1")
    purchase = [c for c in await conversions(server) if c["event_name"] == "Purchase"]
    assert len(purchase) == 1
    assert (purchase[0]["ad_id"], purchase[0]["ctwa_clid"], purchase[0]["attribution"]) == (second.id, later, "click")
    assert (purchase[0]["value"], purchase[0]["currency"], purchase[0]["event_id"]) == (110_000_000, "BRL", "BR-1")
    assert purchase[0]["source"] == "payment"


async def test_without_a_recent_click_a_purchase_goes_to_the_last_ad_seen_then_to_none(server: LiveServer) -> None:
    biz = await create_business(server)
    seed = AdsSeed(server)
    [ad] = await seed.full(biz.waba_id, biz.phone_number_id, currency="BRL")
    person = await server.user("Ana")
    viewer = seed.viewer_of(await user_id(server, person))
    old = await seed.click(ad, viewer)  # a click 8 days before the purchase is outside the 7-day window
    server.clock.advance(hours=8 * 24)
    await seed.impression(ad, viewer)
    server.clock.advance(hours=3)
    await person_writes(server, person, biz, "Oi!")
    await _paid_order(server, biz, person, "BR-1")
    [purchase] = await conversions(server)
    assert (purchase["ad_id"], purchase["attribution"], purchase["ctwa_clid"]) == (ad.id, "view", None)
    assert old != purchase["ctwa_clid"]
    server.clock.advance(hours=25)  # past the 1-day view window: nothing to attribute
    await person_writes(server, person, biz, "Another one, please")
    await _paid_order(server, biz, person, "BR-2")
    assert len(await conversions(server)) == 1


async def test_another_business_ads_never_get_this_business_sales(server: LiveServer) -> None:
    shop, rival = await create_business(server, "Shop"), await create_business(server, "Rival")
    seed = AdsSeed(server)
    await seed.full(shop.waba_id, shop.phone_number_id, currency="BRL")
    [rival_ad] = await seed.full(rival.waba_id, rival.phone_number_id, currency="BRL")
    person = await server.user("Ana")
    viewer = seed.viewer_of(await user_id(server, person))
    await seed.click(rival_ad, viewer)
    await person_writes(server, person, rival, "Oi!", referral_clid=await seed.click(rival_ad, "anon"))
    await person_writes(server, person, shop, "Oi!")
    await _paid_order(server, shop, person, "BR-1")
    assert [c["event_name"] for c in await conversions(server)] == ["ConversationStarted"]
    assert all(c["ad_id"] == rival_ad.id for c in await conversions(server))


async def test_an_order_sent_from_the_cart_is_an_order_created_of_the_clicked_ad_counted_once(
    server: LiveServer,
) -> None:
    from tests.integration.test_commerce_carts import put_item, send_cart, shop_setup

    biz, catalog_id, person, chat_id = await shop_setup(server)
    seed = AdsSeed(server)
    [ad] = await seed.full(biz.waba_id, biz.phone_number_id)
    await person_writes(server, person, biz, "From the ad", referral_clid=await seed.click(ad, "anon"))
    await put_item(server, person, chat_id, "BREAD", catalog_id, 2)
    sent = await send_cart(server, person, chat_id, "order-1")
    again = await send_cart(server, person, chat_id, "order-1")  # the client's retry: the same order
    assert sent.status_code == again.status_code == 200, again.text
    orders = [c for c in await conversions(server) if c["event_name"] == "OrderCreated"]
    assert len(orders) == 1
    assert (orders[0]["ad_id"], orders[0]["source"], orders[0]["value"], orders[0]["currency"]) == (
        ad.id,
        "order",
        9_000_000,
        "USD",
    )
    assert orders[0]["event_id"] == sent.json()["id"] and orders[0]["attribution"] == "click"
