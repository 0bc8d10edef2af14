"""What one business message costs, as pure decisions under Meta's two pricing models (no I/O, no clock).

PMP (per-message pricing, Meta's model since 2025-07-01): a template is charged when delivered, at its send-time
category's rate for the recipient's market on that day, discounted by the monthly volume band for utility and
authentication. Free: everything in a free-entry-point window; non-template messages and utility templates in
the customer service window.

CBP (conversation-based pricing, Meta's model before 2025-07-01): the first delivered message of a category opens
a 24 h conversation of that category, charged once at the per-conversation rate; the messages inside it cost
nothing more. Service conversations are free since 2024-11-01; a free-entry-point window makes everything free.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from parley.billing.ratecard import PriceList, PricingModel
from parley.billing.tiers import Band, VolumeTiers
from parley.kit.money import apply_discount

PricingType = Literal["regular", "free_customer_service", "free_entry_point"]

TEMPLATE_CATEGORIES = frozenset({"marketing", "utility", "authentication"})
# Categories Meta prices with monthly volume tiers (marketing is one band).
TIERED_CATEGORIES = frozenset({"utility", "authentication", "authentication_international"})
CBP_FREE_SERVICE_FROM = datetime.date(2024, 11, 1)


@dataclass(frozen=True)
class MessageFacts:
    """What the send path recorded."""

    category: str  # template category at SEND time ("marketing"|"utility"|"authentication"), "service" otherwise
    is_template: bool
    in_service_window: bool  # CSW open at send
    in_free_entry_point: bool  # FEP window open at send (or opened by this send)
    market: str


@dataclass(frozen=True)
class Quote:
    pricing_model: PricingModel
    category: str  # billed category (authentication_international when it applies)
    pricing_type: PricingType
    billable: bool
    amount: int  # micros; 0 when free
    list_rate: int  # tier-0 micros (after markup) for the category/market
    band: Band | None  # the volume band applied (PMP regular utility/auth), None otherwise
    opens_conversation: bool  # CBP: this message opens a new charged/free conversation


def _checked_category(facts: MessageFacts) -> str:
    if facts.is_template:
        if facts.category not in TEMPLATE_CATEGORIES:
            raise ValueError(f"a template's category is marketing, utility or authentication, not '{facts.category}'")
        return facts.category
    if facts.category != "service":
        raise ValueError(f"a non-template message has category 'service', not '{facts.category}'")
    return "service"


def _billed_category(
    price_list: PriceList, day: datetime.date, market: str, category: str, auth_international: bool
) -> str:
    # An authentication template to a number outside the sender's country is charged the market's
    # authentication-international rate where the market has one, else the authentication rate.
    if (
        category == "authentication"
        and auth_international
        and price_list.rate(day, market, "authentication_international") is not None
    ):
        return "authentication_international"
    return category


def _list_rate_or_zero(price_list: PriceList, day: datetime.date, market: str, category: str) -> int:
    """Informational list rate on a free message: a blank cell is no reason to refuse a free message."""
    micros = price_list.rate(day, market, category)
    return 0 if micros is None else micros


def pmp_quote(
    price_list: PriceList,
    tiers: VolumeTiers,
    facts: MessageFacts,
    day: datetime.date,
    nth_in_month: int,
    *,
    auth_international: bool = False,
) -> Quote:
    """Price one delivered message under PMP.

    `nth_in_month` counts this message among the business's charged messages of its billed category and market
    this month (1-based), so the graduated band can be found; it is ignored for free messages.
    Raises NoRateError when a charged message's rate cell is blank.
    """
    category = _billed_category(price_list, day, facts.market, _checked_category(facts), auth_international)
    free_type: PricingType | None = None
    if facts.in_free_entry_point:
        free_type = "free_entry_point"
    elif not facts.is_template or (category == "utility" and facts.in_service_window):
        # Non-template messages only go out inside the window; one delivered after it closed is still free.
        free_type = "free_customer_service"
    if free_type is not None:
        list_rate = _list_rate_or_zero(price_list, day, facts.market, category)
        return Quote("PMP", category, free_type, False, 0, list_rate, None, False)
    list_rate = price_list.charged_rate(day, facts.market, category)
    band = tiers.band_for(category, nth_in_month) if category in TIERED_CATEGORIES else None
    amount = list_rate if band is None else apply_discount(list_rate, band.discount_bps)
    return Quote("PMP", category, "regular", True, amount, list_rate, band, False)


def cbp_quote(
    price_list: PriceList,
    facts: MessageFacts,
    day: datetime.date,
    open_conversation_category: str | None,
    *,
    auth_international: bool = False,
) -> Quote:
    """Price one delivered message under CBP.

    `open_conversation_category` is the category of the open conversation this message would fall in (a 24 h
    conversation of the same category, or the open free-entry-point conversation), None when there is none;
    a conversation of another category does not cover the message.
    Raises NoRateError when a conversation is opened at a blank rate cell.
    """
    category = _billed_category(price_list, day, facts.market, _checked_category(facts), auth_international)
    if facts.in_free_entry_point:
        list_rate = _list_rate_or_zero(price_list, day, facts.market, category)
        opens = open_conversation_category is None
        return Quote("CBP", category, "free_entry_point", False, 0, list_rate, None, opens)
    inside = open_conversation_category is not None and open_conversation_category in {facts.category, category}
    if category == "service" and day >= CBP_FREE_SERVICE_FROM:
        list_rate = _list_rate_or_zero(price_list, day, facts.market, category)
        return Quote("CBP", category, "free_customer_service", False, 0, list_rate, None, not inside)
    if inside:
        # Meta marks every message of a paid conversation billable; the charge happened once, on the opener.
        list_rate = _list_rate_or_zero(price_list, day, facts.market, category)
        return Quote("CBP", category, "regular", True, 0, list_rate, None, False)
    list_rate = price_list.charged_rate(day, facts.market, category)
    return Quote("CBP", category, "regular", True, list_rate, list_rate, None, True)
