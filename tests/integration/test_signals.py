"""The signals store and the rules that bound it, over real HTTP and the real send, click and payment paths: what a
person does fills exactly the counters it should; consent gates every use and its ledger keeps every change; a
number in the EU/EEA is never interest-targeted; and reach shown to advertisers is k-anonymous."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from parley.signals import personal_data_in
from parley.signals import repository as signal_repo
from parley.signals.models import consent_events, signal_businesses, signal_days
from tests import ads_serve_seed as serve_seed
from tests.ads_attrib_seed import AdsSeed
from tests.conftest import LiveServer, User
from tests.integration.business_helpers import V, create_business, person_writes
from tests.integration.test_ads_attribution import _paid_order
from tests.integration.test_ads_serving import _business, _slot
from tests.integration.test_lean_send import _encrypted

DAY_MS = 86_400_000
GERMAN = "+4915112345678"


async def _signals(server: LiveServer, person: User) -> dict[str, Any]:
    await server.container.signal_recorder.flush()
    answer = await server.http.get("/client/v1/signals", headers=person.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _consent(server: LiveServer, person: User, purpose: str, granted: bool) -> Any:
    return await server.http.put(f"/client/v1/consents/{purpose}", headers=person.headers, json={"granted": granted})


async def test_a_persons_sends_businesses_clicks_and_purchases_fill_the_store_exactly(server: LiveServer) -> None:
    biz = await create_business(server, "Atelier Nova")
    profile = await server.http.post(
        f"{V}/{biz.phone_number_id}/whatsapp_business_profile",
        headers=biz.headers,
        json={"messaging_product": "whatsapp", "vertical": "APPAREL"},
    )
    assert profile.status_code == 200, profile.text
    ana, bob = await server.user("Ana"), await server.user("Bob")
    day1 = server.clock.now_ms() // DAY_MS
    await server.send_text(ana, "one", to=bob)
    await server.send_text(ana, "two", to=bob)
    await server.send_text(bob, "Bob's own message is his, not Ana's", to=ana)
    server.clock.advance(hours=24)
    await server.send_text(ana, "three", to=bob)
    # An end-to-end encrypted message counts the same: the store never needs its content.
    encrypted = _encrypted(bob.phone, "e2ee-1", "")
    headers = {**ana.headers, "Content-Type": "application/json"}
    sealed = await server.http.post("/client/v1/messages", headers=headers, content=encrypted)
    assert sealed.status_code == 200, sealed.text
    ciphertext = json.loads(encrypted)["encrypted"]["ciphertext"]
    # Ana follows an ad of the business into a chat (the click is tied to her from then on), then buys.
    seed = AdsSeed(server)
    [ad] = await seed.full(biz.waba_id, biz.phone_number_id, currency="BRL")
    await person_writes(server, ana, biz, "I saw your ad", referral_clid=await seed.click(ad, "a-browser"))
    await _paid_order(server, biz, ana, "BR-7")

    held = await _signals(server, ana)
    day2 = day1 + 1
    iso = [datetime.fromtimestamp(d * DAY_MS / 1000, UTC).date().isoformat() for d in (day1, day2)]
    assert held["days"] == [
        {"date": iso[0], "messages_sent": 2, "business_messages": 0, "ad_clicks": 0, "purchases": 0},
        {"date": iso[1], "messages_sent": 3, "business_messages": 1, "ad_clicks": 1, "purchases": 1},
    ]
    assert (held["messages_sent"], held["active_days"], held["business_messages"]) == (5, 2, 1)
    assert (held["ad_clicks"], held["purchases"], held["categories"]) == (1, 1, ["APPAREL"])
    [business] = held["businesses"]
    assert (business["category"], business["messages"]) == ("APPAREL", 1)
    assert (await _signals(server, bob))["messages_sent"] == 1

    # The store holds counters and categories only: no text of any message is in it.
    def dump(conn: Connection) -> str:
        rows = [*conn.execute(select(signal_days)), *conn.execute(select(signal_businesses))]
        return json.dumps([list(r) for r in rows], default=str)

    stored = await server.container.db.read(dump)
    assert all(text not in stored for text in ("one", "two", "three", "I saw your ad", ciphertext[:24]))
    # The business's category as it is when the person writes: a change reaches the next flush.
    await server.http.post(
        f"{V}/{biz.phone_number_id}/whatsapp_business_profile",
        headers=biz.headers,
        json={"messaging_product": "whatsapp", "vertical": "TRAVEL"},
    )
    await person_writes(server, ana, biz, "again")
    assert (await _signals(server, ana))["categories"] == ["TRAVEL"]


async def test_consent_gates_use_and_its_ledger_keeps_every_change(server: LiveServer) -> None:
    c = server.container
    ana, bob = await server.user("Ana"), await server.user("Bob")
    await server.send_text(ana, "hello", to=bob)
    await c.signal_recorder.flush()
    uid = int(ana.user_id)
    first = await server.http.get("/client/v1/consents", headers=ana.headers)
    assert first.status_code == 200
    purposes = {p["purpose"]: p for p in first.json()["purposes"]}
    assert set(purposes) == {"ads_personalisation", "product_analytics"}
    assert not any(p["granted"] for p in purposes.values())  # nothing is given by default
    assert purposes["product_analytics"]["wording_version"] == c.settings.signals.wording_version
    assert purposes["ads_personalisation"]["wording"] and purposes["ads_personalisation"]["uses"]
    assert first.json()["market"] == {"region": "US", "eu_eea": False, "notice": None}
    # Without consent nothing of either purpose is used.
    assert await c.signals.for_analytics(uid) is None
    targeting = await c.signals.for_targeting(uid)
    assert (targeting.market, targeting.interest_allowed, targeting.signals) == ("US", False, None)

    given = await _consent(server, ana, "product_analytics", True)
    assert given.status_code == 200, given.text
    analytics = await c.signals.for_analytics(uid)
    assert analytics is not None and analytics.messages_sent == 1
    assert (await _consent(server, ana, "product_analytics", True)).status_code == 200  # the same choice again
    server.clock.advance(minutes=5)
    withdrawn = await _consent(server, ana, "product_analytics", False)
    assert withdrawn.status_code == 200
    assert not {p["purpose"]: p for p in withdrawn.json()["purposes"]}["product_analytics"]["granted"]
    assert await c.signals.for_analytics(uid) is None  # at once

    history = (await server.http.get("/client/v1/consents/history", headers=ana.headers)).json()["events"]
    assert [(e["purpose"], e["action"]) for e in history] == [
        ("product_analytics", "withdrawn"),
        ("product_analytics", "given"),
    ]
    assert history[0]["created_at"] - history[1]["created_at"] >= 300_000  # each with its own time
    assert {e["wording_version"] for e in history} == {c.settings.signals.wording_version}
    assert (await server.http.get("/client/v1/consents/history", headers=bob.headers)).json()["events"] == []


async def test_withdrawing_ads_consent_stops_interest_targeting_at_once(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await serve_seed.ad_account(c, biz)
    fashion = await serve_seed.ad(c, biz, account, targeting={"interests": ["fashion"]})
    ana = await server.user("Ana")
    cookie = c.ad_viewers.cookie_value(c.ad_viewers.of_person(int(ana.user_id)))
    chosen = await server.http.put(
        "/client/v1/ads/preferences", headers=ana.headers, json={"consented": True, "interests": ["fashion"]}
    )
    assert chosen.status_code == 200, chosen.text
    await c.ad_server.reload()
    assert (await _slot(server, cookie, locale="en-US"))[1]["ad"]["id"] == str(fashion.ad_id)
    # The ads page's consent is the privacy page's: one consent, on one ledger.
    consents = (await server.http.get("/client/v1/consents", headers=ana.headers)).json()["purposes"]
    assert {p["purpose"]: p["granted"] for p in consents}["ads_personalisation"] is True

    assert (await _consent(server, ana, "ads_personalisation", False)).status_code == 200
    await c.ad_server.reload()  # what the bus event the withdrawal publishes triggers in every ad server
    assert (await _slot(server, cookie, locale="en-US"))[1] == {"ad": None}
    prefs = (await server.http.get("/client/v1/ads/preferences", headers=ana.headers)).json()
    assert (prefs["consented"], prefs["interests"]) == (False, [])
    history = (await server.http.get("/client/v1/consents/history", headers=ana.headers)).json()["events"]
    assert [(e["purpose"], e["action"]) for e in history] == [
        ("ads_personalisation", "withdrawn"),
        ("ads_personalisation", "given"),
    ]


async def test_an_eu_number_is_never_interest_targeted_whatever_its_consent(server: LiveServer) -> None:
    c = server.container
    biz = await _business(server)
    account = await serve_seed.ad_account(c, biz)
    fashion = await serve_seed.ad(c, biz, account, targeting={"interests": ["fashion"]})
    await serve_seed.ad(c, biz, account, targeting={"countries": ["US"]}, bid_amount=1_000_000)
    us, de = await server.user("Ana"), await server.user("Lena", phone=GERMAN)
    for person in (us, de):
        given = await _consent(server, person, "ads_personalisation", True)
        assert given.status_code == 200, given.text
    market = (await server.http.get("/client/v1/consents", headers=de.headers)).json()["market"]
    assert (market["region"], market["eu_eea"]) == ("DE", True) and "EU" in market["notice"]
    refused = await server.http.put(
        "/client/v1/ads/preferences", headers=de.headers, json={"consented": True, "interests": ["fashion"]}
    )
    assert refused.status_code == 400 and "EU/EEA" in refused.json()["error"]["message"]
    assert (await server.http.get("/client/v1/ads/preferences", headers=de.headers)).json()["market_only"] is True
    ok = await server.http.put(
        "/client/v1/ads/preferences", headers=us.headers, json={"consented": True, "interests": ["fashion"]}
    )
    assert ok.status_code == 200 and ok.json()["market_only"] is False
    await c.ad_server.reload()

    def cookie(person: User) -> str:
        return c.ad_viewers.cookie_value(c.ad_viewers.of_person(int(person.user_id)))

    # Both read a page of the US market: only the non-EU number gets the interest-targeted ad.
    assert (await _slot(server, cookie(us), locale="en-US"))[1]["ad"]["id"] == str(fashion.ad_id)
    shown = (await _slot(server, cookie(de), locale="en-US"))[1]["ad"]
    assert shown is not None and shown["id"] != str(fashion.ad_id) and "interests" not in shown["why"]
    # The levers' read API says the same.
    eu = await c.signals.for_targeting(int(de.user_id))
    assert (eu.market, eu.interest_allowed, eu.signals) == ("DE", False, None)
    non_eu = await c.signals.for_targeting(int(us.user_id))
    assert non_eu.interest_allowed is True and non_eu.signals is not None


async def test_reach_is_shown_from_100_people_and_suppressed_below(server: LiveServer) -> None:
    biz = await create_business(server)
    seed = AdsSeed(server)
    [ad] = await seed.full(biz.waba_id, biz.phone_number_id)
    for n in range(99):
        await seed.impression(ad, f"viewer-{n}", price=1_000)
    await seed.impression(ad, "viewer-0", price=1_000)  # a second view by one of them is not another person

    async def insights() -> dict[str, Any]:
        today = datetime.fromtimestamp(server.clock.now_ms() / 1000, UTC).date().isoformat()
        answer = await server.http.get(
            f"{V}/act_{ad.account_id}/insights",
            headers=biz.headers,
            params={"fields": "impressions,reach,spend", "time_range": json.dumps({"since": today, "until": today})},
        )
        assert answer.status_code == 200, answer.text
        [row] = answer.json()["data"]
        return dict(row)

    below = await insights()
    assert (below["impressions"], below["reach"], below["spend"]) == ("100", "fewer than 100", "0.10")
    await seed.impression(ad, "viewer-99", price=1_000)
    at_floor = await insights()
    assert (at_floor["impressions"], at_floor["reach"]) == ("101", "100")


async def test_bad_consent_input_is_refused_and_records_nothing(server: LiveServer) -> None:
    ana = await server.user("Ana")
    for purpose, body in (
        ("marketing_emails", {"granted": True}),  # no such purpose
        ("product_analytics", {"granted": "yes"}),
        ("product_analytics", {"granted": 1}),
        ("product_analytics", {}),
        ("product_analytics", {"granted": True, "forever": True}),
        ("x" * 40, {"granted": True}),
    ):
        answer = await server.http.put(f"/client/v1/consents/{purpose}", headers=ana.headers, json=body)
        assert 400 <= answer.status_code < 500, (purpose, body, answer.text)
        assert answer.json()["error"]["message"]
    not_json = await server.http.put(
        "/client/v1/consents/product_analytics",
        headers={**ana.headers, "Content-Type": "application/json"},
        content=b"{",
    )
    assert 400 <= not_json.status_code < 500
    assert (await server.http.get("/client/v1/consents")).status_code == 401
    assert (await server.http.put("/client/v1/consents/product_analytics", json={"granted": True})).status_code == 401
    assert (await server.http.get("/client/v1/signals")).status_code == 401
    count = await server.container.db.read(
        lambda conn: conn.execute(select(func.count()).select_from(consent_events)).scalar_one()
    )
    assert count == 0


async def test_export_holds_everything_and_erasure_deletes_the_signals(server: LiveServer) -> None:
    c = server.container
    ana, bob = await server.user("Ana"), await server.user("Bob")
    await server.send_text(ana, "hello", to=bob)
    await server.send_text(bob, "hi Ana", to=ana)
    await _consent(server, ana, "product_analytics", True)
    uid = int(ana.user_id)
    await c.signal_recorder.flush()
    exported = await c.db.read(lambda conn: personal_data_in(conn, uid))
    assert [d["messages_sent"] for d in exported["signal_days"]] == [1]
    assert [(e["purpose"], e["action"]) for e in exported["consent_events"]] == [("product_analytics", "given")]
    assert json.loads(json.dumps(exported)) == exported  # plain JSON for the archive

    await server.send_text(ana, "not flushed yet", to=bob)
    await c.rights.erase(uid)  # nothing counted before it (and not yet written) comes back
    await c.signal_recorder.flush()
    held = await c.signals.held_for(uid)
    assert (held.messages_sent, held.days, held.businesses) == (0, [], [])
    assert await c.signals.for_analytics(uid) is None
    assert (await c.signals.held_for(int(bob.user_id))).messages_sent == 1  # someone else's signals stay
    events = await c.consents.history(uid)
    assert [(e.purpose, e.action) for e in events] == [("product_analytics", "given")]  # the proof stays


async def test_categories_customers_also_write_to_are_shown_from_100_people(server: LiveServer) -> None:
    """A signals-based insight for a business: consenting people outside the EU/EEA only, groups of 100 or more."""
    c = server.container
    biz = await create_business(server)
    other_waba, now = int(biz.waba_id) + 1, server.clock.now_ms()

    async def customer(phone: str | None = None, *, consents: bool = True) -> None:
        person = int((await server.user(phone=phone)).user_id)

        def unit(conn: Connection) -> None:
            rows = [(person, int(biz.waba_id), "APPAREL", 1, now, now), (person, other_waba, "TRAVEL", 2, now, now)]
            signal_repo.add_business_messages(conn, rows)
            if consents:
                signal_repo.record_consent(conn, c.ids.next_id(), person, "ads_personalisation", True, "v1", now)

        await c.db.write("test.customer", unit)

    async def insight() -> dict[str, Any]:
        answer = await server.http.get(f"{V}/{biz.waba_id}/customer_categories", headers=biz.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    for _ in range(99):
        await customer()
    await customer(phone="+4915112340001")  # an EU number never counts, whatever its consent
    await customer(consents=False)  # nor does anyone without consent
    assert await insight() == {"customers": "fewer than 100", "data": [], "k_anonymity_min": 100}
    await customer()
    assert await insight() == {
        "customers": "100",
        "data": [{"category": "TRAVEL", "people": "100"}],  # their own business's category is not listed
        "k_anonymity_min": 100,
    }
    other = await create_business(server, "Other")
    foreign = await server.http.get(f"{V}/{biz.waba_id}/customer_categories", headers=other.headers)
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == 100
