"""Odd inputs on the ads routes are Meta's error 100 (or the client shape), never a 500: bad cursors, bad ids, bad
JSON, wrong types, huge values, an unknown edge; and a paused or deleted object reads back as such."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from parley.config import Settings
from parley.kit.clock import OffsetClock
from tests.conftest import LiveServer
from tests.integration.business_helpers import V, create_business
from tests.integration.test_ads_api import account, ad_body, campaign_set, ok, post
from tests.integration.test_graph_media import graph_error


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, OffsetClock())
    settings.public_url = live.base_url
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


async def test_odd_inputs_are_refused_in_metas_shape(server: LiveServer) -> None:
    biz = await create_business(server)
    act = await account(server, biz)
    h = biz.headers
    for params in ({"after": "not-a-cursor"}, {"limit": "many"}, {"limit": 1000}, {"fields": "name{"}):
        response = await server.http.get(f"{V}/{act}/campaigns", headers=h, params=params)
        assert response.status_code == 400 and response.json()["error"]["code"] == 100, (params, response.text)
    for path in ("act_abc", "act_", "act_99999999999999999999", "act_1"):
        graph_error(await server.http.get(f"{V}/{path}", headers=h), 100, 400)
    bad_json = await server.http.post(
        f"{V}/{act}/campaigns", headers={**h, "Content-Type": "application/json"}, content=b"{nope"
    )
    graph_error(bad_json, 100)
    graph_error(await server.http.post(f"{V}/{act}/campaigns", headers=h, json=[1, 2]), 100)
    for body in (
        {"name": 5, "objective": "OUTCOME_SALES"},
        {"name": "x" * 201, "objective": "OUTCOME_SALES"},
        {"name": "x", "objective": ["OUTCOME_SALES"]},
    ):
        graph_error(await post(server, biz, f"{act}/campaigns", body), 100)
    campaign_id, ad_set_id = await campaign_set(server, biz, act)
    for fields in (
        {"daily_budget": 10**30},
        {"daily_budget": 12.5},
        {"daily_budget": True},
        {"start_time": 10**20},
        {"targeting": "not json {"},
        {"targeting": {"geo_locations": {"countries": "BR"}}},
        {"targeting": {"interests": [{"id": 5}]}},
        {"promoted_object": "x"},
        {"frequency_cap": "lots"},
    ):
        graph_error(await post(server, biz, ad_set_id, fields), 100)
    for creative in ({"creative": "x"}, {"creative": {"headline": None}}, {"creative": {"image_id": "abc"}}):
        graph_error(await post(server, biz, f"{act}/ads", {**ad_body(ad_set_id), **creative}), 100)
    graph_error(await post(server, biz, campaign_id, {}), 100)
    graph_error(await post(server, biz, campaign_id, {"objective": "OUTCOME_SALES"}), 100)
    assert await ok(await post(server, biz, campaign_id, {"status": "ARCHIVED"})) == {"success": True}
    read = await server.http.get(f"{V}/{campaign_id}", headers=h)
    assert read.json()["status"] == "ARCHIVED"
    assert (await server.http.get("/ads/v1/creatives/abc/media")).status_code == 404
    assert (await server.http.get("/ads/v1/creatives/1/media")).status_code == 404
