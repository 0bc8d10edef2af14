"""What the Marketing-API-like routes accept, checked field by field: every refusal is Meta's error 100 naming the
field, before anything is written. Money arrives in the currency's minor units (as Meta's does) and leaves here in
micros; times arrive as ISO 8601 or epoch seconds and leave as epoch milliseconds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from parley.ads.segments import COUNTRIES, LANGUAGES, segment_named
from parley.graph import GraphError

OBJECTIVES = ("OUTCOME_ENGAGEMENT", "OUTCOME_LEADS", "OUTCOME_SALES", "OUTCOME_TRAFFIC")
STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "DELETED")
BID_STRATEGIES = ("LOWEST_COST_WITHOUT_CAP", "COST_CAP", "LOWEST_COST_WITH_BID_CAP")
CAPPED = ("COST_CAP", "LOWEST_COST_WITH_BID_CAP")
BILLING_EVENTS = ("IMPRESSIONS", "CLICKS")
# Which optimization goals each objective allows (reference §2, limited to the goals Parley measures).
GOALS_BY_OBJECTIVE: dict[str, tuple[str, ...]] = {
    "OUTCOME_ENGAGEMENT": ("CONVERSATIONS", "LINK_CLICKS"),
    "OUTCOME_LEADS": ("CONVERSATIONS",),
    "OUTCOME_SALES": ("CONVERSATIONS", "OFFSITE_CONVERSIONS", "LINK_CLICKS", "IMPRESSIONS", "REACH"),
    "OUTCOME_TRAFFIC": ("CONVERSATIONS", "LINK_CLICKS", "IMPRESSIONS", "REACH"),
}
GOALS = ("CONVERSATIONS", "LINK_CLICKS", "IMPRESSIONS", "REACH", "OFFSITE_CONVERSIONS")
MAX_NAME, MAX_HEADLINE, MAX_BODY, MAX_PREFILLED, MAX_WELCOME = 200, 40, 500, 300, 500
DEFAULT_PREFILLED = "Hello! Can I get more info on this?"
MAX_FREQUENCY_CAP = 100
_MAX_MINOR = 10**12  # a budget or bid beyond this many minor units is a typo, not a plan
_MAX_MS = 253402300799000  # 9999-12-31


def bad(field: str, why: str) -> GraphError:
    return GraphError(100, f"Param {field} {why}")


def _json_param(field: str, value: Any) -> Any:
    """Graph form posts carry objects as JSON strings; JSON bodies carry them as objects."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise bad(field, "is not valid JSON") from exc
    return value


def text(field: str, value: Any, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise bad(field, "must be a string")
    stripped = value.strip()
    if required and not stripped:
        raise bad(field, "is required")
    if len(stripped) > limit:
        raise bad(field, f"must be at most {limit} characters (got {len(stripped)})")
    return stripped


def enum(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.upper() not in allowed:
        raise bad(field, f"must be one of {', '.join(allowed)}")
    return value.upper()


def minor_amount(field: str, value: Any) -> int:
    """A positive whole number of minor units (cents)."""
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,15}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(field, "must be a whole number of the currency's minor units (cents)")
    if value <= 0:
        raise bad(field, "must be greater than zero")
    if value > _MAX_MINOR:
        raise bad(field, "is too large")
    return value


def timestamp(field: str, value: Any) -> int:
    """Epoch milliseconds of an ISO 8601 time (UTC when it names no offset) or epoch seconds."""
    if isinstance(value, str) and re.fullmatch(r"\d{1,12}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        ms = value * 1000
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise bad(field, "must be an ISO 8601 time or epoch seconds") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        ms = int(parsed.timestamp() * 1000)
    else:
        raise bad(field, "must be an ISO 8601 time or epoch seconds")
    if not 0 <= ms <= _MAX_MS:
        raise bad(field, "is out of range")
    return ms


def iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_id(field: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,19}", value.strip()) and 0 < int(value) < 2**63:
        return int(value)
    raise bad(field, "must be the id of an object of this ad account")


def unknown_fields(params: Mapping[str, Any], allowed: frozenset[str], node: str) -> None:
    extra = sorted(set(params) - allowed - {"access_token", "fields"})
    if extra:
        raise bad(extra[0], f"is not a field of {node}")


# --- campaigns ---------------------------------------------------------------------------------------------------

CAMPAIGN_FIELDS = frozenset({"name", "objective", "status", "special_ad_categories", "buying_type"})
CAMPAIGN_EDITABLE = frozenset({"name", "status", "special_ad_categories"})


@dataclass(frozen=True)
class CampaignInput:
    name: str
    objective: str
    status: str


def campaign(params: Mapping[str, Any]) -> CampaignInput:
    unknown_fields(params, CAMPAIGN_FIELDS, "Campaign")
    categories = _json_param("special_ad_categories", params.get("special_ad_categories", []))
    if categories not in ([], ["NONE"], "NONE", None):
        raise bad("special_ad_categories", "must be [] (housing, employment, credit and politics ads are not served)")
    if params.get("buying_type", "AUCTION") != "AUCTION":
        raise bad("buying_type", "must be AUCTION")
    return CampaignInput(
        name=text("name", params.get("name"), MAX_NAME, required=True),
        objective=enum("objective", params.get("objective"), OBJECTIVES),
        status=enum("status", params.get("status", "PAUSED"), STATUSES),
    )


# --- ad sets -------------------------------------------------------------------------------------------------------

ADSET_FIELDS = frozenset(
    {
        "name", "campaign_id", "daily_budget", "lifetime_budget", "start_time", "end_time", "bid_strategy",
        "bid_amount", "billing_event", "optimization_goal", "pacing_type", "destination_type", "promoted_object",
        "targeting", "frequency_cap", "status",
    }
)  # fmt: skip
ADSET_FIXED = frozenset({"campaign_id", "promoted_object", "destination_type", "billing_event"})


@dataclass(frozen=True)
class Targeting:
    countries: tuple[str, ...]
    languages: tuple[str, ...]
    interests: tuple[str, ...]

    def as_json(self) -> str:
        return orjson.dumps(
            {"countries": list(self.countries), "languages": list(self.languages), "interests": list(self.interests)}
        ).decode()

    @staticmethod
    def from_json(raw: str) -> Targeting:
        data = orjson.loads(raw or "{}")
        return Targeting(
            tuple(data.get("countries", [])), tuple(data.get("languages", [])), tuple(data.get("interests", []))
        )

    def as_graph(self) -> dict[str, Any]:
        view: dict[str, Any] = {}
        if self.countries:
            view["geo_locations"] = {"countries": list(self.countries)}
        if self.languages:
            view["languages"] = list(self.languages)
        if self.interests:
            view["interests"] = [{"id": name, "name": name} for name in self.interests]
        return view


@dataclass(frozen=True)
class AdSetInput:
    name: str
    status: str
    daily_budget: int | None  # minor units
    lifetime_budget: int | None
    start_time: int  # ms
    end_time: int | None
    bid_strategy: str
    bid_amount: int | None  # minor units
    billing_event: str
    optimization_goal: str
    pacing: str
    whatsapp_phone_number: str
    targeting: Targeting
    frequency_cap: int


def _codes(field: str, value: Any, known: frozenset[str], upper: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(field, "must be a list of codes")
    out: list[str] = []
    for raw in value:
        code = raw.strip().upper() if upper else raw.strip().lower()
        if code not in known:
            raise bad(field, f"has an unknown code '{raw[:16]}'")
        if code not in out:
            out.append(code)
    return tuple(out)


def targeting(value: Any, no_interest_markets: frozenset[str]) -> Targeting:
    value = _json_param("targeting", value if value is not None else {})
    if not isinstance(value, dict):
        raise bad("targeting", "must be an object")
    extra = sorted(set(value) - {"geo_locations", "locales", "languages", "interests", "age_min", "age_max"})
    if extra:
        raise bad(f"targeting.{extra[0]}", "is not supported (markets, languages and interests only)")
    geo = value.get("geo_locations", {})
    if not isinstance(geo, dict) or set(geo) - {"countries"}:
        raise bad("targeting.geo_locations", "must be {countries: [ISO 3166 codes]}")
    countries = _codes("targeting.geo_locations.countries", geo.get("countries", []), COUNTRIES, upper=True)
    languages = _codes("targeting.languages", value.get("languages", value.get("locales", [])), LANGUAGES, upper=False)
    raw_interests = value.get("interests", [])
    if not isinstance(raw_interests, list):
        raise bad("targeting.interests", "must be a list of {id} or {name}")
    interests: list[str] = []
    for item in raw_interests:
        key = item.get("id", item.get("name")) if isinstance(item, dict) else item
        name = segment_named(key) if isinstance(key, str) else None
        if name is None:
            raise bad("targeting.interests", f"has an unknown segment {str(key)[:40]!r}")
        if name not in interests:
            interests.append(name)
    if interests and countries and all(c in no_interest_markets for c in countries):
        raise bad(
            "targeting.interests",
            "cannot be used when every targeted country is one where ads target by market and language only "
            f"({', '.join(countries)})",
        )
    return Targeting(countries, languages, tuple(interests))


def ad_set(
    params: Mapping[str, Any], *, now_ms: int, no_interest_markets: frozenset[str], creating: bool
) -> AdSetInput:
    """An ad set's fields (the whole set: an edit is the stored set with the changes laid over it)."""
    unknown_fields(params, ADSET_FIELDS, "AdSet")
    daily = params.get("daily_budget")
    lifetime = params.get("lifetime_budget")
    daily_budget = None if daily in (None, "") else minor_amount("daily_budget", daily)
    lifetime_budget = None if lifetime in (None, "") else minor_amount("lifetime_budget", lifetime)
    if (daily_budget is None) == (lifetime_budget is None):
        raise bad("daily_budget", "or lifetime_budget is required (exactly one of them)")
    start = now_ms if params.get("start_time") in (None, "") else timestamp("start_time", params["start_time"])
    end = None if params.get("end_time") in (None, "") else timestamp("end_time", params["end_time"])
    if lifetime_budget is not None and end is None:
        raise bad("end_time", "is required with a lifetime_budget")
    if end is not None and end <= start:
        raise bad("end_time", "must be after start_time")
    if creating and end is not None and end <= now_ms:
        raise bad("end_time", "must be in the future")
    strategy = enum("bid_strategy", params.get("bid_strategy", "LOWEST_COST_WITHOUT_CAP"), BID_STRATEGIES)
    bid = params.get("bid_amount")
    bid_amount = None if bid in (None, "") else minor_amount("bid_amount", bid)
    if strategy in CAPPED and bid_amount is None:
        raise bad("bid_amount", f"is required with bid_strategy {strategy}")
    if strategy not in CAPPED:
        bid_amount = None  # the automatic strategy bids for itself (Meta ignores a bid there too)
    pacing_raw = _json_param("pacing_type", params.get("pacing_type", ["standard"]))
    pacing_list = [pacing_raw] if isinstance(pacing_raw, str) else pacing_raw
    if pacing_list not in (["standard"], ["no_pacing"]):
        raise bad("pacing_type", 'must be ["standard"] or ["no_pacing"]')
    if params.get("destination_type", "WHATSAPP") != "WHATSAPP":
        raise bad("destination_type", "must be WHATSAPP (ads open a chat)")
    promoted = _json_param("promoted_object", params.get("promoted_object"))
    number = promoted.get("whatsapp_phone_number") if isinstance(promoted, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or not number.strip():
        raise bad("promoted_object", "must be {whatsapp_phone_number: a phone number id or number of this account}")
    cap = params.get("frequency_cap", 3)
    if isinstance(cap, str) and cap.strip().isdigit():
        cap = int(cap)
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_FREQUENCY_CAP:
        raise bad("frequency_cap", f"must be a whole number from 1 to {MAX_FREQUENCY_CAP} (impressions per day)")
    return AdSetInput(
        name=text("name", params.get("name"), MAX_NAME, required=True),
        status=enum("status", params.get("status", "PAUSED"), STATUSES),
        daily_budget=daily_budget,
        lifetime_budget=lifetime_budget,
        start_time=start,
        end_time=end,
        bid_strategy=strategy,
        bid_amount=bid_amount,
        billing_event=enum("billing_event", params.get("billing_event", "IMPRESSIONS"), BILLING_EVENTS),
        optimization_goal=enum("optimization_goal", params.get("optimization_goal", "CONVERSATIONS"), GOALS),
        pacing=pacing_list[0],
        whatsapp_phone_number=number.strip(),
        targeting=targeting(params.get("targeting"), no_interest_markets),
        frequency_cap=cap,
    )


# --- ads -----------------------------------------------------------------------------------------------------------

AD_FIELDS = frozenset({"name", "adset_id", "status", "creative"})
CREATIVE_FIELDS = frozenset(
    {"headline", "body", "image_id", "video_id", "call_to_action", "prefilled_text", "welcome_message", "title"}
)


@dataclass(frozen=True)
class CreativeInput:
    headline: str
    body: str
    media_type: str | None  # image | video
    media_id: int | None
    prefilled_text: str
    welcome_message: str


@dataclass(frozen=True)
class AdInput:
    name: str
    status: str
    creative: CreativeInput


def creative(value: Any) -> CreativeInput:
    value = _json_param("creative", value)
    if not isinstance(value, dict):
        raise bad("creative", "must be an object {headline, body, image_id|video_id, call_to_action, ...}")
    extra = sorted(set(value) - CREATIVE_FIELDS)
    if extra:
        raise bad(f"creative.{extra[0]}", "is not a creative field")
    cta = _json_param("creative.call_to_action", value.get("call_to_action", {"type": "WHATSAPP_MESSAGE"}))
    cta_type = cta.get("type") if isinstance(cta, dict) else cta
    if cta_type != "WHATSAPP_MESSAGE":
        raise bad("creative.call_to_action", "must be {type: WHATSAPP_MESSAGE}")
    if value.get("image_id") not in (None, "") and value.get("video_id") not in (None, ""):
        raise bad("creative.image_id", "and creative.video_id cannot both be set")
    media_type: str | None = None
    media_id: int | None = None
    for kind in ("image", "video"):
        raw = value.get(f"{kind}_id")
        if raw not in (None, ""):
            media_type, media_id = kind, graph_id(f"creative.{kind}_id", raw)
    prefilled = text("creative.prefilled_text", value.get("prefilled_text"), MAX_PREFILLED)
    return CreativeInput(
        headline=text("creative.headline", value.get("headline", value.get("title")), MAX_HEADLINE, required=True),
        body=text("creative.body", value.get("body"), MAX_BODY, required=True),
        media_type=media_type,
        media_id=media_id,
        prefilled_text=prefilled or DEFAULT_PREFILLED,
        welcome_message=text("creative.welcome_message", value.get("welcome_message"), MAX_WELCOME),
    )


def ad(params: Mapping[str, Any]) -> AdInput:
    unknown_fields(params, AD_FIELDS, "Ad")
    return AdInput(
        name=text("name", params.get("name"), MAX_NAME, required=True),
        status=enum("status", params.get("status", "PAUSED"), STATUSES),
        creative=creative(params.get("creative")),
    )
