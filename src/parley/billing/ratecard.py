"""Rate cards: list prices per market and category, versioned by effective date, read from CSV; price-list lookups."""

from __future__ import annotations

import bisect
import csv
import datetime
import functools
import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal, get_args

from parley.kit.errors import InvalidInputError
from parley.kit.money import apply_markup, minor_units, parse_amount

Category = Literal["marketing", "utility", "authentication", "authentication_international", "service"]
PricingModel = Literal["PMP", "CBP"]

CATEGORIES: tuple[Category, ...] = get_args(Category)
PRICING_MODELS: tuple[PricingModel, ...] = get_args(PricingModel)
OTHER_MARKET = "Other"
DEFAULT_PRICE_LIST = "meta-usd"

_REQUIRED_COLUMNS = (
    "market",
    "country_codes",
    "currency",
    "pricing_model",
    "marketing",
    "utility",
    "authentication",
    "authentication_international",
    "effective",
)
# Optional columns: `note` (kept with each rate) and `service` (a CBP service-conversation rate, when charged).
_RATE_COLUMNS: tuple[Category, ...] = CATEGORIES
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARENTHESES = re.compile(r"\([^)]*\)")
_DIGITS = re.compile(r"[0-9]{1,7}", re.ASCII)
# "1-809/829/849": a calling code and the area codes under it that belong to this market (1809, 1829, 1849).
_CODE_WITH_AREAS = re.compile(r"([0-9]{1,3})-([0-9]{1,4}(?:/[0-9]{1,4})*)", re.ASCII)


class RateCardError(InvalidInputError, ValueError):
    """A rate card or price list that cannot be used, or a price it cannot give; `line` points into the CSV."""

    code = "invalid_rate_card"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message, line=line)
        self.line = line


class NoRateError(RateCardError):
    """The card in effect has no rate for this market and category (a blank cell)."""

    code = "no_rate"


@dataclass(frozen=True)
class Rate:
    """One market's row in one card."""

    market: str
    micros: Mapping[str, int]  # category -> micros per message (PMP) or per conversation (CBP); missing = none
    note: str


@dataclass(frozen=True)
class RateCard:
    """One version of a price list."""

    price_list: str  # e.g. "meta-usd"
    currency: str  # "USD"
    pricing_model: PricingModel
    effective: datetime.date  # first day it applies
    markup_bps: int  # already applied to `rates` (e.g. 2500 = +25 %, as BSPs add theirs)
    rates: Mapping[str, Rate]  # market name -> Rate (after markup)
    prefixes: Mapping[str, str]  # calling-code prefix digits ("1809", "44") -> market name


@dataclass
class _Row:
    line: int
    market: str
    pricing_model: PricingModel
    currency: str
    prefixes: tuple[str, ...]
    micros: dict[str, int]
    note: str
    effective_text: str
    effective: datetime.date | None = None


def parse_rate_card_csv(
    text: str,
    *,
    price_list: str,
    markup_bps: int = 0,
    effective: datetime.date | None = None,
    currency: str | None = None,
    pricing_model: PricingModel | None = None,
) -> list[RateCard]:
    """Read rate rows and group them into cards by (pricing model, currency, effective date), oldest first.

    `effective` replaces every row's date, `pricing_model` every row's model; `currency` fills blank currency
    cells and must match the others. Rates are raised by `markup_bps` (rounded half-up to a micro).
    """
    if markup_bps <= -10_000:
        raise RateCardError(f"markup_bps must be above -10000, not {markup_bps}")
    if currency is not None:
        currency = _checked_currency(currency.strip().upper(), line=None)
    if pricing_model is not None and pricing_model not in PRICING_MODELS:
        raise RateCardError(f"unknown pricing model '{pricing_model}' (expected PMP or CBP)")
    rows = _read_rows(text, markup_bps=markup_bps, currency=currency, pricing_model=pricing_model)
    _assign_dates(rows, effective)
    return _group_into_cards(rows, price_list=price_list, markup_bps=markup_bps)


def _read_rows(text: str, *, markup_bps: int, currency: str | None, pricing_model: PricingModel | None) -> list[_Row]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    rows: list[_Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _checked_header(cells, line)
                continue
            if len(cells) != len(header):
                raise RateCardError(f"expected {len(header)} fields, found {len(cells)}", line=line)
            rows.append(_read_row(dict(zip(header, cells, strict=True)), line, markup_bps, currency, pricing_model))
    except csv.Error as exc:
        raise RateCardError(f"not valid CSV: {exc}", line=reader.line_num) from exc
    if header is None:
        raise RateCardError("the rate card is empty (expected a header row)", line=1)
    if not rows:
        raise RateCardError("the rate card has a header but no rates")
    return rows


def _checked_header(cells: list[str], line: int) -> list[str]:
    header = [cell.strip().lower() for cell in cells]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise RateCardError(f"duplicate columns: {', '.join(duplicated)}", line=line)
    missing = [name for name in _REQUIRED_COLUMNS if name not in header]
    if missing:
        raise RateCardError(f"missing columns: {', '.join(missing)}", line=line)
    return header


def _read_row(
    cells: dict[str, str], line: int, markup_bps: int, currency: str | None, pricing_model: PricingModel | None
) -> _Row:
    market = " ".join(cells["market"].split())
    if not market:
        raise RateCardError("market is blank", line=line)
    if market.lower() == OTHER_MARKET.lower():
        market = OTHER_MARKET
    model = pricing_model or _checked_model(cells["pricing_model"].strip().upper(), line)
    row_currency = cells["currency"].strip().upper()
    if not row_currency:
        if currency is None:
            raise RateCardError("currency is blank", line=line)
        row_currency = currency
    elif currency is not None and row_currency != currency:
        raise RateCardError(f"currency {row_currency} in a card loaded as {currency}", line=line)
    micros: dict[str, int] = {}
    for category in _RATE_COLUMNS:
        cell = cells.get(category, "").strip()
        if cell:
            micros[category] = apply_markup(_parse_rate(cell, category, line), markup_bps)
    return _Row(
        line=line,
        market=market,
        pricing_model=model,
        currency=_checked_currency(row_currency, line),
        prefixes=_parse_calling_codes(market, cells["country_codes"], line),
        micros=micros,
        note=cells.get("note", "").strip(),
        effective_text=cells["effective"].strip(),
    )


def _checked_model(text: str, line: int) -> PricingModel:
    for model in PRICING_MODELS:
        if text == model:
            return model
    raise RateCardError(f"unknown pricing model '{text}' (expected PMP or CBP)", line=line)


def _checked_currency(code: str, line: int | None) -> str:
    try:
        minor_units(code)
    except ValueError as exc:
        raise RateCardError(str(exc), line=line) from exc
    return code


def _parse_rate(cell: str, category: str, line: int) -> int:
    if cell.startswith("-"):
        raise RateCardError(f"{category} rate '{cell}' is negative", line=line)
    try:
        return parse_amount(cell)
    except ValueError as exc:
        raise RateCardError(f"{category} rate: {exc}", line=line) from exc


def _parse_calling_codes(market: str, text: str, line: int) -> tuple[str, ...]:
    """Prefix digits from cells like "213;244", "1-809/829/849" or "1 (US, CA; excl. ...)"."""
    codes = _PARENTHESES.sub(" ", text)  # explanations in parentheses may themselves contain ';'
    has_digits = any(ch in "0123456789" for ch in codes)
    if market == OTHER_MARKET:
        if has_digits:
            raise RateCardError("the Other market takes every calling code not mapped elsewhere; list none", line=line)
        return ()
    if not has_digits:
        raise RateCardError(f"market '{market}' lists no calling codes", line=line)
    prefixes: list[str] = []
    for raw_token in codes.split(";"):
        token = "".join(raw_token.split())
        if not token:
            continue
        if _DIGITS.fullmatch(token):
            prefixes.append(token)
        elif (areas := _CODE_WITH_AREAS.fullmatch(token)) is not None:
            prefixes.extend(areas.group(1) + area for area in areas.group(2).split("/"))
        else:
            raise RateCardError(f"cannot read calling code '{raw_token.strip()}' of market '{market}'", line=line)
    return tuple(dict.fromkeys(prefixes))


def _first_iso_date(text: str, line: int) -> datetime.date | None:
    match = _ISO_DATE.search(text)
    if match is None:
        return None
    try:
        return datetime.date.fromisoformat(match.group())
    except ValueError as exc:
        raise RateCardError(f"effective date '{match.group()}' is not a date", line=line) from exc


def _assign_dates(rows: list[_Row], override: datetime.date | None) -> None:
    if override is not None:
        for row in rows:
            row.effective = override
        return
    # The shipped CBP rows come from secondary sources whose dates are uncertain ("2024-2025 (pre-PMP)",
    # "pre-2025-07-01 (CBP)", ranges): taking the first date in such text would invent versions (Brazil
    # "from 2025-07-01" is the opposite of what it says). So a CBP row whose effective cell is not exactly one
    # date joins the earliest CBP card of its currency in the file; CBP rows with a plain date keep it.
    earliest_cbp: dict[str, datetime.date] = {}
    for row in rows:
        if row.pricing_model == "CBP" and (found := _first_iso_date(row.effective_text, row.line)) is not None:
            earliest_cbp[row.currency] = min(found, earliest_cbp.get(row.currency, found))
    for row in rows:
        if row.pricing_model == "PMP":
            row.effective = _first_iso_date(row.effective_text, row.line)
            if row.effective is None:
                raise RateCardError(f"effective '{row.effective_text}' has no date (YYYY-MM-DD)", line=row.line)
        elif _ISO_DATE.fullmatch(row.effective_text):
            row.effective = _first_iso_date(row.effective_text, row.line)
        elif row.currency in earliest_cbp:
            row.effective = earliest_cbp[row.currency]
        else:
            raise RateCardError(
                f"effective '{row.effective_text}' has no date and no other {row.currency} CBP row has one",
                line=row.line,
            )


def _group_into_cards(rows: list[_Row], *, price_list: str, markup_bps: int) -> list[RateCard]:
    groups: dict[tuple[PricingModel, str, datetime.date], list[_Row]] = {}
    for row in rows:
        assert row.effective is not None  # set by _assign_dates
        groups.setdefault((row.pricing_model, row.currency, row.effective), []).append(row)
    cards: list[RateCard] = []
    for (model, currency, effective), members in groups.items():
        rates: dict[str, Rate] = {}
        prefixes: dict[str, str] = {}
        first_line: dict[str, int] = {}
        for row in members:
            if row.market in rates:
                raise RateCardError(
                    f"market '{row.market}' appears twice in the {model} {currency} card effective {effective} "
                    f"(first on line {first_line[row.market]})",
                    line=row.line,
                )
            rates[row.market] = Rate(row.market, MappingProxyType(row.micros), row.note)
            first_line[row.market] = row.line
            for prefix in row.prefixes:
                if prefix in prefixes:
                    raise RateCardError(
                        f"calling code {prefix} is mapped to both '{prefixes[prefix]}' and '{row.market}'",
                        line=row.line,
                    )
                prefixes[prefix] = row.market
        cards.append(
            RateCard(
                price_list=price_list,
                currency=currency,
                pricing_model=model,
                effective=effective,
                markup_bps=markup_bps,
                rates=MappingProxyType(rates),
                prefixes=MappingProxyType(prefixes),
            )
        )
    cards.sort(key=lambda card: (card.effective, card.pricing_model, card.currency))
    seen: set[tuple[str, str]] = set()
    for card in cards:
        if (card.pricing_model, card.currency) not in seen and OTHER_MARKET not in card.rates:
            line = min(row.line for row in groups[(card.pricing_model, card.currency, card.effective)])
            raise RateCardError(
                f"the {card.pricing_model} {card.currency} card effective {card.effective} has no '{OTHER_MARKET}' "
                f"row and no earlier {card.pricing_model} card to fall back on",
                line=line,
            )
        seen.add((card.pricing_model, card.currency))
    return cards


@functools.cache
def _shipped_cards() -> tuple[RateCard, ...]:
    text = resources.files("parley.billing").joinpath("data/rate-card.csv").read_text(encoding="utf-8")
    return tuple(parse_rate_card_csv(text, price_list=DEFAULT_PRICE_LIST))


def default_rate_cards() -> list[RateCard]:
    """The shipped rate card (Meta's USD list rates as far as public sources give them) as price list "meta-usd"."""
    return list(_shipped_cards())


def default_price_list() -> PriceList:
    return PriceList(default_rate_cards())


@dataclass(frozen=True)
class _ResolvedCard:
    """A card with what it inherits from earlier cards of its model, ready for O(1) lookups."""

    card: RateCard
    rows: Mapping[str, Rate]  # every market priced on this card's days, inherited rows included
    prefixes: Mapping[str, str]
    prefix_lengths: tuple[int, ...]  # distinct prefix lengths, longest first


class PriceList:
    """All versions of one price list, for lookups by day."""

    def __init__(self, cards: Sequence[RateCard]) -> None:
        if not cards:
            raise RateCardError("a price list needs at least one rate card")
        names = sorted({card.price_list for card in cards})
        currencies = sorted({card.currency for card in cards})
        if len(names) > 1:
            raise RateCardError(f"cards of different price lists in one price list: {', '.join(names)}")
        if len(currencies) > 1:
            raise RateCardError(f"cards in different currencies in one price list: {', '.join(currencies)}")
        ordered = sorted(cards, key=lambda card: card.effective)
        for earlier, later in itertools.pairwise(ordered):
            if earlier.effective == later.effective:
                raise RateCardError(f"two cards of price list '{names[0]}' take effect on {later.effective}")
        self.name: str = names[0]
        self.currency: str = currencies[0]
        self._cards = tuple(ordered)
        self._effective_dates = [card.effective for card in ordered]
        self._resolved = self._resolve(self._cards)

    @staticmethod
    def _resolve(cards: tuple[RateCard, ...]) -> tuple[_ResolvedCard, ...]:
        # A card lists only the markets it sets; the others keep their row (and calling codes) from the latest
        # earlier card of the same model. A market the card lists gets exactly the codes the card gives it.
        rows_by_model: dict[str, dict[str, Rate]] = {}
        prefixes_by_model: dict[str, dict[str, str]] = {}
        resolved: list[_ResolvedCard] = []
        for card in cards:
            rows = rows_by_model.setdefault(card.pricing_model, {})
            prefixes = prefixes_by_model.setdefault(card.pricing_model, {})
            rows.update(card.rates)
            for prefix in [prefix for prefix, market in prefixes.items() if market in card.rates]:
                del prefixes[prefix]
            prefixes.update(card.prefixes)
            if OTHER_MARKET not in rows:
                raise RateCardError(
                    f"the {card.pricing_model} card effective {card.effective} of price list '{card.price_list}' "
                    f"has no '{OTHER_MARKET}' row and no earlier {card.pricing_model} card to fall back on"
                )
            lengths = tuple(sorted({len(prefix) for prefix in prefixes}, reverse=True))
            resolved.append(
                _ResolvedCard(card, MappingProxyType(dict(rows)), MappingProxyType(dict(prefixes)), lengths)
            )
        return tuple(resolved)

    @property
    def cards(self) -> tuple[RateCard, ...]:
        return self._cards

    def _index_on(self, day: datetime.date) -> int:
        return max(bisect.bisect_right(self._effective_dates, day) - 1, 0)

    def card_on(self, day: datetime.date) -> RateCard:
        """The latest card with effective <= day (any model); before the first card, the first card."""
        return self._cards[self._index_on(day)]

    def markets_on(self, day: datetime.date) -> list[str]:
        """Every market priced on that day (rows inherited from earlier cards included), by name, Other last."""
        names = [name for name in self._resolved[self._index_on(day)].rows if name != OTHER_MARKET]
        return [*sorted(names), OTHER_MARKET]

    def market_of(self, calling_digits: str, day: datetime.date) -> str:
        """Market of an E.164 number (digits, no '+'): its longest mapped prefix on that day, else "Other"."""
        return self._market_in(self._resolved[self._index_on(day)], _checked_digits(calling_digits))

    def number_in(self, market: str, day: datetime.date) -> str | None:
        """Digits of a number the card prices in `market` on that day (its shortest calling code, padded), for
        quoting a market without a recipient; None for a market the card does not price."""
        resolved = self._resolved[self._index_on(day)]
        if market not in resolved.rows:
            return None
        codes = sorted((p for p, name in resolved.prefixes.items() if name == market), key=lambda p: (len(p), p))
        # No calling code begins with 0, so a number starting with it is in no named market: "Other".
        prefix = codes[0] if codes else "0"
        number = prefix.ljust(11, "0")
        return number if self._market_in(resolved, number) == market else None

    @staticmethod
    def _market_in(resolved: _ResolvedCard, digits: str) -> str:
        for length in resolved.prefix_lengths:
            if length <= len(digits) and (market := resolved.prefixes.get(digits[:length])) is not None:
                return market
        return OTHER_MARKET

    def rate(self, day: datetime.date, market: str, category: str) -> int | None:
        """Micros for the category in the market on that day; None when the card sets no such rate.

        "service" is 0 unless the card sets a service rate. A None for authentication_international means the
        caller charges the authentication rate.
        """
        return self._rate_in(self._resolved[self._index_on(day)], market, _checked_category(category))

    @staticmethod
    def _rate_in(resolved: _ResolvedCard, market: str, category: str) -> int | None:
        row = resolved.rows.get(market) or resolved.rows[OTHER_MARKET]
        micros = row.micros.get(category)
        if micros is None and category == "service":
            return 0
        return micros

    def charged_rate(self, day: datetime.date, market: str, category: str) -> int:
        """The rate a charge uses: authentication_international falls back to authentication; NoRateError if none."""
        return self._charged_rate_in(self._resolved[self._index_on(day)], market, _checked_category(category))

    def _charged_rate_in(self, resolved: _ResolvedCard, market: str, category: str) -> int:
        micros = self._rate_in(resolved, market, category)
        if micros is None and category == "authentication_international":
            micros = self._rate_in(resolved, market, "authentication")
        if micros is None:
            card = resolved.card
            raise NoRateError(
                f"price list '{self.name}' has no {category} rate for {market} in its {card.pricing_model} card "
                f"effective {card.effective}"
            )
        return micros

    def _resolved_between(self, start: datetime.date, end: datetime.date) -> tuple[_ResolvedCard, ...]:
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        return self._resolved[self._index_on(start) : self._index_on(end) + 1]

    def max_rate(self, start: datetime.date, end: datetime.date, market: str, category: str) -> int:
        """Highest charged rate over every card in effect on some day in [start, end] (to size holds)."""
        category = _checked_category(category)
        return max(self._charged_rate_in(resolved, market, category) for resolved in self._resolved_between(start, end))

    def max_rate_for_number(self, start: datetime.date, end: datetime.date, calling_digits: str, category: str) -> int:
        """Like max_rate, but the number's market is looked up in each card, so a code that moves is covered."""
        category = _checked_category(category)
        digits = _checked_digits(calling_digits)
        return max(
            self._charged_rate_in(resolved, self._market_in(resolved, digits), category)
            for resolved in self._resolved_between(start, end)
        )


def _checked_category(category: str) -> Category:
    for known in CATEGORIES:
        if category == known:
            return known
    raise ValueError(f"unknown pricing category '{category}' (expected one of {', '.join(CATEGORIES)})")


def _checked_digits(calling_digits: str) -> str:
    digits = calling_digits.removeprefix("+")
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"'{calling_digits}' is not an E.164 number's digits")
    return digits
