"""Advertisers' side of click-to-chat ads, in the shape of Meta's Marketing API: one ad account per business account
(WABA), its campaigns, ad sets and ads, creative review and each ad's click-to-chat link.

Every create or edit is one write unit (an ad and its referral link are written together), checked completely
before anything is written, and followed by an `ads.changed` event once committed so the ad server reloads.
Money is micros inside and the currency's minor units on the wire, as Meta's budgets and bids are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table

from parley import media
from parley.ads import repository as repo
from parley.ads import review, schemas
from parley.ads.models import ad_accounts, ad_campaigns, ad_sets, ads
from parley.ads.schemas import bad
from parley.billing import BillingService
from parley.business import BusinessNumbers, NumberRow, ReferralLinks
from parley.config import AdsSettings
from parley.graph import GraphError, GraphScope, graph_page, object_not_found, parse_fields
from parley.kit.clock import Clock
from parley.kit.idempotency import request_fingerprint
from parley.kit.ids import IdGenerator, parse_id
from parley.kit.money import minor_units, parse_amount
from parley.kit.pagination import decode_cursor, encode_cursor
from parley.platform.bus import Bus
from parley.platform.db import Database
from parley.signals import no_interest_markets  # signals

CHANGED_TOPIC = "ads.changed"
MAX_PAGE, DEFAULT_PAGE = 100, 25
ACCOUNT_FIELDS = (
    "id", "account_id", "name", "currency", "timezone_name", "account_status", "amount_spent", "balance",
    "funds_available", "spend_cap",
)  # fmt: skip
CAMPAIGN_VIEW = (
    "id", "account_id", "name", "objective", "status", "effective_status", "special_ad_categories", "buying_type",
    "created_time", "updated_time",
)  # fmt: skip
ADSET_VIEW = (
    "id", "account_id", "campaign_id", "name", "status", "effective_status", "daily_budget", "lifetime_budget",
    "start_time", "end_time", "bid_strategy", "bid_amount", "billing_event", "optimization_goal", "pacing_type",
    "destination_type", "promoted_object", "targeting", "frequency_cap", "created_time", "updated_time",
)  # fmt: skip
AD_VIEW = (
    "id", "account_id", "campaign_id", "adset_id", "name", "status", "effective_status", "review_status",
    "review_feedback", "quality_score", "creative", "link", "created_time", "updated_time",
)  # fmt: skip


def _account_id(raw: str) -> int:
    value = parse_id(raw[4:]) if raw.startswith("act_") else None
    if value is None:
        raise object_not_found(raw)
    return value


def _limit(raw: int | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not 1 <= raw <= MAX_PAGE:
        raise GraphError(100, f"Param limit must be between 1 and {MAX_PAGE}")
    return raw


def _select(view: dict[str, Any], fields: str | None, allowed: tuple[str, ...], node: str) -> dict[str, Any]:
    names = [spec.name for spec in parse_fields(fields)]
    if not names:
        return view
    for name in names:
        if name not in allowed:
            raise GraphError(100, f"Tried accessing nonexisting field ({name}) on node type ({node})")
    return {k: v for k, v in view.items() if k in names or k == "id"}


def effective_status(ad: Mapping[str, Any], ad_set_status: str, campaign_status: str) -> str:
    """Meta's effective_status: ACTIVE only when the ad, its ad set and its campaign are ACTIVE and the ad approved."""
    if ad["status"] in ("DELETED", "ARCHIVED"):
        return str(ad["status"])
    if ad["review_status"] == review.DISAPPROVED:
        return "DISAPPROVED"
    if ad["status"] != "ACTIVE":
        return "PAUSED"
    if campaign_status != "ACTIVE":
        return "CAMPAIGN_PAUSED"
    if ad_set_status != "ACTIVE":
        return "ADSET_PAUSED"
    if ad["review_status"] != review.APPROVED:
        return "PENDING_REVIEW"
    return "ACTIVE"


def _set_effective(status: str, campaign_status: str) -> str:
    if status in ("DELETED", "ARCHIVED", "PAUSED"):
        return status
    return "CAMPAIGN_PAUSED" if campaign_status != "ACTIVE" else "ACTIVE"


class AdsManager:
    """Ad accounts, campaigns, ad sets and ads over the Graph API (and the console, with the same checks)."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        ids: IdGenerator,
        numbers: BusinessNumbers,
        billing: BillingService,
        links: ReferralLinks,
        settings: AdsSettings,
        public_url: str,
    ) -> None:
        self._db, self._bus, self._clock, self._ids = db, bus, clock, ids
        self._numbers, self._billing, self._links = numbers, billing, links
        self._settings = settings
        self._public_url = public_url.rstrip("/")
        self._reserve = parse_amount(settings.reserve_cpm)
        self._no_interest = no_interest_markets(settings.no_interest_markets)  # signals: the EU/EEA rule

    async def _changed(self, account_id: int) -> None:
        await self._bus.publish(CHANGED_TOPIC, {"account_id": account_id})

    # --- accounts --------------------------------------------------------------------------------------------------

    async def create_account(self, scope: GraphScope, raw_waba_id: str) -> dict[str, str]:
        """`POST /{waba_id}/adaccounts`: the business account's one ad account (created on first call)."""
        waba_id = parse_id(raw_waba_id)
        if waba_id is None or waba_id != scope.waba_id:
            raise object_not_found(raw_waba_id)
        account_id = await self.open_account(waba_id)
        return {"id": f"act_{account_id}"}

    async def open_account(self, waba_id: int) -> int:
        """The WABA's ad account id, opening it (in the business's billing currency and time zone) if needed."""
        now = self._clock.now_ms()
        new_id = self._ids.next_id()

        def unit(conn: Connection) -> tuple[int, bool]:
            found = repo.account_of_waba(conn, waba_id)
            if found is not None:
                return int(found["id"]), False
            profile = self._billing.open_business_in(conn, waba_id)
            values = {
                "id": new_id,
                "waba_id": waba_id,
                "name": f"Ads of business account {waba_id}",
                "currency": profile.currency,
                "timezone": profile.timezone,
                "status": "ACTIVE",
                "spend_cap": None,
                "created_at": now,
            }
            repo.insert_row(conn, ad_accounts, values)
            return new_id, True

        account_id, created = await self._db.write("ads.open_account", unit)
        if created:
            await self._changed(account_id)
        return account_id

    async def account_of_waba(self, waba_id: int) -> dict[str, Any] | None:
        return await self._db.read(lambda c: repo.account_of_waba(c, waba_id))

    def _own_account_in(self, conn: Connection, scope: GraphScope, account_id: int, raw: str) -> dict[str, Any]:
        account = repo.get_account(conn, account_id)
        if account is None or account["waba_id"] != scope.waba_id:
            raise object_not_found(raw)
        return account

    async def account_object(self, scope: GraphScope, raw_account_id: str, fields: str | None) -> dict[str, Any]:
        """`GET /act_{id}`: Meta's ad account fields; amounts are strings of minor units, as Meta writes them."""
        account_id = _account_id(raw_account_id)

        def unit(conn: Connection) -> tuple[dict[str, Any], int]:
            account = self._own_account_in(conn, scope, account_id, raw_account_id)
            return account, repo.spent_by_account(conn, account_id)

        account, spent = await self._db.read(unit)
        currency = account["currency"]
        balance = await self._billing.balance(scope.waba_id)
        view: dict[str, Any] = {
            "id": f"act_{account_id}",
            "account_id": str(account_id),
            "name": account["name"],
            "currency": currency,
            "timezone_name": account["timezone"],
            "account_status": 1 if account["status"] == "ACTIVE" else 2,
            "amount_spent": str(self._minor(spent, currency)),
            "balance": str(self._minor(balance.balance, currency)),
            "funds_available": str(self._minor(balance.available, currency)),
            "spend_cap": str(self._minor(account["spend_cap"] or 0, currency)),
        }
        return _select(view, fields, ACCOUNT_FIELDS, "AdAccount")

    @staticmethod
    def _factor(currency: str) -> int:
        return int(10 ** (6 - minor_units(currency)))

    def _minor(self, micros: int, currency: str) -> int:
        return micros // self._factor(currency)

    # --- creates ---------------------------------------------------------------------------------------------------

    def _replayed_in(self, conn: Connection, waba_id: int, key: str | None, fingerprint: str) -> int | None:
        if not key:
            return None
        found = repo.write_key(conn, waba_id, key)
        if found is None:
            return None
        if found[0] != fingerprint:
            raise GraphError(100, "Idempotency-Key was already used with a different request; use a new key")
        return found[1]

    def _remember_in(self, conn: Connection, waba_id: int, key: str | None, fingerprint: str, oid: int) -> None:
        if key:
            repo.remember_write_key(conn, waba_id, key, fingerprint, oid, self._clock.now_ms())

    async def create_campaign(
        self, scope: GraphScope, raw_account_id: str, params: Mapping[str, Any], key: str | None = None
    ) -> dict[str, str]:
        """`POST /act_{id}/campaigns`."""
        account_id = _account_id(raw_account_id)
        data = schemas.campaign(params)
        if data.status not in ("ACTIVE", "PAUSED"):
            raise bad("status", "must be ACTIVE or PAUSED for a new campaign")
        fingerprint = request_fingerprint(["campaign", account_id, dict(params)])
        now, new_id = self._clock.now_ms(), self._ids.next_id()

        def unit(conn: Connection) -> int:
            self._own_account_in(conn, scope, account_id, raw_account_id)
            replayed = self._replayed_in(conn, scope.waba_id, key, fingerprint)
            if replayed is not None:
                return replayed
            values = {
                "id": new_id,
                "account_id": account_id,
                "name": data.name,
                "objective": data.objective,
                "status": data.status,
                "created_at": now,
                "updated_at": now,
            }
            repo.insert_row(conn, ad_campaigns, values)
            self._remember_in(conn, scope.waba_id, key, fingerprint, new_id)
            return new_id

        oid = await self._db.write("ads.create_campaign", unit)
        await self._changed(account_id)
        return {"id": str(oid)}

    async def _number_of(self, scope: GraphScope, raw: str) -> NumberRow:
        """promoted_object.whatsapp_phone_number: a phone number id or display number of this business account."""
        digits = "".join(ch for ch in raw if ch.isdigit())
        for number_id in await self._numbers.ids_of_waba(scope.waba_id):
            number = await self._numbers.get(number_id)
            if number is None:
                continue
            shown = "".join(ch for ch in number.display_phone_number if ch.isdigit())
            if raw == str(number.id) or (digits and digits == shown):
                return number
        raise bad("promoted_object", "whatsapp_phone_number is not a phone number of this business account")

    def _check_money(self, data: schemas.AdSetInput, currency: str) -> tuple[int | None, int | None, int | None]:
        """Budgets and bid in micros, checked against one billed event's price (docs/ads-api.md, "Budgets")."""
        factor = self._factor(currency)
        bid = None if data.bid_amount is None else data.bid_amount * factor
        per_event_reserve = self._reserve if data.billing_event == "IMPRESSIONS" else math.ceil(self._reserve / 1000)
        unit_name = "1,000 impressions" if data.billing_event == "IMPRESSIONS" else "click"
        if bid is not None and bid < per_event_reserve:
            least = math.ceil(per_event_reserve / factor)
            raise bad("bid_amount", f"is below the reserve price: at least {least} minor units per {unit_name}")
        event_price = max(bid or 0, per_event_reserve)
        least = math.ceil(event_price / factor)
        daily = None if data.daily_budget is None else data.daily_budget * factor
        lifetime = None if data.lifetime_budget is None else data.lifetime_budget * factor
        if daily is not None and daily < event_price:
            raise bad("daily_budget", f"must pay for at least one {unit_name}: at least {least} minor units")
        if lifetime is not None and lifetime < event_price:
            raise bad("lifetime_budget", f"must pay for at least one {unit_name}: at least {least} minor units")
        return daily, lifetime, bid

    def _ad_set_values(self, data: schemas.AdSetInput, objective: str, currency: str, number_id: int) -> dict[str, Any]:
        if data.optimization_goal not in schemas.GOALS_BY_OBJECTIVE[objective]:
            allowed = ", ".join(schemas.GOALS_BY_OBJECTIVE[objective])
            raise bad("optimization_goal", f"must be one of {allowed} for a campaign with objective {objective}")
        daily, lifetime, bid = self._check_money(data, currency)
        return {
            "name": data.name,
            "status": data.status,
            "phone_number_id": number_id,
            "daily_budget": daily,
            "lifetime_budget": lifetime,
            "start_time": data.start_time,
            "end_time": data.end_time,
            "bid_strategy": data.bid_strategy,
            "bid_amount": bid,
            "billing_event": data.billing_event,
            "optimization_goal": data.optimization_goal,
            "pacing": data.pacing,
            "targeting": data.targeting.as_json(),
            "frequency_cap": data.frequency_cap,
        }

    async def create_ad_set(
        self, scope: GraphScope, raw_account_id: str, params: Mapping[str, Any], key: str | None = None
    ) -> dict[str, str]:
        """`POST /act_{id}/adsets`."""
        account_id = _account_id(raw_account_id)
        now = self._clock.now_ms()
        data = schemas.ad_set(params, now_ms=now, no_interest_markets=self._no_interest, creating=True)
        if data.status not in ("ACTIVE", "PAUSED"):
            raise bad("status", "must be ACTIVE or PAUSED for a new ad set")
        campaign_id = schemas.graph_id("campaign_id", params.get("campaign_id"))
        number = await self._number_of(scope, data.whatsapp_phone_number)
        fingerprint = request_fingerprint(["adset", account_id, dict(params)])
        new_id = self._ids.next_id()

        def unit(conn: Connection) -> int:
            account = self._own_account_in(conn, scope, account_id, raw_account_id)
            campaign = repo.get_campaign(conn, campaign_id)
            if campaign is None or campaign["account_id"] != account_id or campaign["status"] == "DELETED":
                raise bad("campaign_id", f"names no campaign of this ad account ({campaign_id})")
            replayed = self._replayed_in(conn, scope.waba_id, key, fingerprint)
            if replayed is not None:
                return replayed
            values = self._ad_set_values(data, campaign["objective"], account["currency"], number.id)
            values.update(id=new_id, account_id=account_id, campaign_id=campaign_id, created_at=now, updated_at=now)
            repo.insert_row(conn, ad_sets, values)
            self._remember_in(conn, scope.waba_id, key, fingerprint, new_id)
            return new_id

        oid = await self._db.write("ads.create_ad_set", unit)
        await self._changed(account_id)
        return {"id": str(oid)}

    async def _owners(self, waba_id: int) -> set[int]:
        """The Parley accounts of the business's numbers: media they uploaded can be creatives."""
        owners = set()
        for number_id in await self._numbers.ids_of_waba(waba_id):
            number = await self._numbers.get(number_id)
            if number is not None:
                owners.add(number.user_id)
        return owners

    def _check_media_in(self, conn: Connection, creative: schemas.CreativeInput, owners: set[int]) -> None:
        if creative.media_id is None:
            return
        field = f"creative.{creative.media_type}_id"
        item = media.get_media(conn, creative.media_id)
        if item is None or item.owner_id not in owners:
            raise GraphError(100, f"Param {field}: no media {creative.media_id} this business uploaded", subcode=33)
        if not item.mime_type.startswith(f"{creative.media_type}/"):
            raise bad(field, f"names media of type {item.mime_type}, not an {creative.media_type}")
        media.mark_media_used(conn, creative.media_id, self._clock.now_ms())  # kept while the ad shows it

    def media_url(self, ad_id: int, media_id: int) -> str:
        """The creative's public media (publishers' pages and the referral's image_url)."""
        return f"{self._public_url}/ads/v1/creatives/{ad_id}/media?v={media_id}"

    def _link_texts(self, ad_id: int, creative: schemas.CreativeInput) -> dict[str, str]:
        url = "" if creative.media_id is None else self.media_url(ad_id, creative.media_id)
        return {
            "headline": creative.headline,
            "body": creative.body,
            "prefilled_text": creative.prefilled_text,
            "media_type": creative.media_type or "",
            "image_url": url if creative.media_type == "image" else "",
            "video_url": url if creative.media_type == "video" else "",
            "welcome_message": creative.welcome_message,
        }

    def _review_in(self, conn: Connection, creative: schemas.CreativeInput, number_id: int) -> review.Verdict:
        number = self._numbers.get_in(conn, number_id)
        return review.review(
            review.CreativeForReview(
                headline=creative.headline,
                body=creative.body,
                media_type=creative.media_type,
                welcome_message=creative.welcome_message,
                number_status=number.status if number is not None else "DELETED",
                number_quality=number.quality_rating if number is not None else "RED",
            )
        )

    @staticmethod
    def _creative_values(creative: schemas.CreativeInput, verdict: review.Verdict) -> dict[str, Any]:
        return {
            "headline": creative.headline,
            "body": creative.body,
            "media_type": creative.media_type,
            "media_id": creative.media_id,
            "prefilled_text": creative.prefilled_text,
            "welcome_message": creative.welcome_message,
            "review_status": verdict.status,
            "review_reason": verdict.reason,
            "quality": verdict.quality,
        }

    async def create_ad(
        self, scope: GraphScope, raw_account_id: str, params: Mapping[str, Any], key: str | None = None
    ) -> dict[str, str]:
        """`POST /act_{id}/ads`: the ad, its review verdict and its click-to-chat link in one unit."""
        account_id = _account_id(raw_account_id)
        data = schemas.ad(params)
        if data.status not in ("ACTIVE", "PAUSED"):
            raise bad("status", "must be ACTIVE or PAUSED for a new ad")
        ad_set_id = schemas.graph_id("adset_id", params.get("adset_id"))
        owners = await self._owners(scope.waba_id) if data.creative.media_id is not None else set()
        fingerprint = request_fingerprint(["ad", account_id, dict(params)])
        now, new_id = self._clock.now_ms(), self._ids.next_id()

        def unit(conn: Connection) -> int:
            self._own_account_in(conn, scope, account_id, raw_account_id)
            ad_set = repo.get_ad_set(conn, ad_set_id)
            if ad_set is None or ad_set["account_id"] != account_id or ad_set["status"] == "DELETED":
                raise bad("adset_id", f"names no ad set of this ad account ({ad_set_id})")
            replayed = self._replayed_in(conn, scope.waba_id, key, fingerprint)
            if replayed is not None:
                return replayed
            self._check_media_in(conn, data.creative, owners)
            verdict = self._review_in(conn, data.creative, ad_set["phone_number_id"])
            code = self._links.create_ad_link_in(
                conn, ad_set["phone_number_id"], new_id, self._link_texts(new_id, data.creative)
            )
            values = {
                "id": new_id,
                "account_id": account_id,
                "campaign_id": ad_set["campaign_id"],
                "ad_set_id": ad_set_id,
                "name": data.name,
                "status": data.status,
                "call_to_action": "WHATSAPP_MESSAGE",
                "link_code": code,
                "created_at": now,
                "updated_at": now,
                **self._creative_values(data.creative, verdict),
            }
            repo.insert_row(conn, ads, values)
            self._remember_in(conn, scope.waba_id, key, fingerprint, new_id)
            return new_id

        oid = await self._db.write("ads.create_ad", unit)
        await self._changed(account_id)
        return {"id": str(oid)}

    async def create_bundle(
        self,
        waba_id: int,
        campaign: Mapping[str, Any],
        ad_set: Mapping[str, Any],
        ad: Mapping[str, Any],
    ) -> dict[str, str]:
        """A campaign with one ad set and one ad, all or nothing (the console's "New campaign" form): the same
        checks as the three Graph creates, in one write unit."""
        scope = GraphScope(waba_id=waba_id, token_id=0, app_id=0)
        account_id = await self.open_account(waba_id)
        now = self._clock.now_ms()
        campaign_data = schemas.campaign(campaign)
        set_data = schemas.ad_set(ad_set, now_ms=now, no_interest_markets=self._no_interest, creating=True)
        ad_data = schemas.ad(ad)
        for name, status in (("campaign", campaign_data.status), ("ad set", set_data.status), ("ad", ad_data.status)):
            if status not in ("ACTIVE", "PAUSED"):
                raise bad("status", f"must be ACTIVE or PAUSED for a new {name}")
        number = await self._number_of(scope, set_data.whatsapp_phone_number)
        owners = await self._owners(waba_id) if ad_data.creative.media_id is not None else set()
        campaign_id, ad_set_id, ad_id = self._ids.next_id(), self._ids.next_id(), self._ids.next_id()

        def unit(conn: Connection) -> None:
            account = self._own_account_in(conn, scope, account_id, f"act_{account_id}")
            set_values = self._ad_set_values(set_data, campaign_data.objective, account["currency"], number.id)
            self._check_media_in(conn, ad_data.creative, owners)
            stamps = {"account_id": account_id, "created_at": now, "updated_at": now}
            repo.insert_row(
                conn,
                ad_campaigns,
                {
                    "id": campaign_id,
                    "name": campaign_data.name,
                    "objective": campaign_data.objective,
                    "status": campaign_data.status,
                    **stamps,
                },
            )
            repo.insert_row(conn, ad_sets, {**set_values, "id": ad_set_id, "campaign_id": campaign_id, **stamps})
            verdict = self._review_in(conn, ad_data.creative, number.id)
            code = self._links.create_ad_link_in(conn, number.id, ad_id, self._link_texts(ad_id, ad_data.creative))
            values = {
                "id": ad_id,
                "campaign_id": campaign_id,
                "ad_set_id": ad_set_id,
                "name": ad_data.name,
                "status": ad_data.status,
                "call_to_action": "WHATSAPP_MESSAGE",
                "link_code": code,
                **stamps,
                **self._creative_values(ad_data.creative, verdict),
            }
            repo.insert_row(conn, ads, values)

        await self._db.write("ads.create_bundle", unit)
        await self._changed(account_id)
        return {"campaign_id": str(campaign_id), "adset_id": str(ad_set_id), "ad_id": str(ad_id)}

    # --- views -----------------------------------------------------------------------------------------------------

    def _campaign_view(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "account_id": str(row["account_id"]),
            "name": row["name"],
            "objective": row["objective"],
            "status": row["status"],
            "effective_status": row["status"],
            "special_ad_categories": [],
            "buying_type": "AUCTION",
            "created_time": schemas.iso(row["created_at"]),
            "updated_time": schemas.iso(row["updated_at"]),
        }

    def _ad_set_view(self, row: Mapping[str, Any], campaign_status: str, currency: str) -> dict[str, Any]:
        def minor(value: int | None) -> str | None:
            return None if value is None else str(self._minor(value, currency))

        view: dict[str, Any] = {
            "id": str(row["id"]),
            "account_id": str(row["account_id"]),
            "campaign_id": str(row["campaign_id"]),
            "name": row["name"],
            "status": row["status"],
            "effective_status": _set_effective(row["status"], campaign_status),
            "daily_budget": minor(row["daily_budget"]),
            "lifetime_budget": minor(row["lifetime_budget"]),
            "start_time": schemas.iso(row["start_time"]),
            "end_time": schemas.iso(row["end_time"]),
            "bid_strategy": row["bid_strategy"],
            "bid_amount": minor(row["bid_amount"]),
            "billing_event": row["billing_event"],
            "optimization_goal": row["optimization_goal"],
            "pacing_type": [row["pacing"]],
            "destination_type": "WHATSAPP",
            "promoted_object": {"whatsapp_phone_number": str(row["phone_number_id"])},
            "targeting": schemas.Targeting.from_json(row["targeting"]).as_graph(),
            "frequency_cap": row["frequency_cap"],
            "created_time": schemas.iso(row["created_at"]),
            "updated_time": schemas.iso(row["updated_at"]),
        }
        return {k: v for k, v in view.items() if v is not None}

    def _ad_view(self, row: Mapping[str, Any], ad_set_status: str, campaign_status: str) -> dict[str, Any]:
        creative: dict[str, Any] = {
            "headline": row["headline"],
            "body": row["body"],
            "call_to_action": {"type": row["call_to_action"]},
            "prefilled_text": row["prefilled_text"],
            "welcome_message": row["welcome_message"],
        }
        if row["media_id"] is not None:
            creative[f"{row['media_type']}_id"] = str(row["media_id"])
            creative[f"{row['media_type']}_url"] = self.media_url(row["id"], row["media_id"])
        feedback = (
            {} if not row["review_reason"] else {"global": {row["review_reason"].split(":")[0]: row["review_reason"]}}
        )
        return {
            "id": str(row["id"]),
            "account_id": str(row["account_id"]),
            "campaign_id": str(row["campaign_id"]),
            "adset_id": str(row["ad_set_id"]),
            "name": row["name"],
            "status": row["status"],
            "effective_status": effective_status(row, ad_set_status, campaign_status),
            "review_status": row["review_status"],
            "review_feedback": feedback,
            "quality_score": row["quality"],
            "creative": creative,
            "link": {"code": row["link_code"], "url": self._links.link_url(row["link_code"])},
            "created_time": schemas.iso(row["created_at"]),
            "updated_time": schemas.iso(row["updated_at"]),
        }

    async def list_edge(
        self,
        scope: GraphScope,
        raw_account_id: str,
        edge: str,
        fields: str | None,
        limit: int | None,
        after: str | None,
    ) -> tuple[dict[str, Any], str | None]:
        """`GET /act_{id}/campaigns|adsets|ads`: a page of live objects, oldest first, and the next cursor."""
        account_id = _account_id(raw_account_id)
        size = _limit(limit)
        cursor = decode_cursor(after) if after else None
        table, view_fields, node = {
            "campaigns": (ad_campaigns, CAMPAIGN_VIEW, "Campaign"),
            "adsets": (ad_sets, ADSET_VIEW, "AdSet"),
            "ads": (ads, AD_VIEW, "Ad"),
        }[edge]
        _select({}, fields, view_fields, node)  # a bad selection is refused even when the page is empty

        def unit(conn: Connection) -> tuple[list[dict[str, Any]], bool]:
            account = self._own_account_in(conn, scope, account_id, raw_account_id)
            rows = repo.page_of(conn, table, account_id, cursor, size + 1)
            more = len(rows) > size
            rows = rows[:size]
            campaigns = repo.statuses_of(conn, ad_campaigns, account_id)
            sets = repo.statuses_of(conn, ad_sets, account_id) if edge == "ads" else {}
            views = []
            for row in rows:
                if edge == "campaigns":
                    view = self._campaign_view(row)
                elif edge == "adsets":
                    view = self._ad_set_view(row, campaigns.get(row["campaign_id"], "DELETED"), account["currency"])
                else:
                    view = self._ad_view(
                        row, sets.get(row["ad_set_id"], "DELETED"), campaigns.get(row["campaign_id"], "DELETED")
                    )
                views.append(_select(view, fields, view_fields, node))
            return views, more

        views, more = await self._db.read(unit)
        first = int(views[0]["id"]) if views else None
        last = int(views[-1]["id"]) if views else None
        page = graph_page(views, first, last, None)
        return page, (encode_cursor(last) if more and last is not None else None)

    def _object_in(
        self, conn: Connection, scope: GraphScope, oid: int
    ) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """(kind, row, account) of an ads object this token's business owns, or None."""
        for kind, getter in (("campaign", repo.get_campaign), ("adset", repo.get_ad_set), ("ad", repo.get_ad)):
            row = getter(conn, oid)
            if row is not None:
                account = repo.get_account(conn, row["account_id"])
                if account is None or account["waba_id"] != scope.waba_id:
                    return None
                return kind, row, account
        return None

    def _view_in(
        self, conn: Connection, kind: str, row: Mapping[str, Any], account: Mapping[str, Any]
    ) -> dict[str, Any]:
        if kind == "campaign":
            return self._campaign_view(row)
        campaign = repo.get_campaign(conn, row["campaign_id"])
        campaign_status = campaign["status"] if campaign is not None else "DELETED"
        if kind == "adset":
            return self._ad_set_view(row, campaign_status, account["currency"])
        ad_set = repo.get_ad_set(conn, row["ad_set_id"])
        return self._ad_view(row, ad_set["status"] if ad_set is not None else "DELETED", campaign_status)

    async def graph_object(self, scope: GraphScope, oid: int, fields: str | None) -> dict[str, Any] | None:
        """`GET /{id}` of a campaign, ad set or ad (None: not an ads object of this business)."""

        def unit(conn: Connection) -> tuple[str, dict[str, Any]] | None:
            found = self._object_in(conn, scope, oid)
            if found is None:
                return None
            kind, row, account = found
            return kind, self._view_in(conn, kind, row, account)

        found = await self._db.read(unit)
        if found is None:
            return None
        kind, view = found
        allowed, node = {
            "campaign": (CAMPAIGN_VIEW, "Campaign"),
            "adset": (ADSET_VIEW, "AdSet"),
            "ad": (AD_VIEW, "Ad"),
        }[kind]
        return _select(view, fields, allowed, node)

    # --- edits -----------------------------------------------------------------------------------------------------

    async def update_graph_object(self, scope: GraphScope, oid: int, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """`POST /{id}` of a campaign, ad set or ad: status, name, budget, bid, schedule, targeting or creative,
        checked as a create is (None: not an ads object of this business)."""
        found = await self._db.read(lambda conn: self._object_in(conn, scope, oid))
        if found is None:
            return None
        kind, row, account = found
        if row["status"] == "DELETED":
            raise GraphError(100, f"Object {oid} is deleted and cannot be edited")
        params = {k: v for k, v in body.items() if k not in ("access_token", "fields")}
        if not params:
            raise GraphError(100, "send at least one field to change")
        now = self._clock.now_ms()
        if kind == "ad":
            return await self._edit_ad(scope, row, params, now)
        campaign_values = self._campaign_edit(row, params) if kind == "campaign" else {}
        set_data = await self._ad_set_edit(row, params, now) if kind == "adset" else None
        table: Table = ad_campaigns if kind == "campaign" else ad_sets

        def unit(conn: Connection) -> None:
            current = repo.get_campaign(conn, oid) if kind == "campaign" else repo.get_ad_set(conn, oid)
            if current is None or current["status"] == "DELETED":
                raise GraphError(100, f"Object {oid} is deleted and cannot be edited")
            values = dict(campaign_values)
            if set_data is not None:
                campaign = repo.get_campaign(conn, row["campaign_id"])
                objective = campaign["objective"] if campaign is not None else "OUTCOME_ENGAGEMENT"
                values = self._ad_set_values(set_data, objective, account["currency"], row["phone_number_id"])
            values["updated_at"] = now
            repo.update_row(conn, table, oid, values)

        await self._db.write(f"ads.update_{kind}", unit)
        await self._changed(row["account_id"])
        return {"success": True}

    @staticmethod
    def _campaign_edit(row: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        fixed = sorted(set(params) & {"objective", "buying_type"})
        if fixed:
            raise bad(fixed[0], "cannot change after the campaign is created")
        merged = {"name": row["name"], "objective": row["objective"], "status": row["status"], **params}
        data = schemas.campaign(merged)
        return {"name": data.name, "status": data.status}

    async def _ad_set_edit(self, row: Mapping[str, Any], params: Mapping[str, Any], now: int) -> schemas.AdSetInput:
        fixed = sorted(set(params) & schemas.ADSET_FIXED)
        if fixed:
            raise bad(fixed[0], "cannot change after the ad set is created")
        account = await self._db.read(lambda conn: repo.get_account(conn, row["account_id"]))
        factor = self._factor(account["currency"] if account is not None else "USD")
        stored = schemas.Targeting.from_json(row["targeting"])
        merged: dict[str, Any] = {
            "name": row["name"],
            "status": row["status"],
            "daily_budget": None if row["daily_budget"] is None else row["daily_budget"] // factor,
            "lifetime_budget": None if row["lifetime_budget"] is None else row["lifetime_budget"] // factor,
            "start_time": row["start_time"] // 1000,
            "end_time": None if row["end_time"] is None else row["end_time"] // 1000,
            "bid_strategy": row["bid_strategy"],
            "bid_amount": None if row["bid_amount"] is None else row["bid_amount"] // factor,
            "billing_event": row["billing_event"],
            "optimization_goal": row["optimization_goal"],
            "pacing_type": [row["pacing"]],
            "promoted_object": {"whatsapp_phone_number": str(row["phone_number_id"])},
            "targeting": {
                "geo_locations": {"countries": list(stored.countries)},
                "languages": list(stored.languages),
                "interests": [{"id": name} for name in stored.interests],
            },
            "frequency_cap": row["frequency_cap"],
        }
        if "daily_budget" in params:
            merged["lifetime_budget"] = None
        if "lifetime_budget" in params:
            merged["daily_budget"] = None
        merged.update(params)
        data = schemas.ad_set(merged, now_ms=now, no_interest_markets=self._no_interest, creating=False)
        if "end_time" in params and data.end_time is not None and data.end_time <= now:
            raise bad("end_time", "must be in the future")
        return data

    async def _edit_ad(
        self, scope: GraphScope, row: Mapping[str, Any], params: Mapping[str, Any], now: int
    ) -> dict[str, Any]:
        fixed = sorted(set(params) & {"adset_id"})
        if fixed:
            raise bad(fixed[0], "cannot change after the ad is created")
        creative_in = schemas._json_param("creative", params.get("creative", {}))
        if not isinstance(creative_in, dict):
            raise bad("creative", "must be an object")
        stored_creative: dict[str, Any] = {
            "headline": row["headline"],
            "body": row["body"],
            "prefilled_text": row["prefilled_text"],
            "welcome_message": row["welcome_message"],
        }
        if row["media_id"] is not None and not ({"image_id", "video_id"} & set(creative_in)):
            stored_creative[f"{row['media_type']}_id"] = row["media_id"]
        merged = {
            "name": row["name"],
            "status": row["status"],
            **params,
            "creative": {**stored_creative, **creative_in},
        }
        data = schemas.ad(merged)
        creative_changed = "creative" in params
        owners = await self._owners(scope.waba_id) if creative_changed and data.creative.media_id is not None else set()
        oid = int(row["id"])

        def unit(conn: Connection) -> None:
            current = repo.get_ad(conn, oid)
            if current is None or current["status"] == "DELETED":
                raise GraphError(100, f"Object {oid} is deleted and cannot be edited")
            values: dict[str, Any] = {"name": data.name, "status": data.status, "updated_at": now}
            if creative_changed:
                if data.creative.media_id != current["media_id"]:
                    self._check_media_in(conn, data.creative, owners)
                ad_set = repo.get_ad_set(conn, current["ad_set_id"])
                number_id = ad_set["phone_number_id"] if ad_set is not None else 0
                verdict = self._review_in(conn, data.creative, number_id)
                values.update(self._creative_values(data.creative, verdict))
                self._links.update_ad_link_in(conn, current["link_code"], self._link_texts(oid, data.creative))
            repo.update_row(conn, ads, oid, values)

        await self._db.write("ads.update_ad", unit)
        await self._changed(row["account_id"])
        return {"success": True}

    async def delete_graph_object(self, scope: GraphScope, oid: int) -> dict[str, Any] | None:
        """`DELETE /{id}` of a campaign, ad set or ad: its status becomes DELETED (kept for insights and spend)."""
        found = await self._db.read(lambda conn: self._object_in(conn, scope, oid))
        if found is None:
            return None
        kind, row, _ = found
        table = {"campaign": ad_campaigns, "adset": ad_sets, "ad": ads}[kind]
        now = self._clock.now_ms()
        await self._db.write(
            f"ads.delete_{kind}",
            lambda conn: repo.update_row(conn, table, oid, {"status": "DELETED", "updated_at": now}),
        )
        await self._changed(row["account_id"])
        return {"success": True}

    # --- public media and the console ------------------------------------------------------------------------------

    async def creative_media(self, raw_ad_id: str) -> media.MediaRow | None:
        """The uploaded image or video of an approved, live ad (public: publishers' pages show it)."""
        ad_id = parse_id(raw_ad_id)
        if ad_id is None:
            return None

        def unit(conn: Connection) -> media.MediaRow | None:
            row = repo.get_ad(conn, ad_id)
            if row is None or row["media_id"] is None or row["review_status"] != review.APPROVED:
                return None
            if row["status"] == "DELETED":
                return None
            return media.get_media(conn, row["media_id"])

        return await self._db.read(unit)

    async def overview(self, waba_id: int) -> dict[str, Any]:
        """What the console's Ads page lists: every live campaign with its ad sets and ads, budgets in micros and
        today's spend (the account's day)."""

        def unit(conn: Connection) -> dict[str, Any]:
            account = repo.account_of_waba(conn, waba_id)
            if account is None:
                return {"account": None, "campaigns": []}
            account_id = int(account["id"])
            day = datetime.fromtimestamp(self._clock.now_ms() / 1000, ZoneInfo(account["timezone"])).strftime(
                "%Y-%m-%d"
            )
            spent = repo.spent_on_day(conn, account_id, day)
            sets = repo.rows_of_account(conn, ad_sets, account_id)
            ads_rows = repo.rows_of_account(conn, ads, account_id)
            campaigns = []
            for campaign in repo.rows_of_account(conn, ad_campaigns, account_id):
                own_sets = [s for s in sets if s["campaign_id"] == campaign["id"]]
                set_status = {s["id"]: s["status"] for s in own_sets}
                own_ads = [
                    {
                        **a,
                        "effective_status": effective_status(
                            a, set_status.get(a["ad_set_id"], "DELETED"), campaign["status"]
                        ),
                    }
                    for a in ads_rows
                    if a["campaign_id"] == campaign["id"]
                ]
                campaigns.append(
                    {
                        **campaign,
                        "ad_sets": own_sets,
                        "ads": own_ads,
                        "daily_budget": sum(s["daily_budget"] or 0 for s in own_sets),
                        "lifetime_budget": sum(s["lifetime_budget"] or 0 for s in own_sets),
                        "spent_today": sum(spent.get(s["id"], 0) for s in own_sets),
                    }
                )
            return {"account": account, "campaigns": campaigns, "day": day}

        return await self._db.read(unit)
