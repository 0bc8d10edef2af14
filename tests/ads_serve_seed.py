"""Ads rows for the ad-serving tests and the bench, inserted directly (the Marketing API is another helper's)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, update

from parley.ads.models import ad_accounts, ad_campaigns, ad_preferences, ad_sets, ads
from parley.container import Container


@dataclass
class SeededAd:
    account_id: int
    campaign_id: int
    ad_set_id: int
    ad_id: int
    link_code: str


@dataclass
class Business:
    waba_id: int
    phone_number_id: int
    phone: str


async def business(container: Container, phone: str, name: str = "Atelier Nova") -> Business:
    created = await container.business.create_business(name, phone, app_secret="s3cret")
    return Business(created.waba_id, created.phone_number_id, phone)


async def ad_account(
    container: Container, biz: Business, *, timezone: str = "UTC", spend_cap: int | None = None
) -> int:
    account_id = container.ids.next_id()
    now = container.clock.now_ms()
    currency = container.settings.billing.currency

    def unit(conn: Connection) -> None:
        conn.execute(
            insert(ad_accounts).values(
                id=account_id,
                waba_id=biz.waba_id,
                name="Ads",
                currency=currency,
                timezone=timezone,
                status="ACTIVE",
                spend_cap=spend_cap,
                created_at=now,
            )
        )

    await container.db.write("test.ad_account", unit)
    return account_id


async def ad(
    container: Container,
    biz: Business,
    account_id: int,
    *,
    headline: str = "Linen dresses, made to measure",
    body: str = "Ask us about your size — we answer in minutes.",
    prefilled_text: str = "Hi! Do you have this in size M?",
    daily_budget: int | None = 50_000_000,
    lifetime_budget: int | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    bid_strategy: str = "LOWEST_COST_WITH_BID_CAP",
    bid_amount: int | None = 5_000_000,  # a 5.00 CPM (impressions) or per click
    billing_event: str = "IMPRESSIONS",
    pacing: str = "no_pacing",
    targeting: dict[str, Any] | None = None,
    frequency_cap: int = 3,
    quality: float = 0.5,
    status: str = "ACTIVE",
    set_status: str = "ACTIVE",
    campaign_status: str = "ACTIVE",
    review_status: str = "APPROVED",
    media_type: str | None = None,
) -> SeededAd:
    """One campaign, ad set and ad with its click-to-chat link."""
    link = await container.referral_links.create_link(
        biz.phone_number_id,
        {"headline": headline, "body": body, "prefilled_text": prefilled_text, "source_type": "ad"},
    )
    ids = container.ids
    campaign_id, set_id, ad_id = ids.next_id(), ids.next_id(), ids.next_id()
    now = container.clock.now_ms()

    def unit(conn: Connection) -> None:
        conn.execute(
            insert(ad_campaigns).values(
                id=campaign_id,
                account_id=account_id,
                name="Spring",
                objective="OUTCOME_ENGAGEMENT",
                status=campaign_status,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(ad_sets).values(
                id=set_id,
                account_id=account_id,
                campaign_id=campaign_id,
                name="Set",
                status=set_status,
                phone_number_id=biz.phone_number_id,
                daily_budget=daily_budget,
                lifetime_budget=lifetime_budget,
                start_time=now - 1000 if start_time is None else start_time,
                end_time=end_time,
                bid_strategy=bid_strategy,
                bid_amount=bid_amount,
                billing_event=billing_event,
                optimization_goal="CONVERSATIONS",
                pacing=pacing,
                targeting=json.dumps(targeting or {}),
                frequency_cap=frequency_cap,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(ads).values(
                id=ad_id,
                account_id=account_id,
                campaign_id=campaign_id,
                ad_set_id=set_id,
                name="Ad",
                status=status,
                review_status=review_status,
                headline=headline,
                body=body,
                media_type=media_type,
                prefilled_text=prefilled_text,
                link_code=link["code"],
                quality=quality,
                created_at=now,
                updated_at=now,
            )
        )

    await container.db.write("test.ad", unit)
    return SeededAd(account_id, campaign_id, set_id, ad_id, link["code"])


async def set_status(container: Container, seeded: SeededAd, status: str) -> None:
    await container.db.write(
        "test.ad_set_status",
        lambda conn: conn.execute(update(ad_sets).where(ad_sets.c.id == seeded.ad_set_id).values(status=status)),
    )


async def consent(container: Container, viewer: str, interests: list[str]) -> None:
    now = container.clock.now_ms()
    await container.db.write(
        "test.ad_preferences",
        lambda conn: conn.execute(
            insert(ad_preferences).values(
                viewer=viewer, interests=",".join(interests), consented_at=now, updated_at=now
            )
        ),
    )
