"""Rate cards: reading the shipped CSV and operators' cards, markets by calling code, rates by day."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from parley.billing.ratecard import (
    NoRateError,
    PriceList,
    RateCard,
    RateCardError,
    default_price_list,
    default_rate_cards,
    parse_rate_card_csv,
)
from parley.kit.errors import InvalidInputError

REFERENCE_CSV = Path(__file__).resolve().parents[3] / "shared" / "reference" / "rate-card.csv"
SHIPPED_TEXT = resources.files("parley.billing").joinpath("data/rate-card.csv").read_text(encoding="utf-8")
HEADER = (
    "market,country_codes,currency,pricing_model,marketing,utility,authentication,authentication_international,"
    "effective,note"
)

JAN_2026 = datetime.date(2026, 1, 15)
AUG_2025 = datetime.date(2025, 8, 1)
JAN_2024 = datetime.date(2024, 1, 1)
NORTH_AMERICA = "North America (United States, Canada)"


def micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def shipped_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(SHIPPED_TEXT)))


def card(text: str, **kwargs: object) -> list[RateCard]:
    return parse_rate_card_csv(HEADER + "\n" + text, price_list="test", **kwargs)  # type: ignore[arg-type]


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


# --- the shipped card ------------------------------------------------------------------------------------------


@pytest.mark.skipif(not REFERENCE_CSV.exists(), reason="the shared reference folder is not next to the repository")
def test_the_packaged_rate_card_is_the_reference_file_byte_for_byte() -> None:
    packaged = resources.files("parley.billing").joinpath("data/rate-card.csv").read_bytes()
    assert packaged == REFERENCE_CSV.read_bytes()


def test_the_shipped_card_has_three_versions_with_every_row() -> None:
    cards = default_rate_cards()
    rows = shipped_rows()
    versions = [(c.pricing_model, c.currency, c.effective) for c in cards]
    assert versions == [
        ("CBP", "USD", datetime.date(2023, 6, 1)),  # every CBP row: their dates are uncertain
        ("PMP", "USD", datetime.date(2025, 7, 1)),
        ("PMP", "USD", datetime.date(2026, 1, 1)),
    ]
    assert sum(len(c.rates) for c in cards) == len(rows)
    assert all(c.price_list == "meta-usd" and c.markup_bps == 0 for c in cards)
    by_version: dict[tuple[str, str], RateCard] = {(c.pricing_model, c.effective.isoformat()): c for c in cards}
    for row in rows:
        effective = row["effective"][:10] if row["pricing_model"] == "PMP" else "2023-06-01"
        rate = by_version[(row["pricing_model"], effective)].rates[row["market"]]
        for category in ("marketing", "utility", "authentication", "authentication_international"):
            expected = micros(row[category]) if row[category] else None
            assert rate.micros.get(category) == expected, (row["market"], category)
        assert rate.note == row["note"]


def test_the_2026_card_maps_every_listed_calling_code() -> None:
    pmp_2026 = default_rate_cards()[2]
    rest_of_africa = next(row for row in shipped_rows() if row["market"] == "Rest of Africa")
    codes = rest_of_africa["country_codes"].split(";")
    assert len(codes) == 41
    assert all(pmp_2026.prefixes[code] == "Rest of Africa" for code in codes)
    caribbean = ["1809", "1829", "1849", "1658", "1876", "1787", "1939"]
    assert all(pmp_2026.prefixes[code] == "Rest of Latin America" for code in caribbean)
    assert pmp_2026.prefixes["1"] == NORTH_AMERICA
    assert "Other" not in pmp_2026.prefixes.values()


@pytest.mark.parametrize(
    ("digits", "market"),
    [
        ("18095551234", "Rest of Latin America"),  # 1809 beats 1
        ("18765550100", "Rest of Latin America"),
        ("14155550100", NORTH_AMERICA),
        ("18005550100", NORTH_AMERICA),
        ("447700900123", "United Kingdom"),
        ("263771234567", "Rest of Africa"),
        ("679123456", "Other"),  # Fiji is not mapped
        ("79161234567", "Russia"),
        ("919812345678", "India"),
        ("972501234567", "Israel"),
        ("971501234567", "United Arab Emirates"),
        ("+5511987654321", "Brazil"),
        ("1", NORTH_AMERICA),
    ],
)
def test_market_of_takes_the_longest_matching_prefix(digits: str, market: str) -> None:
    assert default_price_list().market_of(digits, JAN_2026) == market


def test_markets_and_rates_follow_the_card_in_effect_that_day() -> None:
    prices = default_price_list()
    # 2025-07-01 card lists only Argentina, Rest of Western Europe and Other: the UK is "Other" then.
    assert prices.market_of("447700900123", AUG_2025) == "Other"
    assert prices.market_of("5491112345678", AUG_2025) == "Argentina"
    assert prices.rate(AUG_2025, "Argentina", "utility") == micros("0.0289")
    assert prices.rate(datetime.date(2025, 12, 31), "Argentina", "utility") == micros("0.0289")
    assert prices.rate(datetime.date(2026, 1, 1), "Argentina", "utility") == micros("0.0260")
    # A market the card does not list is priced by the card's Other row.
    assert prices.rate(AUG_2025, "India", "marketing") == micros("0.0604")
    assert prices.rate(JAN_2026, "India", "marketing") == micros("0.0118")
    assert prices.rate(JAN_2026, "Atlantis", "marketing") == micros("0.0604")
    # Before 2025-07-01 the CBP card is in effect; its North America row has only the code 1.
    assert prices.card_on(JAN_2024).pricing_model == "CBP"
    assert prices.market_of("18095551234", JAN_2024) == NORTH_AMERICA
    assert prices.rate(JAN_2024, "Indonesia", "authentication") == micros("0.0300")
    assert prices.rate(JAN_2024, "United Kingdom", "utility") == micros("0.0338")  # CBP Other


def test_card_on_picks_the_latest_card_started_and_the_first_before_any() -> None:
    prices = default_price_list()
    assert prices.card_on(datetime.date(2026, 1, 1)).effective == datetime.date(2026, 1, 1)
    assert prices.card_on(datetime.date(2025, 12, 31)).effective == datetime.date(2025, 7, 1)
    assert prices.card_on(datetime.date(2025, 6, 30)).effective == datetime.date(2023, 6, 1)
    assert prices.card_on(datetime.date(2000, 1, 1)).effective == datetime.date(2023, 6, 1)
    assert prices.name == "meta-usd"
    assert prices.currency == "USD"


def test_authentication_international_and_service_rates() -> None:
    prices = default_price_list()
    assert prices.rate(JAN_2026, "India", "authentication_international") == micros("0.0280")
    assert prices.rate(JAN_2026, "United Kingdom", "authentication_international") is None
    assert prices.charged_rate(JAN_2026, "United Kingdom", "authentication_international") == micros("0.0220")
    assert prices.rate(JAN_2026, "United Kingdom", "service") == 0
    assert prices.rate(JAN_2024, "Indonesia", "service") == 0


def test_lookups_refuse_unknown_categories_and_non_digits() -> None:
    prices = default_price_list()
    with pytest.raises(ValueError, match="category"):
        prices.rate(JAN_2026, "India", "promotional")
    for bad in ("", "+", "44 7700", "abc", "٤٤"):
        with pytest.raises(ValueError, match=r"E\.164"):
            prices.market_of(bad, JAN_2026)


def test_markup_is_applied_to_every_rate_exactly() -> None:
    cards = parse_rate_card_csv(SHIPPED_TEXT, price_list="bsp", markup_bps=2500)
    plain = default_rate_cards()
    for marked, base in zip(cards, plain, strict=True):
        assert marked.markup_bps == 2500
        for market, rate in base.rates.items():
            for category, value in rate.micros.items():
                # x 1.25 exactly; every shipped rate is a whole number of hundred-micros, so no rounding here
                assert marked.rates[market].micros[category] * 4 == value * 5
    rounded = card("Other,,USD,PMP,0.000003,0.000001,0.000002,,2025-01-01,", markup_bps=5000)[0]
    assert dict(rounded.rates["Other"].micros) == {"marketing": 5, "utility": 2, "authentication": 3}


# --- operators' cards: versions, inheritance, overrides ---------------------------------------------------------

VERSIONED = """\
Other,,USD,PMP,0.0500,0.0100,0.0100,,2025-01-01,base
Rest of Africa,263;264,USD,PMP,0.0200,0.0040,0.0040,,2025-01-01,
Zimbabwe,263,USD,PMP,0.0300,0.0060,0.0060,0.0400,2025-06-01,Zimbabwe gets its own market
Other,,USD,PMP,0.0700,0.0100,0.0100,,2025-09-01,Other rises
Rest of Africa,263;264;265,USD,PMP,0.0250,0.0040,0.0040,,2025-12-01,Zimbabwe back in Rest of Africa
Rest of Africa,263;265,USD,PMP,0.0250,0.0040,0.0040,,2026-03-01,264 leaves Rest of Africa
"""


def test_later_cards_inherit_what_they_do_not_list_and_codes_can_move() -> None:
    prices = PriceList(card(VERSIONED))
    jan, jun, sep, dec = (datetime.date(2025, month, 2) for month in (1, 6, 9, 12))
    assert [prices.market_of("263771234567", day) for day in (jan, jun, sep, dec)] == [
        "Rest of Africa",
        "Zimbabwe",
        "Zimbabwe",
        "Rest of Africa",
    ]
    assert prices.market_of("264811234567", jun) == "Rest of Africa"  # inherited from the first card
    assert prices.market_of("265991234567", sep) == "Other"
    assert prices.market_of("265991234567", dec) == "Rest of Africa"
    assert (
        prices.market_of("264811234567", datetime.date(2026, 3, 1)) == "Other"
    )  # a listed market's codes are the card's
    assert prices.rate(sep, "Rest of Africa", "marketing") == micros("0.0200")  # inherited row
    assert prices.rate(sep, "Zimbabwe", "authentication_international") == micros("0.0400")
    assert prices.rate(jun, "Kenya", "marketing") == micros("0.0500")  # Other of the first card
    assert prices.rate(sep, "Kenya", "marketing") == micros("0.0700")
    assert prices.rate(jan, "Zimbabwe", "marketing") == micros("0.0500")  # not a market yet: Other


def test_markets_on_a_day_include_inherited_rows_sorted_with_other_last() -> None:
    prices = PriceList(card(VERSIONED))
    jan, jun = datetime.date(2025, 1, 2), datetime.date(2025, 6, 2)
    assert prices.markets_on(jan) == ["Rest of Africa", "Other"]
    assert prices.markets_on(jun) == ["Rest of Africa", "Zimbabwe", "Other"]  # Rest of Africa inherited
    shipped = default_price_list().markets_on(JAN_2026)
    assert shipped[-1] == "Other" and NORTH_AMERICA in shipped and shipped[:-1] == sorted(shipped[:-1])


def test_max_rate_covers_every_card_in_effect_over_the_window() -> None:
    prices = PriceList(card(VERSIONED))
    aug_30, sep_1, sep_2 = datetime.date(2025, 8, 30), datetime.date(2025, 9, 1), datetime.date(2025, 9, 2)
    assert prices.max_rate(aug_30, aug_30, "Kenya", "marketing") == micros("0.0500")
    assert prices.max_rate(aug_30, sep_1, "Kenya", "marketing") == micros("0.0700")
    assert prices.max_rate(sep_1, sep_2, "Kenya", "marketing") == micros("0.0700")
    # authentication_international falls back to authentication where a card has none
    assert prices.max_rate(datetime.date(2025, 5, 30), sep_1, "Zimbabwe", "authentication_international") == micros(
        "0.0400"
    )
    assert prices.max_rate(aug_30, sep_1, "Kenya", "authentication_international") == micros("0.0100")
    with pytest.raises(ValueError):
        prices.max_rate(sep_2, sep_1, "Kenya", "marketing")


def test_max_rate_for_number_follows_a_code_that_moves_to_a_dearer_market() -> None:
    prices = PriceList(card(VERSIONED))
    may_30, jun_2 = datetime.date(2025, 5, 30), datetime.date(2025, 6, 2)
    assert prices.max_rate(may_30, jun_2, "Rest of Africa", "marketing") == micros("0.0200")
    assert prices.max_rate_for_number(may_30, jun_2, "263771234567", "marketing") == micros("0.0300")


def test_a_blank_rate_cell_means_no_rate() -> None:
    prices = PriceList(card("Other,,USD,PMP,,0.0100,0.0100,,2025-01-01,"))
    day = datetime.date(2025, 2, 1)
    assert prices.rate(day, "Other", "marketing") is None
    with pytest.raises(NoRateError, match="marketing"):
        prices.charged_rate(day, "Other", "marketing")
    with pytest.raises(NoRateError):
        prices.max_rate(day, day, "Other", "marketing")


def test_an_optional_service_column_sets_a_service_rate() -> None:
    text = HEADER + ",service\nOther,,USD,CBP,0.05,0.01,0.01,,2023-06-01,,0.0145\n"
    prices = PriceList(parse_rate_card_csv(text, price_list="cbp"))
    assert prices.rate(datetime.date(2023, 7, 1), "Other", "service") == micros("0.0145")


def test_overrides_set_the_date_the_model_and_the_currency() -> None:
    day = datetime.date(2027, 3, 1)
    [only] = card("Other,,,PMP,0.05,0.01,0.01,,,", effective=day, currency="EUR", pricing_model="CBP")
    assert (only.effective, only.currency, only.pricing_model) == (day, "EUR", "CBP")
    with pytest.raises(RateCardError, match="currency USD in a card loaded as EUR") as caught:
        card("Other,,USD,PMP,0.05,0.01,0.01,,2025-01-01,", currency="EUR")
    assert caught.value.line == 2


def test_the_shipped_file_with_one_date_for_every_row_has_a_duplicate_market() -> None:
    with pytest.raises(RateCardError, match="'Argentina' appears twice") as caught:
        parse_rate_card_csv(SHIPPED_TEXT, price_list="x", effective=datetime.date(2027, 1, 1))
    assert caught.value.line == line_of(SHIPPED_TEXT, "Argentina,54,USD,PMP,0.0618,0.0289")


def test_cbp_rows_with_a_plain_date_keep_it() -> None:
    cards = card(
        "Other,,USD,CBP,0.05,0.01,0.01,,2023-06-01,\n"
        "Other,,USD,CBP,0.06,0.01,0.01,,2024-02-01,\n"
        "India,91,USD,CBP,0.01,0.01,0.01,,pre-2025 (uncertain),\n"
    )
    assert [(c.effective, sorted(c.rates)) for c in cards] == [
        (datetime.date(2023, 6, 1), ["India", "Other"]),
        (datetime.date(2024, 2, 1), ["Other"]),
    ]


# --- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("Other,,USD,PMP,0.05,0.01,0.01,,2025-01-01,\nSpain,34,USD,XYZ,0.05,,,,2025-01-01,", 3, "pricing model"),
        ("Other,,USD,PMP,0.05,0.0x,0.01,,2025-01-01,", 2, "utility rate"),
        ("Other,,USD,PMP,0.05,-0.01,0.01,,2025-01-01,", 2, "negative"),
        ("Other,,USD,PMP,0.05,0.0000001,0.01,,2025-01-01,", 2, "6 decimal places"),
        ("Other,,USD,PMP,1e-2,0.01,0.01,,2025-01-01,", 2, "exponent"),
        ("Other,,USD,PMP,NaN,0.01,0.01,,2025-01-01,", 2, "finite"),
        (
            "Other,,USD,PMP,0.05,,,,2025-01-01,\nSpain,34,USD,PMP,1,,,,2025-01-01,\nSpain,35,USD,PMP,1,,,,2025-01-01,",
            4,
            "twice",
        ),
        (
            "Other,,USD,PMP,0.05,,,,2025-01-01,\nSpain,34,USD,PMP,1,,,,2025-01-01,\nCuba,34,USD,PMP,1,,,,2025-01-01,",
            4,
            "34",
        ),
        ("Other,,USD,PMP,0.05,,,,2025-01-01,\n,34,USD,PMP,1,,,,2025-01-01,", 3, "market is blank"),
        ("Other,,USD,PMP,0.05,,,,2025-01-01", 2, "expected 10 fields, found 9"),
        ("Other,,USD,PMP,0.05,,,,2025-01-01,\nSpain,34a,USD,PMP,1,,,,2025-01-01,", 3, "calling code '34a'"),
        ("Other,,USD,PMP,0.05,,,,2025-01-01,\nSpain,all of Spain,USD,PMP,1,,,,2025-01-01,", 3, "no calling codes"),
        ("Other,44,USD,PMP,0.05,,,,2025-01-01,", 2, "Other market"),
        ("Other,,USD,PMP,0.05,,,,soon,", 2, "no date"),
        ("Other,,USD,CBP,0.05,,,,pre-PMP,", 2, "no other USD CBP row"),
        ("Other,,USD,PMP,0.05,,,,2025-13-01,", 2, "not a date"),
        ("Other,,XYZ,PMP,0.05,,,,2025-01-01,", 2, "ISO 4217"),
        ("Other,,,PMP,0.05,,,,2025-01-01,", 2, "currency is blank"),
        ("Spain,34,USD,PMP,0.05,,,,2025-01-01,", 2, "no 'Other' row"),
        ("Other,,USD,PMP,0.05,,,,2025-01-01,\nSpain,34,USD,CBP,0.05,,,,2025-01-01,", 3, "no 'Other' row"),
    ],
)
def test_bad_rows_are_refused_with_their_line_number(body: str, line: int, message: str) -> None:
    with pytest.raises(RateCardError, match=message) as caught:
        card(body)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


def test_later_cards_may_omit_other_when_an_earlier_card_has_it() -> None:
    cards = card("Other,,USD,PMP,0.05,,,,2025-01-01,\nSpain,34,USD,PMP,0.07,,,,2025-06-01,")
    assert [sorted(c.rates) for c in cards] == [["Other"], ["Spain"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        (HEADER + "\n", "no rates"),
        ("market,country_codes,currency,marketing\nOther,,USD,0.05\n", "missing columns: pricing_model, utility"),
        (HEADER + ",market\n", "duplicate columns: market"),
    ],
)
def test_unusable_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(RateCardError, match=message):
        parse_rate_card_csv(text, price_list="x")


def test_rate_card_errors_are_client_errors() -> None:
    with pytest.raises(RateCardError) as caught:
        card("Other,,USD,PMP,abc,,,,2025-01-01,")
    assert isinstance(caught.value, InvalidInputError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 400


def test_a_bom_header_whitespace_and_lowercase_codes_are_accepted() -> None:
    text = "\ufeff" + HEADER.upper().replace(",", " , ") + "\n other , , usd , pmp , 0.05 ,,,, 2025-01-01 ,\n"
    [only] = parse_rate_card_csv(text, price_list="x")
    assert (only.currency, only.pricing_model, list(only.rates)) == ("USD", "PMP", ["Other"])


def test_price_lists_hold_one_list_in_one_currency_with_one_card_per_day() -> None:
    usd = card("Other,,USD,PMP,0.05,,,,2025-01-01,")
    eur = card("Other,,EUR,PMP,0.05,,,,2025-02-01,")
    same_day_cbp = card("Other,,USD,CBP,0.05,,,,2025-01-01,")
    other_list = parse_rate_card_csv(HEADER + "\nOther,,USD,PMP,0.05,,,,2025-03-01,", price_list="other")
    for cards, message in [
        ([], "at least one"),
        (usd + eur, "different currencies"),
        (usd + same_day_cbp, "2025-01-01"),
        (usd + other_list, "different price lists"),
    ]:
        with pytest.raises(RateCardError, match=message):
            PriceList(cards)


def test_a_price_list_needs_an_other_row_for_its_first_card_of_each_model() -> None:
    pmp = card("Other,,USD,PMP,0.05,,,,2025-01-01,")
    spain_only = card("Other,,USD,CBP,0.05,,,,2024-01-01,\nSpain,34,USD,CBP,0.05,,,,2025-06-01,")[1]
    with pytest.raises(RateCardError, match="no 'Other' row"):
        PriceList([*pmp, spain_only])
