"""Volume tiers and per-message pricing under PMP and CBP: free windows, graduated bands, conversations."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.billing.pricing import MessageFacts, cbp_quote, pmp_quote
from parley.billing.ratecard import NoRateError, PriceList, default_price_list, parse_rate_card_csv
from parley.billing.tiers import (
    Band,
    VolumeTiers,
    VolumeTiersError,
    default_volume_tiers,
    parse_volume_tiers_csv,
)

JAN_2026 = datetime.date(2026, 1, 15)
OCT_2024 = datetime.date(2024, 10, 31)
NOV_2024 = datetime.date(2024, 11, 1)
HEADER = (
    "market,country_codes,currency,pricing_model,marketing,utility,authentication,authentication_international,"
    "effective,note,service"
)


def micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def discounted(rate: int, percent: int) -> int:
    return int((Decimal(rate) * (100 - percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def template(category: str, market: str = "United Kingdom", *, csw: bool = False, fep: bool = False) -> MessageFacts:
    return MessageFacts(category, True, csw, fep, market)


def free_form(market: str = "United Kingdom", *, csw: bool = True, fep: bool = False) -> MessageFacts:
    return MessageFacts("service", False, csw, fep, market)


# --- volume tiers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nth", "label", "discount_bps"),
    [
        (1, "0:100000", 0),
        (100_000, "0:100000", 0),
        (100_001, "100000:500000", 500),
        (500_000, "100000:500000", 500),
        (500_001, "500000:1000000", 1000),
        (1_000_000, "500000:1000000", 1000),
        (1_000_001, "1000000:5000000", 1500),
        (5_000_000, "1000000:5000000", 1500),
        (5_000_001, "5000000:MAX", 2000),
        (10**12, "5000000:MAX", 2000),
    ],
)
def test_default_bands_for_utility_and_authentication(nth: int, label: str, discount_bps: int) -> None:
    tiers = default_volume_tiers()
    for category in ("utility", "authentication"):
        band = tiers.band_for(category, nth)
        assert (band.label, band.discount_bps) == (label, discount_bps)
        assert band.lower <= nth and (band.upper is None or nth <= band.upper)


def test_marketing_and_untiered_categories_are_one_full_price_band() -> None:
    tiers = default_volume_tiers()
    for category in ("marketing", "authentication_international", "service"):
        assert tiers.band_for(category, 7_000_000) == Band(1, None, 0)
        assert tiers.band_for(category, 1).label == "0:MAX"
    with pytest.raises(ValueError):
        tiers.band_for("utility", 0)


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([Band(2, None, 0)], "start at message 1"),
        ([Band(1, 10, 0), Band(12, None, 100)], "gap"),
        ([Band(1, 10, 0), Band(10, None, 100)], "overlap"),
        ([Band(1, None, 0), Band(5, None, 100)], "overlap"),
        ([Band(1, 10, 0)], "no upper limit"),
        ([], "no bands"),
    ],
)
def test_bands_must_be_contiguous_from_one_and_open_ended(bands: list[Band], message: str) -> None:
    with pytest.raises(VolumeTiersError, match=message):
        VolumeTiers({"utility": bands})


def test_bands_themselves_must_make_sense() -> None:
    with pytest.raises(VolumeTiersError):
        Band(0, None, 0)
    with pytest.raises(VolumeTiersError):
        Band(5, 4, 0)
    with pytest.raises(VolumeTiersError):
        Band(1, None, 10_001)
    with pytest.raises(VolumeTiersError, match="unknown category"):
        VolumeTiers({"promotional": [Band(1, None, 0)]})


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("category,from,to,discount_bps\nutility,1,,x\n", 2, "discount_bps 'x'"),
        ("category,from,to,discount_bps\nutility,1,10,0\nutility,11,,-5\n", 3, "discount_bps '-5'"),
        ("category,from,to,discount_bps\nutility,1,,20000\n", 2, "between 0 and 10000"),
        ("category,from,to,discount_bps\nutility,5,4,0\n", 2, "ends before it starts"),
        ("category,from,to,discount_bps\nbogus,1,,0\n", 2, "unknown category"),
        ("category,from,to,discount_bps\nutility,1,\n", 2, "expected 4 fields"),
        ("category,from,discount_bps\n", 1, "missing columns: to"),
        ("", 1, "empty"),
    ],
)
def test_bad_tier_tables_are_refused_with_their_line_number(text: str, line: int, message: str) -> None:
    with pytest.raises(VolumeTiersError, match=message) as caught:
        parse_volume_tiers_csv(text)
    assert caught.value.line == line


@st.composite
def band_tables(draw: st.DrawFn) -> list[Band]:
    widths = draw(st.lists(st.integers(min_value=1, max_value=1_000), max_size=6))
    discounts = draw(st.lists(st.integers(0, 10_000), min_size=len(widths) + 1, max_size=len(widths) + 1))
    bands, lower = [], 1
    for width, discount in zip(widths, discounts, strict=False):
        bands.append(Band(lower, lower + width - 1, discount))
        lower += width
    bands.append(Band(lower, None, discounts[-1]))
    return bands


@given(band_tables(), st.integers(min_value=1, max_value=10_000))
def test_band_for_finds_the_band_holding_the_nth_message(bands: list[Band], nth: int) -> None:
    expected = next(b for b in bands if b.lower <= nth and (b.upper is None or nth <= b.upper))
    assert VolumeTiers({"utility": list(reversed(bands))}).band_for("utility", nth) == expected


# --- PMP ---------------------------------------------------------------------------------------------------------


def test_pmp_everything_in_a_free_entry_point_window_is_free() -> None:
    prices, tiers = default_price_list(), default_volume_tiers()
    for facts in (template("marketing", fep=True), template("authentication", fep=True), free_form(fep=True)):
        quote = pmp_quote(prices, tiers, facts, JAN_2026, 1)
        assert (quote.pricing_type, quote.billable, quote.amount, quote.band) == ("free_entry_point", False, 0, None)
        assert quote.pricing_model == "PMP"
    assert pmp_quote(prices, tiers, template("marketing", fep=True), JAN_2026, 1).list_rate == micros("0.0529")


def test_pmp_service_messages_and_utility_templates_in_the_window_are_free() -> None:
    prices, tiers = default_price_list(), default_volume_tiers()
    service = pmp_quote(prices, tiers, free_form(), JAN_2026, 1)
    assert (service.category, service.pricing_type, service.billable, service.amount) == (
        "service",
        "free_customer_service",
        False,
        0,
    )
    utility = pmp_quote(prices, tiers, template("utility", csw=True), JAN_2026, 1)
    assert (utility.pricing_type, utility.billable, utility.amount) == ("free_customer_service", False, 0)
    assert utility.list_rate == micros("0.0220")


@pytest.mark.parametrize(
    ("facts", "rate"),
    [
        (template("marketing", csw=True), "0.0529"),  # marketing is charged even inside the window
        (template("authentication", csw=True), "0.0220"),
        (template("utility"), "0.0220"),
        (template("marketing", "India"), "0.0118"),
        (template("utility", "Rest of Latin America"), "0.0113"),
        (template("marketing", "Narnia"), "0.0604"),  # unknown market: Other
    ],
)
def test_pmp_charged_templates_pay_the_list_rate_of_their_market(facts: MessageFacts, rate: str) -> None:
    quote = pmp_quote(default_price_list(), default_volume_tiers(), facts, JAN_2026, 1)
    assert (quote.pricing_type, quote.billable, quote.amount, quote.list_rate) == (
        "regular",
        True,
        micros(rate),
        micros(rate),
    )
    assert quote.category == facts.category
    assert quote.opens_conversation is False


def test_pmp_prices_by_the_card_in_effect_on_the_delivery_day() -> None:
    prices, tiers = default_price_list(), default_volume_tiers()
    argentina = template("utility", "Argentina")
    assert pmp_quote(prices, tiers, argentina, datetime.date(2025, 12, 31), 1).amount == micros("0.0289")
    assert pmp_quote(prices, tiers, argentina, datetime.date(2026, 1, 1), 1).amount == micros("0.0260")


@pytest.mark.parametrize(
    ("nth", "percent", "label"),
    [
        (100_000, 0, "0:100000"),
        (100_001, 5, "100000:500000"),
        (1_000_001, 15, "1000000:5000000"),
        (5_000_001, 20, "5000000:MAX"),
    ],
)
def test_pmp_utility_and_authentication_get_the_band_discount(nth: int, percent: int, label: str) -> None:
    prices, tiers = default_price_list(), default_volume_tiers()
    for category, rate in (("utility", "0.0220"), ("authentication", "0.0220")):
        quote = pmp_quote(prices, tiers, template(category), JAN_2026, nth)
        assert quote.band is not None and quote.band.label == label
        assert quote.amount == discounted(micros(rate), percent)
        assert quote.list_rate == micros(rate)
    marketing = pmp_quote(prices, tiers, template("marketing"), JAN_2026, nth)
    assert (marketing.amount, marketing.band) == (micros("0.0529"), None)


def test_pmp_graduated_month_charges_each_band_at_its_own_rate() -> None:
    tiers = parse_volume_tiers_csv("category,from,to,discount_bps\nutility,1,3,0\nutility,4,6,1000\nutility,7,,2500\n")
    prices = default_price_list()
    rate = micros("0.0113")  # Rest of Latin America utility
    total = sum(
        pmp_quote(prices, tiers, template("utility", "Rest of Latin America"), JAN_2026, nth).amount
        for nth in range(1, 11)
    )
    assert total == 3 * rate + 3 * discounted(rate, 10) + 4 * discounted(rate, 25)


def test_pmp_discounts_round_half_up_to_a_micro() -> None:
    cards = parse_rate_card_csv(HEADER + "\nOther,,USD,PMP,,0.000030,,,2025-07-01,,\n", price_list="x")
    tiers = VolumeTiers({"utility": [Band(1, 1, 0), Band(2, None, 500)]})
    quote = pmp_quote(PriceList(cards), tiers, template("utility", "Other"), JAN_2026, 2)
    assert quote.amount == 29  # 30 x 0.95 = 28.5 -> 29


def test_pmp_international_authentication_uses_the_international_rate_where_there_is_one() -> None:
    prices, tiers = default_price_list(), default_volume_tiers()
    india = pmp_quote(prices, tiers, template("authentication", "India"), JAN_2026, 1, auth_international=True)
    assert (india.category, india.amount) == ("authentication_international", micros("0.0280"))
    assert india.band == Band(1, None, 0)  # no discount tiers for international authentication
    uk = pmp_quote(prices, tiers, template("authentication"), JAN_2026, 1, auth_international=True)
    assert (uk.category, uk.amount) == ("authentication", micros("0.0220"))
    domestic = pmp_quote(prices, tiers, template("authentication", "India"), JAN_2026, 1)
    assert (domestic.category, domestic.amount) == ("authentication", micros("0.0014"))
    utility = pmp_quote(prices, tiers, template("utility", "India"), JAN_2026, 1, auth_international=True)
    assert utility.category == "utility"


def test_pmp_charged_message_without_a_rate_is_refused_but_a_free_one_is_not() -> None:
    prices = PriceList(parse_rate_card_csv(HEADER + "\nOther,,USD,PMP,,0.01,0.01,,2025-07-01,,\n", price_list="x"))
    with pytest.raises(NoRateError):
        pmp_quote(prices, default_volume_tiers(), template("marketing", "Other"), JAN_2026, 1)
    free = pmp_quote(prices, default_volume_tiers(), template("marketing", "Other", fep=True), JAN_2026, 1)
    assert (free.amount, free.list_rate) == (0, 0)


@pytest.mark.parametrize(
    "facts",
    [
        MessageFacts("service", True, False, False, "Other"),
        MessageFacts("marketing", False, True, False, "Other"),
        MessageFacts("promotional", True, False, False, "Other"),
    ],
)
def test_inconsistent_facts_are_a_programming_error(facts: MessageFacts) -> None:
    with pytest.raises(ValueError):
        pmp_quote(default_price_list(), default_volume_tiers(), facts, JAN_2026, 1)
    with pytest.raises(ValueError):
        cbp_quote(default_price_list(), facts, JAN_2026, None)


@given(
    st.sampled_from(["marketing", "utility", "authentication"]),
    st.booleans(),
    st.booleans(),
    st.integers(min_value=1, max_value=10**7),
)
def test_pmp_amount_is_never_above_the_list_rate_and_free_means_zero(
    category: str, csw: bool, fep: bool, nth: int
) -> None:
    quote = pmp_quote(default_price_list(), default_volume_tiers(), template(category, csw=csw, fep=fep), JAN_2026, nth)
    assert 0 <= quote.amount <= quote.list_rate
    assert quote.billable == (quote.pricing_type == "regular")
    assert quote.billable or quote.amount == 0
    assert quote.billable == (not fep and not (csw and category == "utility"))


# --- CBP ---------------------------------------------------------------------------------------------------------


def test_cbp_the_first_message_of_a_category_opens_a_charged_conversation() -> None:
    prices = default_price_list()
    opener = cbp_quote(prices, template("marketing", "Indonesia"), OCT_2024, None)
    assert (opener.pricing_model, opener.pricing_type, opener.billable) == ("CBP", "regular", True)
    assert (opener.amount, opener.list_rate, opener.opens_conversation) == (micros("0.0411"), micros("0.0411"), True)
    assert opener.band is None


def test_cbp_messages_inside_an_open_conversation_cost_nothing_more_but_stay_billable() -> None:
    inside = cbp_quote(default_price_list(), template("marketing", "Indonesia"), OCT_2024, "marketing")
    assert (inside.pricing_type, inside.billable, inside.amount, inside.opens_conversation) == (
        "regular",
        True,
        0,
        False,
    )
    assert inside.list_rate == micros("0.0411")


def test_cbp_a_conversation_of_another_category_does_not_cover_the_message() -> None:
    quote = cbp_quote(default_price_list(), template("utility", "Indonesia"), OCT_2024, "marketing")
    assert (quote.amount, quote.opens_conversation) == (micros("0.0200"), True)


def test_cbp_utility_templates_in_the_window_are_charged_unlike_pmp() -> None:
    prices = default_price_list()
    facts = template("utility", "Brazil", csw=True)
    assert cbp_quote(prices, facts, OCT_2024, None).amount == micros("0.0080")
    assert pmp_quote(prices, default_volume_tiers(), facts, OCT_2024, 1).amount == 0


def test_cbp_service_conversations_are_free_from_november_2024() -> None:
    prices = default_price_list()
    quote = cbp_quote(prices, free_form("Indonesia"), NOV_2024, None)
    assert (quote.category, quote.pricing_type, quote.billable, quote.amount) == (
        "service",
        "free_customer_service",
        False,
        0,
    )
    assert quote.opens_conversation is True
    assert cbp_quote(prices, free_form("Indonesia"), NOV_2024, "service").opens_conversation is False


def test_cbp_service_conversations_before_november_2024_pay_the_cards_service_rate() -> None:
    text = HEADER + "\nOther,,USD,CBP,0.0604,0.0338,0.0304,,2023-06-01,,0.0145\n"
    prices = PriceList(parse_rate_card_csv(text, price_list="x"))
    opener = cbp_quote(prices, free_form("Other"), OCT_2024, None)
    assert (opener.pricing_type, opener.billable, opener.amount) == ("regular", True, micros("0.0145"))
    assert cbp_quote(prices, free_form("Other"), OCT_2024, "service").amount == 0
    assert cbp_quote(prices, free_form("Other"), NOV_2024, None).amount == 0


def test_cbp_a_free_entry_point_makes_every_message_free() -> None:
    prices = default_price_list()
    opener = cbp_quote(prices, template("marketing", "Indonesia", fep=True), OCT_2024, None)
    assert (opener.pricing_type, opener.billable, opener.amount, opener.opens_conversation) == (
        "free_entry_point",
        False,
        0,
        True,
    )
    later = cbp_quote(prices, template("utility", "Indonesia", fep=True), OCT_2024, "referral_conversion")
    assert (later.amount, later.opens_conversation) == (0, False)


def test_cbp_international_authentication() -> None:
    prices = default_price_list()
    facts = template("authentication", "Indonesia")
    quote = cbp_quote(prices, facts, OCT_2024, None, auth_international=True)
    assert (quote.category, quote.amount) == ("authentication_international", micros("0.1360"))
    assert cbp_quote(prices, facts, OCT_2024, "authentication", auth_international=True).amount == 0
    assert cbp_quote(prices, facts, OCT_2024, "authentication_international", auth_international=True).amount == 0


def test_both_models_on_the_same_day_of_traffic() -> None:
    """One person in Indonesia: three marketing templates and a utility template within 24 h, then a reply."""
    prices, tiers = default_price_list(), default_volume_tiers()
    traffic = [template("marketing", "Indonesia")] * 3 + [template("utility", "Indonesia"), free_form("Indonesia")]
    pmp_total = sum(pmp_quote(prices, tiers, facts, OCT_2024, 1).amount for facts in traffic)
    open_categories: set[str] = set()
    cbp_total = 0
    for facts in traffic:
        quote = cbp_quote(prices, facts, OCT_2024, facts.category if facts.category in open_categories else None)
        open_categories.add(facts.category)
        cbp_total += quote.amount
    assert pmp_total == 3 * micros("0.0411") + micros("0.0200")
    assert cbp_total == micros("0.0411") + micros("0.0200")
