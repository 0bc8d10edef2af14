"""Exact money: amounts are integers in micro-units of their currency (1 USD = 1,000,000 micros), never floats."""

from __future__ import annotations

import re

MICROS = 1_000_000
_MICRO_PLACES = 6
BPS = 10_000  # basis points in a whole (2500 bps = 25 %)

# Ledger columns are signed 64-bit; an amount that does not fit is refused here instead of failing in the database.
MAX_MICROS = 2**63 - 1

_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
_NON_FINITE = {"nan", "snan", "inf", "infinity"}
# Micros in one step of the nth decimal place (index 0 = whole units .. 6 = one micro).
_MICROS_PER_PLACE = (1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# ISO 4217 minor-unit exponents (active codes). Most currencies have 2 decimals; the others are listed by exponent.
_CURRENCIES_BY_EXPONENT: dict[int, frozenset[str]] = {
    0: _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
    2: _codes(
        """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
        CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ
        GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK
        MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB
        SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD
        USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL
        """
    ),
    3: _codes("BHD IQD JOD KWD LYD OMR TND"),
    4: _codes("CLF UYW"),
}
_MINOR_UNITS = {code: exponent for exponent, codes in _CURRENCIES_BY_EXPONENT.items() for code in codes}


def parse_amount(text: str, *, allow_negative: bool = False) -> int:
    """Exact micros of a decimal string in currency units ("25.50" -> 25_500_000); ValueError says what is wrong."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("amount is empty")
    match = _AMOUNT.fullmatch(stripped)
    if match is None:
        unsigned = stripped.lstrip("+-").lower()
        if unsigned in _NON_FINITE:
            raise ValueError(f"amount '{text}' is not a finite number")
        if re.fullmatch(r"[0-9.]+e[+-]?[0-9]+", unsigned):
            raise ValueError(f"amount '{text}' uses an exponent; write it as a plain decimal such as 25.50")
        raise ValueError(f"amount '{text}' is not a decimal number such as 25.50")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if sign and not allow_negative:
        raise ValueError(f"amount '{text}' is negative")
    if len(fraction) > _MICRO_PLACES:
        raise ValueError(f"amount '{text}' has more than {_MICRO_PLACES} decimal places")
    # Checking the digit count first keeps a huge input from reaching int() (which caps at 4300 digits).
    if len(whole.lstrip("0")) > 13:
        raise ValueError(f"amount '{text}' is too large")
    micros = int(whole) * MICROS + int(fraction.ljust(_MICRO_PLACES, "0"))
    if micros > MAX_MICROS:
        raise ValueError(f"amount '{text}' is too large")
    return -micros if sign else micros


def format_amount(micros: int, places: int = 6) -> str:
    """Currency units as a plain decimal string: at least 2 decimals, more only when needed, at most `places`.

    25_500_000 -> "25.50", 61_800 -> "0.0618", -1_000_000 -> "-1.00". With `places` below 6 the amount is first
    rounded half-up to that many decimals (`places=0` gives whole units, as for JPY).
    """
    if not 0 <= places <= _MICRO_PLACES:
        raise ValueError(f"places must be between 0 and {_MICRO_PLACES}, not {places}")
    step = _MICROS_PER_PLACE[places]
    rounded = divide_half_up(micros, step) * step
    sign = "-" if rounded < 0 else ""
    whole, fraction = divmod(abs(rounded), MICROS)
    digits = f"{fraction:06d}"[:places].rstrip("0").ljust(min(2, places), "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def minor_units(currency: str) -> int:
    """ISO 4217 exponent of the currency's minor unit: 2 for USD/EUR/INR, 0 for JPY/CLP, 3 for KWD/BHD/OMR."""
    exponent = _MINOR_UNITS.get(currency)
    if exponent is None:
        raise ValueError(f"'{currency}' is not an ISO 4217 currency code")
    return exponent


def round_to_minor(micros: int, currency: str) -> int:
    """Round half-up (away from zero) to the currency's minor unit; the result is still in micros."""
    step = _MICROS_PER_PLACE[minor_units(currency)]
    return divide_half_up(micros, step) * step


def apply_markup(micros: int, markup_bps: int) -> int:
    """`micros` raised by `markup_bps` basis points (2500 = +25 %), rounded half-up to a whole micro."""
    if markup_bps < -BPS:
        raise ValueError(f"a markup of {markup_bps} bps would make the amount change sign")
    return divide_half_up(micros * (BPS + markup_bps), BPS)


def apply_discount(micros: int, discount_bps: int) -> int:
    """`micros` lowered by `discount_bps` basis points (500 = -5 %), rounded half-up to a whole micro."""
    if not 0 <= discount_bps <= BPS:
        raise ValueError(f"a discount must be between 0 and {BPS} bps, not {discount_bps}")
    return divide_half_up(micros * (BPS - discount_bps), BPS)


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero (exact integer maths)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient
