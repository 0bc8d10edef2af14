"""What the affiliate routes accept, checked field by field before anything is written: a refusal names the field.

The same checks serve the Business API (Graph parameters arrive as JSON values or form strings), the console's
form and the web client, so a program or a link is valid the same way wherever it comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parley.affiliates.commission import MAX_RATE_BP
from parley.kit.errors import InvalidInputError

MAX_WINDOW_DAYS, MAX_HOLD_DAYS, MAX_TERMS, MAX_RETAILER_ID = 90, 180, 1000, 100
_FIELDS = frozenset({"rate_bp", "window_days", "hold_days", "terms", "active"})


@dataclass(frozen=True)
class ProgramInput:
    rate_bp: int  # basis points of the order's total: 500 = 5 %
    window_days: int  # a purchase this many days after the click earns the commission
    hold_days: int  # the refund window: the commission is paid after it
    terms: str
    active: bool


def _integer(params: Mapping[str, Any], field: str, low: int, high: int, default: int | None) -> int:
    raw = params.get(field, default)
    if raw is None:
        raise InvalidInputError(f"Param {field} is required")
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 9:
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidInputError(f"Param {field} must be a whole number")
    if not low <= raw <= high:
        raise InvalidInputError(f"Param {field} must be {low} to {high}")
    return raw


def _boolean(params: Mapping[str, Any], field: str, default: bool) -> bool:
    raw = params.get(field, default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise InvalidInputError(f"Param {field} must be true or false")


def parse_program(params: Mapping[str, Any], current: ProgramInput | None = None) -> ProgramInput:
    """A program from its parameters; fields left out keep their current value (or the defaults: 7-day window,
    14-day hold, active)."""
    unknown = sorted(set(params) - _FIELDS)
    if unknown:
        raise InvalidInputError(f"Param {unknown[0][:40]} is not a field of an affiliate program")
    terms = params.get("terms", current.terms if current else "")
    if not isinstance(terms, str) or len(terms) > MAX_TERMS:
        raise InvalidInputError(f"Param terms must be text of at most {MAX_TERMS} characters")
    return ProgramInput(
        rate_bp=_integer(params, "rate_bp", 1, MAX_RATE_BP, current.rate_bp if current else None),
        window_days=_integer(params, "window_days", 1, MAX_WINDOW_DAYS, current.window_days if current else 7),
        hold_days=_integer(params, "hold_days", 0, MAX_HOLD_DAYS, current.hold_days if current else 14),
        terms=terms.strip(),
        active=_boolean(params, "active", current.active if current else True),
    )


def parse_product(raw: object) -> str | None:
    """A link's product (a catalog retailer id), or None for the whole catalog."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_RETAILER_ID or not raw.strip() or not raw.isprintable():
        raise InvalidInputError(f"Param product_retailer_id must be a retailer id of 1 to {MAX_RETAILER_ID} characters")
    return raw.strip()
