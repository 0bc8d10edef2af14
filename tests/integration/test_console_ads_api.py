"""The console's Ads page and data over HTTP: an owner creates a campaign in one go (all or nothing), pauses it,
and sees only its own business's campaigns; an agent gets 403; writes need the CSRF header."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import agent

API = "/inbox/api/console/ads"


def form(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Pão de queijo",
        "objective": "OUTCOME_ENGAGEMENT",
        "daily_budget": "20.00",
        "markets": ["BR"],
        "languages": ["pt"],
        "interests": ["food"],
        "headline": "Pão de queijo quentinho",
        "body": "Peça pelo chat e retire na loja.",
        **fields,
    }


async def test_an_owner_creates_and_pauses_an_agent_is_refused(server: LiveServer) -> None:
    mine, theirs = await create_business(server, "Padaria"), await create_business(server, "Outra")
    owner = await agent(server, mine, "Olga Owner", role="owner")
    other_owner = await agent(server, theirs, "Otto Owner", role="owner")
    helper = await agent(server, mine, "Andy Agent", role="agent")
    csrf = {"X-CSRF-Token": owner.csrf}
    try:
        assert (await owner.http.post(f"{API}/campaigns", json=form())).status_code == 403  # no CSRF header
        # A budget that cannot pay for 1,000 impressions at the reserve: refused, nothing written at all.
        low = await owner.http.post(f"{API}/campaigns", json=form(daily_budget="0.10"), headers=csrf)
        assert low.status_code == 400 and "daily_budget" in low.json()["error"]["message"]
        cents = await owner.http.post(f"{API}/campaigns", json=form(daily_budget="20.001"), headers=csrf)
        assert cents.status_code == 400 and "decimal places" in cents.json()["error"]["message"]
        eu = await owner.http.post(f"{API}/campaigns", json=form(markets=["PT"]), headers=csrf)
        assert eu.status_code == 400 and "targeting.interests" in eu.json()["error"]["message"]
        assert (await server.container.ads.overview(int(mine.waba_id)))["campaigns"] == []

        made = await owner.http.post(f"{API}/campaigns", json=form(), headers=csrf)
        assert made.status_code == 201, made.text
        ids = made.json()
        page = await owner.http.get("/inbox/console/ads")
        assert page.status_code == 200 and "Pão de queijo" in page.text and "Approved" in page.text
        assert f"/inbox/console/ads/insights?campaign={ids['campaign_id']}" in page.text
        assert 'aria-current="page">Ads' in page.text

        assert (await other_owner.http.get("/inbox/console/ads")).text.count("Pão de queijo") == 0
        stolen = await other_owner.http.post(
            f"{API}/campaigns/{ids['campaign_id']}/status",
            json={"status": "PAUSED"},
            headers={"X-CSRF-Token": other_owner.csrf},
        )
        assert stolen.status_code == 404
        not_campaign = await owner.http.post(
            f"{API}/campaigns/{ids['ad_id']}/status", json={"status": "PAUSED"}, headers=csrf
        )
        assert not_campaign.status_code == 404
        paused = await owner.http.post(
            f"{API}/campaigns/{ids['campaign_id']}/status", json={"status": "PAUSED"}, headers=csrf
        )
        assert paused.status_code == 200
        overview = await server.container.ads.overview(int(mine.waba_id))
        assert overview["campaigns"][0]["status"] == "PAUSED"
        assert overview["campaigns"][0]["ads"][0]["effective_status"] == "CAMPAIGN_PAUSED"

        assert (await helper.http.get("/inbox/console/ads")).status_code == 403
        refused = await helper.http.post(f"{API}/campaigns", json=form(), headers={"X-CSRF-Token": helper.csrf})
        assert refused.status_code == 403
    finally:
        for a in (owner, other_owner, helper):
            await a.http.aclose()
