"""The ad server over real HTTP and a real database: which ads a slot may show, what a flush writes and charges,
and what a click records."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from parley.ads.models import ad_clicks, ad_impressions, ad_set_spend
from parley.ads.server import AdServer
from parley.ads.viewers import VIEWER_COOKIE
from parley.container import Container
from parley.ledger import LedgerService
from tests import ads_serve_seed as seed
from tests.conftest import LiveServer

SLOT = "/ads/v1/slot"


async def _business(server: LiveServer, topup: int = 100_000_000) -> seed.Business:
    biz = await seed.business(server.container, server.next_phone())
    if topup:
        await server.container.billing.topup(biz.waba_id, topup, "seed")
    return biz


async def _slot(
    server: LiveServer, viewer_cookie: str | None = None, **params: str
) -> tuple[httpx.Response, dict[str, Any]]:
    query = {"placement": "feed-1", "locale": "pt-BR", **params}
    headers = {"Origin": "https://news.example"}
    if viewer_cookie:
        headers["Cookie"] = f"{VIEWER_COOKIE}={viewer_cookie}"
    server.http.cookies.clear()
    response = await server.http.get(SLOT, params=query, headers=headers)
    return response, response.json()


def _viewer(container: Container) -> str:
    return container.ad_viewers.cookie_value(container.ad_viewers.anonymous())


async def _count(container: Container, table: Any, *where: Any) -> int:
    return int(
        await container.db.read(
            lambda conn: conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )
    )


async def test_a_slot_shows_an_approved_ad_with_cors_and_a_viewer_cookie(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    shown = await seed.ad(c, biz, account, media_type="image", targeting={"countries": ["BR"], "languages": ["pt"]})
    await c.ad_server.reload()
    response, body = await _slot(server)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://news.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{VIEWER_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    ad = body["ad"]
    assert ad["id"] == str(shown.ad_id) and ad["headline"].startswith("Linen dresses")
    assert ad["image_url"].endswith(f"/ads/v1/creatives/{shown.ad_id}/media")
    assert ad["call_to_action"] == "WHATSAPP_MESSAGE" and "/ads/click/" in ad["click_url"]
    assert ad["why"] == {"market": "BR", "language": "pt"} and body["impression_id"].isdigit()
    # Another market or language: targeting keeps it out; the answer says so without a 500 or a 204 body.
    _, other = await _slot(server, locale="en-US")
    assert other == {"ad": None}
    # The route is declared for /openapi.json even though a lean handler serves it.
    spec = (await server.http.get("/openapi.json")).json()
    assert SLOT in spec["paths"]
    preflight = await server.http.options(SLOT, headers={"Origin": "https://x.example"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "https://x.example"


async def test_bad_slot_requests_are_clear_400s(server: LiveServer) -> None:
    for params in ({"placement": ""}, {"placement": "a b"}, {"locale": "not a locale"}, {"market": "BRA"}):
        response, body = await _slot(server, **params)
        assert response.status_code == 400, params
        assert body["error"]["code"] == "invalid_request"
    missing = await server.http.get(SLOT)
    assert missing.status_code == 400


async def test_only_servable_ads_serve(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    now = c.clock.now_ms()
    await seed.ad(c, biz, account, status="PAUSED")
    await seed.ad(c, biz, account, set_status="PAUSED")
    await seed.ad(c, biz, account, campaign_status="PAUSED")
    await seed.ad(c, biz, account, review_status="DISAPPROVED")
    await seed.ad(c, biz, account, review_status="PENDING_REVIEW")
    await seed.ad(c, biz, account, start_time=now + 3_600_000)  # not started
    await seed.ad(
        c,
        biz,
        account,
        start_time=now - 7_200_000,
        end_time=now - 3_600_000,
        daily_budget=None,
        lifetime_budget=10_000_000,
    )
    await seed.ad(c, biz, account, bid_amount=100_000)  # a 0.10 CPM: below the 0.50 reserve
    await c.ad_server.reload()
    _, body = await _slot(server, _viewer(c))
    assert body == {"ad": None}
    live = await seed.ad(c, biz, account)
    await c.ad_server.reload()
    _, body = await _slot(server, _viewer(c))
    assert body["ad"]["id"] == str(live.ad_id)
    # Pausing it (the Marketing API then publishes "ads.changed") takes it out at once.
    await seed.set_status(c, live, "PAUSED")
    await c.bus.publish("ads.changed", {"account_id": str(account)})
    for _ in range(100):
        if c.ad_server.servable_count() == 0:
            break
        await __import__("asyncio").sleep(0.02)
    _, body = await _slot(server, _viewer(c))
    assert body == {"ad": None}


async def test_interest_targeting_needs_consent_and_never_reaches_the_eu(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    fashion = await seed.ad(c, biz, account, targeting={"interests": ["fashion"]})
    await c.ad_server.reload()
    viewer = c.ad_viewers.anonymous()
    cookie = c.ad_viewers.cookie_value(viewer)
    _, body = await _slot(server, cookie, locale="pt-BR")
    assert body == {"ad": None}  # no consent: no interest targeting
    consenting = c.ad_viewers.anonymous()
    await seed.consent(c, consenting, ["fashion", "travel"])
    await c.bus.publish("ads.changed", {})  # what the preferences page publishes after a change
    await c.ad_server.reload()
    cookie = c.ad_viewers.cookie_value(consenting)
    _, body = await _slot(server, cookie, locale="pt-BR")
    assert body["ad"]["id"] == str(fashion.ad_id) and body["ad"]["why"] == {"interests": ["fashion"]}
    _, body = await _slot(server, cookie, locale="de-DE")
    assert body == {"ad": None}  # an EU market: market and language only


async def test_frequency_cap_per_viewer_per_day(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    await seed.ad(c, biz, account, frequency_cap=2)
    await c.ad_server.reload()
    cookie = _viewer(c)
    shown = [(await _slot(server, cookie))[1]["ad"] is not None for _ in range(4)]
    assert shown == [True, True, False, False]
    assert (await _slot(server, _viewer(c)))[1]["ad"] is not None  # someone else still sees it
    server.clock.advance(hours=24)
    assert (await _slot(server, cookie))[1]["ad"] is not None  # a new day


async def test_budget_and_wallet_stop_an_ad_set(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    # A 5.00 CPM alone pays the reserve: 500 micros an impression; a budget of 1,200 micros is 3 impressions.
    small = await seed.ad(c, biz, account, daily_budget=1_200, frequency_cap=0)
    await c.ad_server.reload()
    served = [(await _slot(server, _viewer(c)))[1]["ad"] is not None for _ in range(5)]
    assert served == [True, True, True, False, False]
    await c.ad_server.flush()
    spent = await c.db.read(
        lambda conn: conn.execute(
            select(ad_set_spend.c.spent).where(ad_set_spend.c.ad_set_id == small.ad_set_id)
        ).scalar_one()
    )
    assert spent == 1_500  # at most one event's price over the budget
    # A business whose wallet cannot pay one event does not serve (its trial credit is 10.00; a click bids 20.00).
    broke = await _business(server, topup=0)
    broke_account = await seed.ad_account(c, broke)
    await seed.set_status(c, small, "PAUSED")
    await seed.ad(c, broke, broke_account, billing_event="CLICKS", bid_amount=20_000_000)
    await c.ad_server.reload()
    assert (await _slot(server, _viewer(c)))[1] == {"ad": None}


async def test_a_wallet_emptied_before_the_flush_is_not_half_charged(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server, topup=0)  # the 10.00 trial credit only
    account = await seed.ad_account(c, biz)
    shown = await seed.ad(c, biz, account, frequency_cap=0)
    await c.ad_server.reload()
    assert all([(await _slot(server, _viewer(c)))[1]["ad"] is not None for _ in range(3)])
    # Meanwhile something else takes the whole wallet (a message charge, say).
    journal = c.billing.journal
    currency = c.settings.billing.currency

    def drain(conn: Any) -> None:
        wallet = journal.account(conn, f"waba:{biz.waba_id}:wallet")
        assert wallet is not None and wallet.available is not None
        other = journal.open_account(
            conn, f"platform:revenue:messaging:{currency}", currency=currency, normal_side="credit", kind="revenue"
        )
        journal.transfer(conn, "test:drain", debit=wallet, credit=other, amount=wallet.available, code="message_charge")

    await c.db.write("test.drain", drain)
    result = await c.ad_server.flush()
    assert result.impressions == 3 and result.charged == 0 and result.unpaid_sets == [shown.ad_set_id]
    prices = await c.db.read(lambda conn: [r.price for r in conn.execute(select(ad_impressions.c.price))])
    assert prices == [0, 0, 0]  # recorded, not charged: the platform bears that window
    spend = await c.db.read(lambda conn: conn.execute(select(ad_set_spend.c.spent, ad_set_spend.c.impressions)).one())
    assert tuple(spend) == (0, 3)
    assert (await c.ledger.verify()).ok
    assert (await _slot(server, _viewer(c)))[1] == {"ad": None}  # and it stops serving


async def test_a_flush_writes_rows_and_one_transfer_per_ad_set_and_a_restart_continues_the_day(
    server: LiveServer,
) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    first = await seed.ad(c, biz, account, bid_amount=8_000_000, frequency_cap=0)
    second = await seed.ad(c, biz, account, bid_amount=3_000_000, frequency_cap=0)
    await c.ad_server.reload()
    ads = [(await _slot(server, _viewer(c)))[1]["ad"]["id"] for _ in range(10)]
    assert set(ads) == {str(first.ad_id)}  # the higher value wins every time…
    result = await c.ad_server.flush()
    assert result.impressions == 10 and result.charged == 10 * 3_000  # …and pays the runner-up's 3.00 CPM
    assert await _count(c, ad_impressions, ad_impressions.c.ad_set_id == first.ad_set_id) == 10
    ledger: LedgerService = c.ledger
    revenue = await ledger.account(f"platform:revenue:ads:{c.settings.billing.currency}")
    assert revenue.balance == 30_000
    assert (await c.ledger.verify()).ok
    balance = await c.billing.balance(biz.waba_id)
    assert balance.available == 100_000_000 + 10_000_000 - 30_000 or balance.available == 100_000_000 - 30_000
    assert await c.ledger.count_transfers() >= 1
    # Another process (or this one after a restart) continues today's spend from ad_set_spend.
    fresh = AdServer(c.db, c.bus, c.clock, c.ids, c.billing.journal, c.settings.ads)
    await fresh.reload()
    state = fresh._sets[first.ad_set_id]
    assert state.day_spent == 30_000 and state.impressions == 10
    # Flushing nothing writes nothing.
    assert (await c.ad_server.flush()).impressions == 0
    _ = second


async def test_a_click_opens_the_chat_prefilled_and_counts_once(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    clicked_ad = await seed.ad(c, biz, account, billing_event="CLICKS", bid_amount=400_000, frequency_cap=0)
    await c.ad_server.reload()
    _, body = await _slot(server, _viewer(c))
    url = body["ad"]["click_url"]
    path = url[url.index("/ads/click/") :]
    response = await server.http.get(path, follow_redirects=False)
    assert response.status_code == 302
    target = response.headers["location"]
    assert target.startswith("/app#chat=") and "&clid=PRL" in target and "text=Hi%21%20Do%20you" in target
    clid = target.split("clid=")[1].split("&")[0]
    # The business's referral_clicks row carries the same click id: the first message will carry the referral.
    business_clicks = await c.db.read(
        lambda conn: conn.execute(
            select(func.count())
            .select_from(__import__("parley.business.models", fromlist=["x"]).referral_clicks)
            .where(__import__("parley.business.models", fromlist=["x"]).referral_clicks.c.ctwa_clid == clid)
        ).scalar_one()
    )
    assert business_clicks == 1
    [row] = await c.db.read(lambda conn: list(conn.execute(select(ad_clicks))))
    assert row.ctwa_clid == clid and row.ad_id == clicked_ad.ad_id and row.price > 0
    # Replayed: the same click id, nothing charged again.
    again = await server.http.get(path, follow_redirects=False)
    assert again.status_code == 302 and again.headers["location"] == target
    assert await _count(c, ad_clicks) == 1
    spend = await c.db.read(
        lambda conn: conn.execute(select(func.sum(ad_set_spend.c.spent), func.sum(ad_set_spend.c.clicks))).one()
    )
    assert tuple(spend) == (row.price, 1)
    assert (await c.ledger.verify()).ok


async def test_forged_and_expired_click_tokens_record_nothing(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    await seed.ad(c, biz, account)
    await c.ad_server.reload()
    _, body = await _slot(server, _viewer(c))
    path = body["ad"]["click_url"][body["ad"]["click_url"].index("/ads/click/") :]
    payload, _, signature = path.removeprefix("/ads/click/").partition(".")
    forged = await server.http.get(f"/ads/click/{payload}.{'A' * len(signature)}", follow_redirects=False)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_click"
    garbage = await server.http.get("/ads/click/nonsense", follow_redirects=False, headers={"Accept": "text/html"})
    assert garbage.status_code == 400 and "This ad link does not work" in garbage.text
    server.clock.advance(hours=2)
    expired = await server.http.get(path, follow_redirects=False)
    assert expired.status_code == 400 and "expired" in expired.json()["error"]["message"]
    assert await _count(c, ad_clicks) == 0


async def test_a_signed_in_person_adopts_their_viewer_id(server: LiveServer) -> None:
    alice = await server.user("Alice")
    response = await server.http.post("/client/v1/ads/viewer", headers=alice.headers)
    assert response.status_code == 204
    expected = server.container.ad_viewers.of_person(int(alice.user_id))
    assert response.cookies[VIEWER_COOKIE].split(".")[0] == expected
    assert (await server.http.post("/client/v1/ads/viewer")).status_code == 401


async def test_clicks_on_ads_shown_earlier_pass_the_budget_by_one_click_at_most(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    # Alone in its auctions it pays the reserve per click: 0.50 CPM at the 1 % prior click rate = 50,000 micros.
    await seed.ad(c, biz, account, billing_event="CLICKS", bid_amount=400_000, daily_budget=60_000, frequency_cap=0)
    await c.ad_server.reload()
    urls = [(await _slot(server, _viewer(c)))[1]["ad"]["click_url"] for _ in range(3)]
    for url in urls:
        answer = await server.http.get(url[url.index("/ads/click/") :], follow_redirects=False)
        assert answer.status_code == 302
    prices = await c.db.read(lambda conn: sorted(r.price for r in conn.execute(select(ad_clicks.c.price))))
    # The reserve per click rises a little as impressions without clicks lower the click-rate estimate.
    assert prices[0] == 0 and all(50_000 <= p <= 51_000 for p in prices[1:])  # the third: recorded, free
    spend = await c.db.read(lambda conn: conn.execute(select(ad_set_spend.c.spent, ad_set_spend.c.clicks)).one())
    assert tuple(spend) == (sum(prices), 3) and sum(prices) <= 60_000 + max(prices)
    assert (await c.ledger.verify()).ok


async def test_closing_charges_the_last_window_and_a_lifetime_budget_spreads_over_its_schedule(
    server: LiveServer,
) -> None:
    c = server.container
    biz = await _business(server)
    account = await seed.ad_account(c, biz)
    now = c.clock.now_ms()
    # 4 days, 40,000 micros: standard pacing lets it spend about a quarter by the end of the first day.
    lifetime = await seed.ad(
        c,
        biz,
        account,
        daily_budget=None,
        lifetime_budget=40_000,
        start_time=now - 3_600_000,
        end_time=now - 3_600_000 + 4 * 86_400_000,
        pacing="standard",
        frequency_cap=0,
    )
    own = AdServer(c.db, c.bus, c.clock, c.ids, c.billing.journal, c.settings.ads)
    await own.reload()
    shown = sum(own.serve("feed-1", "BR", "pt", c.ad_viewers.anonymous()) is not None for _ in range(50))
    # An hour into 96: 40,000 × 1/96 + the allowance ≈ 457 micros, at 500 an impression: one impression, then
    # it waits for the line to catch up.
    assert shown == 1
    server.clock.advance(hours=23)
    shown += sum(own.serve("feed-1", "BR", "pt", c.ad_viewers.anonymous()) is not None for _ in range(50))
    assert shown == 21  # a day in: 10,000 micros = 20 impressions, plus the one-event allowance
    await own.close()  # no flush loop ran: closing writes and charges the window
    rows = await _count(c, ad_impressions, ad_impressions.c.ad_set_id == lifetime.ad_set_id)
    assert rows == shown
    assert (await c.ledger.verify()).ok
