"""The console's ads insights page and CSV over HTTP: an owner sees only its business's ads; an agent gets 403;
bad dates say why (a 4xx) instead of failing; the CSV has one row per ad per day."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business
from tests.integration.inbox_helpers import agent
from tests.integration.test_ads_insights import _setup

PAGE = "/inbox/console/ads/insights"


async def test_an_owner_reads_the_funnel_and_downloads_the_csv(server: LiveServer) -> None:
    biz, ads, day1 = await _setup(server)
    since, until = day1.date().isoformat(), (day1.date() + timedelta(days=1)).isoformat()
    owner = await agent(server, biz, "Olga Owner", role="owner")
    helper = await agent(server, biz, "Andy Agent", role="agent")
    try:
        page = await owner.http.get(PAGE, params={"since": since, "until": "9999-01-01"})
        assert page.status_code == 400 and 'id="ads-error"' in page.text and "90 days" in page.text
        page = await owner.http.get(PAGE, params={"since": since})
        assert page.status_code == 400 and 'id="ads-error"' in page.text
        page = await owner.http.get(PAGE, params={"since": since, "until": until})
        assert page.status_code == 200, page.text
        text = page.text
        assert 'id="funnel-impressions">7<' in text and 'id="funnel-clicks">1<' in text
        assert 'id="funnel-conversations">1<' in text and 'id="funnel-purchases">2<' in text
        assert 'id="ads-spend">5.50<' in text and 'id="ads-revenue">9.00<' in text and 'id="ads-roas">1.64<' in text
        assert f'id="ad-row-{ads[0].id}"' in text and f'id="ad-row-{ads[1].id}"' in text
        assert 'id="ads-money-chart"' in text and 'id="ads-funnel-chart"' in text
        one = await owner.http.get(PAGE, params={"since": since, "until": until, "campaign": str(ads[0].campaign_id)})
        assert one.status_code == 200 and "Ads insights: Summer" in one.text

        download = await owner.http.get("/inbox/console/ads/insights.csv", params={"since": since, "until": until})
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [(r["date"], r["name"], r["impressions"], r["spend"]) for r in rows] == [
            (since, "Ad 1", "5", "4.50"),
            (until, "Ad 2", "2", "1.00"),
        ]
        assert rows[0]["purchases"] == "2" and rows[0]["revenue"] == "9.00" and rows[0]["roas"] == "2"
        bad = await owner.http.get("/inbox/console/ads/insights.csv", params={"since": until, "until": since})
        assert bad.status_code == 400 and "since" in bad.json()["error"]["message"]
        foreign = await owner.http.get("/inbox/console/ads/insights.csv", params={"campaign": "12345"})
        assert foreign.status_code == 404

        refused = await helper.http.get(PAGE)
        assert refused.status_code == 403 and "funnel" not in refused.text
        assert (await helper.http.get("/inbox/console/ads/insights.csv")).status_code == 403
    finally:
        await owner.http.aclose()
        await helper.http.aclose()


async def test_a_business_without_ads_is_told_how_to_start(server: LiveServer) -> None:
    biz = await create_business(server)
    owner = await agent(server, biz, "Olga Owner", role="owner")
    try:
        page = await owner.http.get(PAGE)
        assert page.status_code == 200 and 'id="ads-none"' in page.text
        assert (await owner.http.get("/inbox/console/ads/insights.csv")).status_code == 404
    finally:
        await owner.http.aclose()
