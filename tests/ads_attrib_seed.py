"""Ads rows for the attribution tests, written straight into the contract tables (as helpers A and B would):
an ad account, campaign, ad set and ads with their click-to-chat links, impressions, clicks and spend."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from parley.ads.models import ad_accounts, ad_campaigns, ad_clicks, ad_impressions, ad_sets, ads
from parley.business import repository as business_repo
from parley.business.models import referral_clicks
from tests.conftest import LiveServer


@dataclass(frozen=True)
class Ad:
    id: int
    ad_set_id: int
    campaign_id: int
    account_id: int
    link_code: str


class AdsSeed:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self._n = 0

    def _id(self) -> int:
        return self.server.container.ids.next_id()

    async def account(self, waba_id: str, currency: str = "USD", timezone: str = "UTC", name: str = "Ads") -> int:
        account_id, now = self._id(), self.server.clock.now_ms()

        def unit(conn: Connection) -> None:
            conn.execute(
                ad_accounts.insert().values(
                    id=account_id, waba_id=int(waba_id), name=name, currency=currency, timezone=timezone, created_at=now
                )
            )

        await self.server.container.db.write("test.ad_account", unit)
        return account_id

    async def campaign(self, account_id: int, name: str = "Summer") -> int:
        campaign_id, now = self._id(), self.server.clock.now_ms()

        def unit(conn: Connection) -> None:
            conn.execute(
                ad_campaigns.insert().values(
                    id=campaign_id,
                    account_id=account_id,
                    name=name,
                    objective="OUTCOME_SALES",
                    status="ACTIVE",
                    created_at=now,
                    updated_at=now,
                )
            )

        await self.server.container.db.write("test.ad_campaign", unit)
        return campaign_id

    async def ad_set(self, account_id: int, campaign_id: int, phone_number_id: str, name: str = "Set") -> int:
        ad_set_id, now = self._id(), self.server.clock.now_ms()

        def unit(conn: Connection) -> None:
            conn.execute(
                ad_sets.insert().values(
                    id=ad_set_id,
                    account_id=account_id,
                    campaign_id=campaign_id,
                    name=name,
                    status="ACTIVE",
                    phone_number_id=int(phone_number_id),
                    daily_budget=10_000_000,
                    start_time=now,
                    bid_strategy="LOWEST_COST_WITHOUT_CAP",
                    billing_event="IMPRESSIONS",
                    optimization_goal="CONVERSATIONS",
                    created_at=now,
                    updated_at=now,
                )
            )

        await self.server.container.db.write("test.ad_set", unit)
        return ad_set_id

    async def ad(
        self,
        account_id: int,
        campaign_id: int,
        ad_set_id: int,
        phone_number_id: str,
        name: str = "Ad",
        *,
        media_type: str = "",
        image_url: str = "",
        video_url: str = "",
        thumbnail_url: str = "",
        welcome_message: str = "",
    ) -> Ad:
        ad_id, now = self._id(), self.server.clock.now_ms()
        self._n += 1
        code = f"ad{ad_id % 10**12}{self._n}"

        def unit(conn: Connection) -> None:
            business_repo.insert_referral_link(
                conn,
                business_repo.ReferralLinkRow(
                    code=code,
                    phone_number_id=int(phone_number_id),
                    source_type="ad",
                    source_id=str(ad_id),
                    source_url=f"https://parley.test/ads/{ad_id}",
                    headline=f"{name} headline",
                    body=f"{name} body",
                    prefilled_text="Hello! Can I get more info on this?",
                    created_at=now,
                    media_type=media_type,
                    image_url=image_url,
                    video_url=video_url,
                    thumbnail_url=thumbnail_url,
                    welcome_message=welcome_message,
                ),
            )
            conn.execute(
                ads.insert().values(
                    id=ad_id,
                    account_id=account_id,
                    campaign_id=campaign_id,
                    ad_set_id=ad_set_id,
                    name=name,
                    status="ACTIVE",
                    review_status="APPROVED",
                    headline=f"{name} headline",
                    body=f"{name} body",
                    prefilled_text="Hello! Can I get more info on this?",
                    welcome_message=welcome_message,
                    link_code=code,
                    created_at=now,
                    updated_at=now,
                )
            )

        await self.server.container.db.write("test.ad", unit)
        return Ad(ad_id, ad_set_id, campaign_id, account_id, code)

    async def full(self, waba_id: str, phone_number_id: str, ads_count: int = 1, **account: str) -> list[Ad]:
        account_id = await self.account(waba_id, **account)
        campaign_id = await self.campaign(account_id)
        ad_set_id = await self.ad_set(account_id, campaign_id, phone_number_id)
        return [
            await self.ad(account_id, campaign_id, ad_set_id, phone_number_id, f"Ad {i + 1}") for i in range(ads_count)
        ]

    async def impression(self, ad: Ad, viewer: str, price: int = 0, at: int | None = None) -> int:
        impression_id = self._id()
        when = self.server.clock.now_ms() if at is None else at

        def unit(conn: Connection) -> None:
            conn.execute(
                ad_impressions.insert().values(
                    id=impression_id,
                    ad_id=ad.id,
                    ad_set_id=ad.ad_set_id,
                    campaign_id=ad.campaign_id,
                    account_id=ad.account_id,
                    viewer=viewer,
                    placement="feed",
                    market="US",
                    price=price,
                    created_at=when,
                )
            )

        await self.server.container.db.write("test.ad_impression", unit)
        return impression_id

    async def click(self, ad: Ad, viewer: str, price: int = 0, impression_price: int = 0, at: int | None = None) -> str:
        """An impression and its click; the click id is also a business referral click of the ad's link."""
        when = self.server.clock.now_ms() if at is None else at
        impression_id = await self.impression(ad, viewer, impression_price, when)
        clid = f"clid{impression_id}"

        def unit(conn: Connection) -> None:
            conn.execute(
                ad_clicks.insert().values(
                    ctwa_clid=clid,
                    impression_id=impression_id,
                    ad_id=ad.id,
                    ad_set_id=ad.ad_set_id,
                    campaign_id=ad.campaign_id,
                    account_id=ad.account_id,
                    viewer=viewer,
                    price=price,
                    created_at=when,
                )
            )
            conn.execute(referral_clicks.insert().values(ctwa_clid=clid, code=ad.link_code, ref="", created_at=when))

        await self.server.container.db.write("test.ad_click", unit)
        return clid

    def viewer_of(self, user_id: str | int) -> str:
        return self.server.container.ad_viewers.of_person(int(user_id))

    async def conversion(
        self,
        ad: Ad,
        event_name: str,
        value: int = 0,
        currency: str | None = None,
        at: int | None = None,
        source: str = "capi",
    ) -> None:
        from parley.ads.models import ad_conversions

        when = self.server.clock.now_ms() if at is None else at
        conversion_id = self._id()

        def unit(conn: Connection) -> None:
            conn.execute(
                ad_conversions.insert().values(
                    id=conversion_id,
                    account_id=ad.account_id,
                    campaign_id=ad.campaign_id,
                    ad_set_id=ad.ad_set_id,
                    ad_id=ad.id,
                    ctwa_clid=None,
                    attribution="click",
                    source=source,
                    event_name=event_name,
                    event_id=f"e{conversion_id}",
                    value=value,
                    currency=currency,
                    event_time=when,
                    created_at=when,
                )
            )

        await self.server.container.db.write("test.ad_conversion", unit)
