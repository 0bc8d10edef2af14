"""The Conversions API over real HTTP: one dataset per business account, events keyed by the ad click, the
whole batch refused on any bad event (nothing written), and replays counted once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from parley.ads.models import ad_conversions
from tests.ads_attrib_seed import Ad, AdsSeed
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, V, create_business


async def _dataset(server: LiveServer, biz: Biz) -> str:
    made = await server.http.post(f"{V}/{biz.waba_id}/dataset", headers=biz.headers)
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


def _event(biz: Biz, clid: str, at_s: int, name: str = "Purchase", **extra: Any) -> dict[str, Any]:
    return {
        "event_name": name,
        "event_time": at_s,
        "action_source": "business_messaging",
        "messaging_channel": "whatsapp",
        "user_data": {"whatsapp_business_account_id": biz.waba_id, "ctwa_clid": clid},
        "custom_data": {"currency": "USD", "value": 123.45},
        **extra,
    }


async def _post(server: LiveServer, biz: Biz, dataset: str, data: list[dict[str, Any]]) -> Any:
    return await server.http.post(
        f"{V}/{dataset}/events", headers=biz.headers, json={"data": data, "partner_agent": "crm-x"}
    )


async def _count(server: LiveServer) -> int:
    def read(conn: Connection) -> int:
        return int(
            conn.execute(
                select(func.count()).select_from(ad_conversions).where(ad_conversions.c.source == "capi")
            ).scalar_one()
        )

    return await server.container.db.read(read)


async def _setup(server: LiveServer) -> tuple[Biz, Ad, str, str]:
    biz = await create_business(server)
    [ad] = await AdsSeed(server).full(biz.waba_id, biz.phone_number_id)
    clid = await AdsSeed(server).click(ad, "v1")
    return biz, ad, clid, await _dataset(server, biz)


def _error(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"])


async def test_a_business_account_has_one_dataset(server: LiveServer) -> None:
    biz, other = await create_business(server), await create_business(server, "Other")
    missing = await server.http.get(f"{V}/{biz.waba_id}/dataset", headers=biz.headers)
    assert missing.status_code == 400 and _error(missing)["code"] == 100
    first = await _dataset(server, biz)
    assert await _dataset(server, biz) == first
    read = await server.http.get(f"{V}/{biz.waba_id}/dataset", headers=biz.headers)
    assert read.json() == {"id": first}
    foreign = await server.http.post(f"{V}/{other.waba_id}/dataset", headers=biz.headers)
    assert foreign.status_code == 400 and _error(foreign)["code"] == 100
    assert await _dataset(server, other) != first


async def test_events_are_stored_against_the_clicked_ad_with_exact_values(server: LiveServer) -> None:
    biz, ad, clid, dataset = await _setup(server)
    now_s = server.clock.now_ms() // 1000
    answer = await _post(
        server,
        biz,
        dataset,
        [
            _event(biz, clid, now_s - 60, event_id="order-77"),
            _event(biz, clid, now_s - 30, "LeadSubmitted", custom_data=None),
        ],
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["events_received"] == 2 and body["messages"] == [] and body["fbtrace_id"]

    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(ad_conversions).order_by(ad_conversions.c.event_time))
        return [dict(r._mapping) for r in rows]

    purchase, lead = await server.container.db.read(read)
    assert (purchase["event_name"], purchase["value"], purchase["currency"]) == ("Purchase", 123_450_000, "USD")
    assert (purchase["ad_id"], purchase["ctwa_clid"], purchase["event_id"]) == (ad.id, clid, "order-77")
    assert purchase["event_time"] == (now_s - 60) * 1000 and purchase["source"] == "capi"
    assert (lead["event_name"], lead["value"], lead["event_id"]) == (
        "LeadSubmitted",
        0,
        f"LeadSubmitted:{clid}:{now_s - 30}",
    )


async def test_a_replayed_event_is_accepted_and_counted_once(server: LiveServer) -> None:
    biz, _, clid, dataset = await _setup(server)
    now_s = server.clock.now_ms() // 1000
    batch = [_event(biz, clid, now_s - 5), _event(biz, clid, now_s - 9, event_id="A-1")]
    for _ in range(2):
        answer = await _post(server, biz, dataset, batch)
        assert answer.status_code == 200 and answer.json()["events_received"] == 2
    same_id = await _post(server, biz, dataset, [_event(biz, clid, now_s - 1, event_id="A-1")])
    assert same_id.status_code == 200
    assert await _count(server) == 2


async def test_a_forged_or_foreign_click_refuses_the_whole_batch(server: LiveServer) -> None:
    biz, _, clid, dataset = await _setup(server)
    rival = await create_business(server, "Rival")
    [rival_ad] = await AdsSeed(server).full(rival.waba_id, rival.phone_number_id)
    rival_clid = await AdsSeed(server).click(rival_ad, "v2")
    now_s = server.clock.now_ms() // 1000
    for bad in ("forged-click-id", rival_clid):
        answer = await _post(server, biz, dataset, [_event(biz, clid, now_s), _event(biz, bad, now_s)])
        assert answer.status_code == 400
        error = _error(answer)
        assert error["code"] == 100 and "data[1]" in error["error_data"]["details"]
    assert await _count(server) == 0


async def test_another_business_dataset_is_not_found(server: LiveServer) -> None:
    biz, _, clid, _ = await _setup(server)
    rival = await create_business(server, "Rival")
    await AdsSeed(server).full(rival.waba_id, rival.phone_number_id)
    rival_dataset = await _dataset(server, rival)
    answer = await _post(server, biz, rival_dataset, [_event(biz, clid, server.clock.now_ms() // 1000)])
    assert answer.status_code == 400 and _error(answer)["code"] == 100
    # Naming the rival's account in user_data does not help either.
    forged = _event(rival, clid, server.clock.now_ms() // 1000)
    answer = await _post(server, rival, rival_dataset, [forged])
    assert answer.status_code == 400 and "ctwa_clid" in _error(answer)["error_data"]["details"]
    assert await _count(server) == 0


async def test_bad_events_are_refused_naming_the_event(server: LiveServer) -> None:
    biz, _, clid, dataset = await _setup(server)
    now_s = server.clock.now_ms() // 1000
    good = _event(biz, clid, now_s)
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([good, _event(biz, clid, now_s - 8 * 86_400)], "7 days"),
        ([good, _event(biz, clid, now_s + 3600)], "future"),
        ([good, _event(biz, clid, now_s, "Teleported")], "event_name"),
        ([good, {**good, "action_source": "website"}], "action_source"),
        ([good, {**good, "messaging_channel": "sms"}], "messaging_channel"),
        ([good, {**good, "custom_data": {"currency": "USD", "value": "1.0000001"}}], "custom_data.value"),
        ([good, {**good, "custom_data": {"value": 5}}], "currency"),
        ([good, {**good, "user_data": {"whatsapp_business_account_id": "1", "ctwa_clid": clid}}], "whatsapp_business"),
        ([good, {**good, "event_time": "yesterday"}], "event_time"),
        ([good] * 1001, "1000"),
        ([], "non-empty"),
    ]
    for data, words in cases:
        answer = await _post(server, biz, dataset, data)
        assert answer.status_code == 400, (words, answer.text)
        assert _error(answer)["code"] == 100 and words in _error(answer)["error_data"]["details"], answer.text
    not_json = await server.http.post(
        f"{V}/{dataset}/events", headers={**biz.headers, "content-type": "application/json"}, content=b"{nope"
    )
    assert not_json.status_code == 400 and _error(not_json)["code"] == 100
    assert await _count(server) == 0


async def test_a_full_batch_of_1000_events_is_taken(server: LiveServer) -> None:
    biz, _, clid, dataset = await _setup(server)
    now_s = server.clock.now_ms() // 1000
    batch = [_event(biz, clid, now_s - i, "AddToCart", event_id=f"cart-{i}") for i in range(1000)]
    answer = await _post(server, biz, dataset, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events_received"] == 1000 and await _count(server) == 1000


async def test_racing_replays_and_first_dataset_calls_store_once(server: LiveServer) -> None:
    import asyncio

    biz = await create_business(server)
    [ad] = await AdsSeed(server).full(biz.waba_id, biz.phone_number_id)
    clid = await AdsSeed(server).click(ad, "v1")
    made = await asyncio.gather(
        *(server.http.post(f"{V}/{biz.waba_id}/dataset", headers=biz.headers) for _ in range(4))
    )
    assert len({r.json()["id"] for r in made}) == 1 and all(r.status_code == 200 for r in made)
    dataset = made[0].json()["id"]
    batch = [_event(biz, clid, server.clock.now_ms() // 1000, event_id="same")]
    answers = await asyncio.gather(*(_post(server, biz, dataset, batch) for _ in range(4)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert await _count(server) == 1
