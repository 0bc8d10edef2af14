"""The Conversions API for business messaging: a business reports what happened in a chat that an ad started
(`POST /{dataset_id}/events`), keyed by the click's `ctwa_clid`. The batch is all or nothing: one bad event
(an unknown or another business's click, an event older than 7 days, an unsupported name) refuses it all and
nothing is written. Meta does not deduplicate these events; Parley does, by event_id, else by (event_name,
ctwa_clid, event_time), so a replayed batch is accepted and counted once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import Connection

from parley.ads import attribution_repository as repo
from parley.ads import repository as accounts
from parley.graph import GraphError, GraphScope, object_not_found
from parley.graph.errors import new_trace_id
from parley.kit.clock import Clock
from parley.kit.ids import IdGenerator, parse_id
from parley.platform.db import Database

SUPPORTED_EVENTS = frozenset(
    {
        "Purchase",
        "LeadSubmitted",
        "InitiateCheckout",
        "AddToCart",
        "ViewContent",
        "OrderCreated",
        "OrderShipped",
        "OrderDelivered",
        "OrderCanceled",
        "OrderReturned",
        "CartAbandoned",
        "QualifiedLead",
        "RatingProvided",
        "ReviewProvided",
    }
)
MAX_EVENTS = 1000
MAX_AGE_S = 7 * 86_400
FUTURE_SKEW_S = 300  # a client's clock may run a little ahead
_EVENT_KEYS = frozenset(
    {"event_name", "event_time", "action_source", "messaging_channel", "event_id", "user_data", "custom_data"}
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class _Event:
    index: int
    event_name: str
    event_time_ms: int
    ctwa_clid: str
    event_id: str
    value: int
    currency: str | None


class ConversionsApi:
    def __init__(self, db: Database, clock: Clock, ids: IdGenerator) -> None:
        self._db, self._clock, self._ids = db, clock, ids

    async def dataset(self, scope: GraphScope, raw_waba_id: str, *, create: bool) -> dict[str, str]:
        """`POST /{waba_id}/dataset` (the WABA's one dataset, made on first call) and `GET` (read it)."""
        waba_id = parse_id(raw_waba_id)
        if waba_id is None or waba_id != scope.waba_id:
            raise object_not_found(raw_waba_id)
        if not create:
            found = await self._db.read(lambda conn: repo.dataset_of_waba(conn, waba_id))
            if found is None:
                raise GraphError(100, "This business account has no dataset yet: POST /{waba_id}/dataset makes it")
            return {"id": str(found)}
        new_id, now = self._ids.next_id(), self._clock.now_ms()
        made = await self._db.write("ads.dataset", lambda conn: repo.insert_dataset(conn, new_id, waba_id, now))
        return {"id": str(made)}

    async def events(self, scope: GraphScope, raw_dataset_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /{dataset_id}/events`: validate the whole batch, then store each new event against its click's ad."""
        dataset_id = parse_id(raw_dataset_id)
        if dataset_id is None:
            raise object_not_found(raw_dataset_id)
        now_ms = self._clock.now_ms()
        parsed = parse_batch(params, scope.waba_id, now_ms // 1000)

        def unit(conn: Connection) -> int:
            if repo.waba_of_dataset(conn, dataset_id) != scope.waba_id:
                raise object_not_found(raw_dataset_id)
            account = accounts.account_of_waba(conn, scope.waba_id)
            if account is None:
                raise GraphError(100, "This business account has no ad account: there are no clicks to attribute")
            rows = []
            for event in parsed:
                clicked = repo.click(conn, event.ctwa_clid)
                ad = None if clicked is None or clicked.account_id != account["id"] else repo.ad_of(conn, clicked.ad_id)
                if ad is None or ad.waba_id != scope.waba_id:
                    raise GraphError(
                        100,
                        f"data[{event.index}].user_data.ctwa_clid is not a click of this business account's ads",
                    )
                rows.append((ad, event))
            stored = 0
            for ad, event in rows:
                stored += repo.insert_conversion(
                    conn,
                    repo.ConversionRow(
                        id=self._ids.next_id(),
                        account_id=ad.account_id,
                        campaign_id=ad.campaign_id,
                        ad_set_id=ad.ad_set_id,
                        ad_id=ad.ad_id,
                        ctwa_clid=event.ctwa_clid,
                        attribution="click",
                        source="capi",
                        event_name=event.event_name,
                        event_id=event.event_id,
                        value=event.value,
                        currency=event.currency,
                        person_id=None,
                        event_time=event.event_time_ms,
                        created_at=now_ms,
                    ),
                )
            return stored

        await self._db.write("ads.capi_events", unit)
        return {"events_received": len(parsed), "messages": [], "fbtrace_id": new_trace_id()}


def parse_batch(params: Mapping[str, Any], waba_id: int, now_s: int) -> list[_Event]:
    """Meta's body checked event by event; the first problem refuses the batch, naming the event's index."""
    unknown = sorted(set(params) - {"data", "partner_agent", "access_token", "test_event_code"})
    if unknown:
        raise GraphError(100, f"Param {unknown[0]} is not a field of a Conversions API request")
    data = params.get("data")
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise GraphError(100, "Param data must be a JSON array of events") from exc
    if not isinstance(data, list) or not data:
        raise GraphError(100, "Param data must be a non-empty array of events")
    if len(data) > MAX_EVENTS:
        raise GraphError(100, f"Param data holds {len(data)} events; at most {MAX_EVENTS} per request")
    partner = params.get("partner_agent")
    if partner is not None and (not isinstance(partner, str) or len(partner) > 100):
        raise GraphError(100, "Param partner_agent must be a string of at most 100 characters")
    events: list[_Event] = []
    seen: set[str] = set()
    for index, raw in enumerate(data):
        event = _parse_event(index, raw, waba_id, now_s)
        if event.event_id in seen:
            continue  # the same event twice in one batch counts once
        seen.add(event.event_id)
        events.append(event)
    return events


def _parse_event(index: int, raw: Any, waba_id: int, now_s: int) -> _Event:
    at = f"data[{index}]"
    if not isinstance(raw, dict):
        raise GraphError(100, f"{at} must be an event object")
    extra = sorted(set(raw) - _EVENT_KEYS)
    if extra:
        raise GraphError(100, f"{at}.{extra[0]} is not an event field")
    name = raw.get("event_name")
    if name not in SUPPORTED_EVENTS:
        raise GraphError(100, f"{at}.event_name must be one of {', '.join(sorted(SUPPORTED_EVENTS))}")
    event_time = raw.get("event_time")
    if isinstance(event_time, str) and event_time.isascii() and event_time.isdigit():
        event_time = int(event_time)
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        raise GraphError(100, f"{at}.event_time must be a Unix time in seconds")
    if event_time < now_s - MAX_AGE_S:
        raise GraphError(100, f"{at}.event_time is more than 7 days old: the whole batch is refused")
    if event_time > now_s + FUTURE_SKEW_S:
        raise GraphError(100, f"{at}.event_time is in the future")
    if raw.get("action_source") != "business_messaging":
        raise GraphError(100, f"{at}.action_source must be 'business_messaging'")
    if raw.get("messaging_channel") != "whatsapp":
        raise GraphError(100, f"{at}.messaging_channel must be 'whatsapp'")
    user = raw.get("user_data")
    if not isinstance(user, dict):
        raise GraphError(100, f"{at}.user_data must be an object with whatsapp_business_account_id and ctwa_clid")
    if str(user.get("whatsapp_business_account_id", "")) != str(waba_id):
        raise GraphError(100, f"{at}.user_data.whatsapp_business_account_id must be this dataset's business account")
    clid = user.get("ctwa_clid")
    if not isinstance(clid, str) or not clid or len(clid) > 64:
        raise GraphError(100, f"{at}.user_data.ctwa_clid must be the click id of the chat's referral")
    value, currency = _custom_data(at, raw.get("custom_data"))
    event_id = raw.get("event_id")
    if event_id is None:
        event_id = f"{name}:{clid}:{event_time}"
    elif not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        raise GraphError(100, f"{at}.event_id must be a string of 1 to 128 characters")
    return _Event(index, str(name), event_time * 1000, clid, event_id, value, currency)


def _custom_data(at: str, custom: Any) -> tuple[int, str | None]:
    """`custom_data.value` in units of `currency`, exactly in micros (a float's text, never its binary value)."""
    if custom is None:
        return 0, None
    if not isinstance(custom, dict):
        raise GraphError(100, f"{at}.custom_data must be an object")
    currency = custom.get("currency")
    raw_value = custom.get("value")
    if currency is not None and (not isinstance(currency, str) or not _CURRENCY.match(currency.upper())):
        raise GraphError(100, f"{at}.custom_data.currency must be an ISO 4217 code")
    if raw_value is None:
        return 0, None if currency is None else currency.upper()
    if currency is None:
        raise GraphError(100, f"{at}.custom_data.currency is required with a value")
    if isinstance(raw_value, bool) or not isinstance(raw_value, (int, float, str)):
        raise GraphError(100, f"{at}.custom_data.value must be a number")
    try:
        amount = Decimal(str(raw_value))
    except InvalidOperation as exc:
        raise GraphError(100, f"{at}.custom_data.value must be a number") from exc
    micros = amount * MICROS
    if not amount.is_finite() or amount < 0 or micros != micros.to_integral_value() or micros >= 2**62:
        raise GraphError(100, f"{at}.custom_data.value must be a non-negative amount with at most 6 decimals")
    return int(micros), currency.upper()
