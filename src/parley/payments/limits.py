"""Parley Pay's market caps: amounts people may send, per payment, per day and per month, by the payer's market.

A person's market is their phone number's country. Amounts are exact micros, typed in the currency's minor unit
(R$12.50, never R$12.505); a cap refused names itself, so the person knows which one they hit.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from parley.config import MarketCaps, PersonPaySettings
from parley.kit.errors import AppError, InvalidInputError
from parley.kit.money import format_amount, minor_units, parse_amount
from parley.kit.phone import region_of


class InvalidPayAmountError(InvalidInputError):
    code = "invalid_amount"


class PaymentCapError(AppError):
    """A payment over one of its market's caps: nothing moved."""

    status = 422
    code = "payment_cap_exceeded"


@dataclass(frozen=True)
class Caps:
    """One market's caps in micros (None: no cap)."""

    market: str
    currency: str | None
    timezone: zoneinfo.ZoneInfo
    min_per_payment: int | None
    max_per_payment: int | None
    max_payments_per_day: int | None
    max_per_month: int | None


def pay_amount(text: str, currency: str) -> int:
    """Exact micros of an amount typed in `currency`: positive, a number, at most the currency's decimals."""
    try:
        places = minor_units(currency)
    except ValueError as error:
        raise InvalidPayAmountError(str(error)) from error
    if not isinstance(text, str):
        raise InvalidPayAmountError('amount is a decimal string such as "12.50"')
    try:
        micros = parse_amount(text)
    except ValueError as error:
        raise InvalidPayAmountError(str(error)) from error
    if micros <= 0:
        raise InvalidPayAmountError("amount must be more than zero")
    if micros % 10 ** (6 - places):
        raise InvalidPayAmountError(f"{currency} amounts have at most {places} decimal places, not {text.strip()!r}")
    return micros


def money(micros: int, currency: str) -> str:
    """An amount as people read it in `currency` ("1000.00 BRL")."""
    return f"{format_amount(micros, minor_units(currency))} {currency}"


def _caps(market: str, caps: MarketCaps) -> Caps:
    def micros(value: str | None) -> int | None:
        return None if value is None else parse_amount(value)

    return Caps(
        market=market,
        currency=caps.currency,
        timezone=zoneinfo.ZoneInfo(caps.timezone),
        min_per_payment=micros(caps.min_per_payment),
        max_per_payment=micros(caps.max_per_payment),
        max_payments_per_day=caps.max_payments_per_day,
        max_per_month=micros(caps.max_per_month),
    )


class MarketLimits:
    """The caps of every market, parsed once from settings (a bad setting fails at start-up, not at a payment)."""

    def __init__(self, settings: PersonPaySettings) -> None:
        self._markets = {region.upper(): _caps(region.upper(), caps) for region, caps in settings.markets.items()}
        self._other = settings.other_markets
        self.currencies = tuple(settings.currencies)
        for currency in self.currencies:
            minor_units(currency)  # an ISO 4217 code, or ValueError now

    def market_of(self, phone: str) -> str:
        return region_of(phone)

    def caps_for(self, market: str) -> Caps:
        return self._markets.get(market) or _caps(market, self._other)

    def check_currency(self, currency: str) -> None:
        if currency not in self.currencies:
            raise InvalidPayAmountError(f"Parley Pay wallets hold {', '.join(self.currencies)}, not {currency!r}")

    def check_payment(self, caps: Caps, amount: int, currency: str) -> None:
        """The caps one payment alone can break (currency, minimum, maximum)."""
        self.check_currency(currency)
        if caps.currency is not None and currency != caps.currency:
            raise PaymentCapError(f"payments from your market ({caps.market}) are in {caps.currency}, not {currency}")
        if caps.min_per_payment is not None and amount < caps.min_per_payment:
            raise PaymentCapError(f"the minimum payment is {money(caps.min_per_payment, currency)}")
        if caps.max_per_payment is not None and amount > caps.max_per_payment:
            raise PaymentCapError(f"the limit per payment is {money(caps.max_per_payment, currency)}")

    @staticmethod
    def check_running(caps: Caps, amount: int, currency: str, count_today: int, sent_this_month: int) -> None:
        """The caps that count what the payer already sent today and this month (their market's days)."""
        if caps.max_payments_per_day is not None and count_today + 1 > caps.max_payments_per_day:
            raise PaymentCapError(f"the limit is {caps.max_payments_per_day} payments per day; try again tomorrow")
        if caps.max_per_month is not None and sent_this_month + amount > caps.max_per_month:
            left = max(caps.max_per_month - sent_this_month, 0)
            raise PaymentCapError(
                f"the limit per month is {money(caps.max_per_month, currency)}; "
                f"{money(left, currency)} is left this month"
            )


def day_and_month_start(now_ms: int, timezone: zoneinfo.ZoneInfo) -> tuple[int, int]:
    """Unix ms of the start of today and of this month, in the market's time zone."""
    local = datetime.datetime.fromtimestamp(now_ms / 1000, timezone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    return int(day.timestamp() * 1000), int(month.timestamp() * 1000)


def month_bounds(period: str, timezone: zoneinfo.ZoneInfo) -> tuple[int, int]:
    """Unix ms of the first instant of month `YYYY-MM` and of the next month, in `timezone`."""
    try:
        year_text, month_text = period.split("-")
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError(period)
        year, month = int(year_text), int(month_text)
        start = datetime.datetime(year, month, 1, tzinfo=timezone)
    except ValueError:
        raise InvalidInputError(f"a statement month is written YYYY-MM, not {period[:16]!r}") from None
    end = datetime.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
