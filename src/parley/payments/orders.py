"""`order_details` and `order_status` interactive messages, checked as Meta's Payments API (India, Brazil) checks them.

`parse_order_details` turns `interactive.action.parameters` into a `ParsedOrder` with amounts in micros, or raises
`GraphError`: 131008 for a missing parameter, 100 for a wrong JSON type, 131009 for a value breaking a rule, with
`details` naming the parameter (`interactive['action']['parameters']['order']['subtotal']`) and the rule.
India: `currency` INR, `reference_id` ≤ 35 characters, `order` required, payment by `payment_settings`
(payment_gateway, upi_intent_link, payment_link) or the older `payment_type` + `payment_configuration`.
Brazil (`payment_type` "br"): BRL, `reference_id` ≤ 60, `order` optional (tax required when present),
`payment_settings` of pix_dynamic_code, payment_link or boleto. Amounts are `{value, offset}` with offset 100;
total = subtotal + tax + shipping − discount; subtotal = Σ (sale_amount or amount) × quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parley.graph import GraphError
from parley.kit.idempotency import request_fingerprint
from parley.kit.money import MICROS

PARAMS = "interactive['action']['parameters']"
MIN_EXPIRY_S = 300
UPI_CEILING = 500_000 * MICROS  # INR: UPI takes no more in one payment
_REFERENCE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_HTTP = re.compile(r"^https?://\S+$", re.IGNORECASE)
_GATEWAYS = ("razorpay", "payu", "billdesk", "zaakpay")
# The gateway's own fields Meta echoes back in payment webhooks; others are not kept.
_ECHOED = {
    "razorpay": ("receipt", "notes"),
    "payu": ("udf1", "udf2", "udf3", "udf4"),
    "zaakpay": ("extra1", "extra2"),
    "billdesk": tuple(f"additional_info{i}" for i in range(1, 8)),
}
_IN_SETTINGS = ("payment_gateway", "upi_intent_link", "payment_link")
_BR_SETTINGS = ("pix_dynamic_code", "payment_link", "boleto")
_PIX_KEY_TYPES = ("CPF", "CNPJ", "EMAIL", "PHONE", "EVP")
ORDER_STATUSES = ("pending", "processing", "partially_shipped", "shipped", "completed", "canceled")
_IN_TRANSIT = frozenset({"processing", "partially_shipped", "shipped"})
TERMINAL = frozenset({"completed", "canceled"})
OFFSITE_PAYMENT_STATUSES = ("pending", "captured", "failed")


@dataclass(frozen=True)
class OrderItem:
    name: str
    retailer_id: str | None
    quantity: int
    unit: int  # micros: the sale amount when there is one, else the amount
    amount: int  # micros, list price per unit

    def view(self, offset: int = 100) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "quantity": self.quantity, "amount": to_meta(self.amount, offset)}
        if self.unit != self.amount:
            out["sale_amount"] = to_meta(self.unit, offset)
        if self.retailer_id is not None:
            out["retailer_id"] = self.retailer_id
        return out


@dataclass(frozen=True)
class ParsedOrder:
    """An order_details message's order: who pays what, in micros of `currency`."""

    market: str  # "IN" | "BR"
    reference_id: str
    currency: str
    total: int
    merchant_category: str | None  # digital-goods | physical-goods
    settings_kind: str  # payment_gateway | upi_intent_link | payment_link | pix_dynamic_code | boleto | upi
    payment_configuration: str  # the gateway's configuration name ("" when none)
    gateway: str | None  # razorpay | payu | … (payment_gateway only)
    echo: dict[str, Any]  # the gateway's extras (Razorpay receipt, notes), echoed in payment webhooks
    body_hash: str  # the parameters' fingerprint: the same order sent again is a resend, not a new order
    items: tuple[OrderItem, ...] = ()
    subtotal: int | None = None
    tax: int | None = None
    shipping: int | None = None
    discount: int | None = None
    expires_at: int | None = None  # ms
    expiration_description: str | None = None


@dataclass(frozen=True)
class ParsedStatus:
    """An order_status message: the new status of the order with `reference_id` (and Brazil's payment block)."""

    reference_id: str
    status: str
    description: str | None
    payment_status: str | None  # Brazil: the merchant's own word on an offsite payment


def to_meta(micros: int, offset: int = 100) -> dict[str, int]:
    """Micros as Meta's `{value, offset}` (value in 1/offset of a unit)."""
    return {"value": micros * offset // MICROS, "offset": offset}


def _path(*parts: str | int) -> str:
    return PARAMS + "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in parts)


def _missing(*parts: str | int) -> GraphError:
    return GraphError(131008, f"The parameter {_path(*parts)} is required.")


def _invalid(rule: str, *parts: str | int) -> GraphError:
    return GraphError(131009, f"Param {_path(*parts)} {rule}.")


def _type(kind: str, *parts: str | int) -> GraphError:
    return GraphError(100, f"Param {_path(*parts)} must be {kind}.")


def _obj(data: dict[str, Any], key: str, *parts: str | int, required: bool = True) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(*parts, key)
        return None
    if not isinstance(value, dict):
        raise _type("an object", *parts, key)
    return value


def _str(
    data: dict[str, Any], key: str, *parts: str | int, required: bool = True, max_len: int | None = None
) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(*parts, key)
        return None
    if not isinstance(value, str):
        raise _type("a string", *parts, key)
    if required and not value:
        raise _invalid("must not be empty", *parts, key)
    if max_len is not None and len(value) > max_len:
        raise _invalid(f"must be at most {max_len} characters", *parts, key)
    return value


def _int(value: object, *parts: str | int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type("an integer", *parts)
    return value


def _amount(data: dict[str, Any], key: str, *parts: str | int, required: bool = True) -> int | None:
    """Meta's `{value, offset}` as exact micros; offset must be 100 (INR, BRL)."""
    value = _obj(data, key, *parts, required=required)
    if value is None:
        return None
    for inner in ("value", "offset"):
        if inner not in value:
            raise _missing(*parts, key, inner)
    number = _int(value["value"], *parts, key, "value")
    offset = _int(value["offset"], *parts, key, "offset")
    if offset != 100:
        raise _invalid("must be 100 (amounts are in hundredths of the currency)", *parts, key, "offset")
    if number < 0:
        raise _invalid("must not be negative", *parts, key, "value")
    if number * MICROS % offset:
        raise _invalid("is not an exact amount", *parts, key, "value")
    description = value.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 60):
        raise _invalid("must be a string of at most 60 characters", *parts, key, "description")
    return number * MICROS // offset


def parse_order_details(parameters: object, now_ms: int) -> ParsedOrder:
    """The order of an order_details message (India or Brazil), checked; raises GraphError."""
    if parameters is None:
        raise GraphError(131008, f"The parameter {PARAMS} is required.")
    if not isinstance(parameters, dict):
        raise GraphError(100, f"Param {PARAMS} must be an object.")
    p = parameters
    payment_type = _str(p, "payment_type", required=False)
    market = "BR" if payment_type == "br" else "IN"
    if payment_type is not None and payment_type not in ("br", "upi"):
        raise _invalid("must be 'br' (Brazil) or 'upi' (India)", "payment_type")
    reference_id = _str(p, "reference_id", max_len=35 if market == "IN" else 60)
    assert reference_id is not None
    if not _REFERENCE.match(reference_id):
        raise _invalid("may only contain letters, digits, '_', '-' and '.'", "reference_id")
    category = _str(p, "type", required=market == "IN")
    if category is not None and category not in ("digital-goods", "physical-goods"):
        raise _invalid("must be 'digital-goods' or 'physical-goods'", "type")
    currency = _str(p, "currency")
    expected = "INR" if market == "IN" else "BRL"
    if currency != expected:
        raise _invalid(f"must be {expected}" + (" (payment_type 'br')" if market == "BR" else ""), "currency")
    total = _amount(p, "total_amount")
    assert total is not None
    if total == 0:
        raise _invalid("must be more than zero", "total_amount", "value")
    kind, configuration, gateway, echo = _payment_settings(p, market)
    if kind in ("upi", "upi_intent_link") and total > UPI_CEILING:
        raise _invalid(
            f"must be at most {to_meta(UPI_CEILING)['value']} for UPI (₹5,00,000): send a payment link", "total_amount"
        )
    order = _obj(p, "order", required=market == "IN")
    parsed = ParsedOrder(
        market=market,
        reference_id=reference_id,
        currency=expected,
        total=total,
        merchant_category=category,
        settings_kind=kind,
        payment_configuration=configuration,
        gateway=gateway,
        echo=echo,
        body_hash=request_fingerprint(p),
    )
    if order is None:
        return parsed
    return _with_order(parsed, order, now_ms)


def _with_order(parsed: ParsedOrder, order: dict[str, Any], now_ms: int) -> ParsedOrder:
    status = _str(order, "status", "order")
    if status != "pending":
        raise _invalid("must be 'pending' in an order_details message", "order", "status")
    _str(order, "catalog_id", "order", required=False, max_len=64)
    raw_items = order.get("items")
    if raw_items is None:
        raise _missing("order", "items")
    if not isinstance(raw_items, list):
        raise _type("a list", "order", "items")
    if not 1 <= len(raw_items) <= 999:
        raise _invalid("must have from 1 to 999 items", "order", "items")
    items = []
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise _type("an object", "order", "items", i)
        name = _str(raw, "name", "order", "items", i, max_len=60)
        retailer_id = _str(raw, "retailer_id", "order", "items", i, required=parsed.market == "BR", max_len=100)
        amount = _amount(raw, "amount", "order", "items", i)
        sale = _amount(raw, "sale_amount", "order", "items", i, required=False)
        if "quantity" not in raw:
            raise _missing("order", "items", i, "quantity")
        quantity = _int(raw["quantity"], "order", "items", i, "quantity")
        if quantity < 1:
            raise _invalid("must be at least 1", "order", "items", i, "quantity")
        assert name is not None and amount is not None
        items.append(OrderItem(name, retailer_id, quantity, amount if sale is None else sale, amount))
    subtotal = _amount(order, "subtotal", "order")
    tax = _amount(order, "tax", "order")
    shipping = _amount(order, "shipping", "order", required=False)
    discount = _amount(order, "discount", "order", required=False)
    assert subtotal is not None and tax is not None
    discount_data = order.get("discount")
    if isinstance(discount_data, dict):
        program = discount_data.get("discount_program_name")
        if program is not None and (not isinstance(program, str) or len(program) > 60):
            raise _invalid("must be a string of at most 60 characters", "order", "discount", "discount_program_name")
    summed = sum(item.unit * item.quantity for item in items)
    if subtotal != summed:
        raise _invalid(
            f"must equal the sum of the items' (sale_amount or amount) × quantity, {to_meta(summed)['value']}",
            "order",
            "subtotal",
            "value",
        )
    expected_total = subtotal + tax + (shipping or 0) - (discount or 0)
    if parsed.total != expected_total:
        raise GraphError(
            131009,
            f"Param {_path('total_amount', 'value')} must equal subtotal + tax + shipping - discount, "
            f"{to_meta(expected_total)['value']}.",
        )
    expires_at, description = _expiration(order, now_ms)
    return ParsedOrder(
        **{
            **parsed.__dict__,
            "items": tuple(items),
            "subtotal": subtotal,
            "tax": tax,
            "shipping": shipping,
            "discount": discount,
            "expires_at": expires_at,
            "expiration_description": description,
        }
    )


def _expiration(order: dict[str, Any], now_ms: int) -> tuple[int | None, str | None]:
    expiration = _obj(order, "expiration", "order", required=False)
    if expiration is None:
        return None, None
    stamp = expiration.get("timestamp")
    if stamp is None:
        raise _missing("order", "expiration", "timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, str | int):
        raise _type("a string of UTC seconds", "order", "expiration", "timestamp")
    if isinstance(stamp, str) and not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise _invalid("must be UTC seconds", "order", "expiration", "timestamp")
    seconds = int(stamp)
    if seconds * 1000 < now_ms + MIN_EXPIRY_S * 1000:
        raise _invalid(f"must be at least {MIN_EXPIRY_S} seconds in the future", "order", "expiration", "timestamp")
    description = _str(expiration, "description", "order", "expiration", required=False, max_len=120)
    return seconds * 1000, description


def _payment_settings(p: dict[str, Any], market: str) -> tuple[str, str, str | None, dict[str, Any]]:
    """(kind, configuration name, gateway, gateway extras) of the order's payment settings."""
    settings = p.get("payment_settings")
    if settings is None:
        if market == "IN" and p.get("payment_type") == "upi":  # the older form Meta still accepts
            configuration = _str(p, "payment_configuration", max_len=60)
            assert configuration is not None
            return "upi", configuration, None, {}
        raise _missing("payment_settings")
    if not isinstance(settings, list):
        raise _type("a list", "payment_settings")
    if not 1 <= len(settings) <= 3:
        raise _invalid("must have from 1 to 3 settings", "payment_settings")
    allowed = _IN_SETTINGS if market == "IN" else _BR_SETTINGS
    first: tuple[str, str, str | None, dict[str, Any]] | None = None
    for i, setting in enumerate(settings):
        if not isinstance(setting, dict):
            raise _type("an object", "payment_settings", i)
        kind = _str(setting, "type", "payment_settings", i)
        if kind not in allowed:
            raise _invalid(f"must be one of {', '.join(allowed)}", "payment_settings", i, "type")
        assert kind is not None
        body = _obj(setting, kind, "payment_settings", i)
        assert body is not None
        found = _setting(kind, body, ("payment_settings", i, kind))
        first = first or found
    assert first is not None
    return first


def _setting(kind: str, body: dict[str, Any], at: tuple[str | int, ...]) -> tuple[str, str, str | None, dict[str, Any]]:
    if kind == "payment_gateway":
        gateway = _str(body, "type", *at)
        if gateway not in _GATEWAYS:
            raise _invalid(f"must be one of {', '.join(_GATEWAYS)}", *at, "type")
        assert gateway is not None
        configuration = _str(body, "configuration_name", *at, max_len=60)
        assert configuration is not None
        extras = body.get(gateway) or {}
        if not isinstance(extras, dict):
            raise _type("an object", *at, gateway)
        return kind, configuration, gateway, {k: v for k, v in extras.items() if k in _ECHOED[gateway]}
    if kind == "upi_intent_link":
        link = _str(body, "link", *at, max_len=2048)
        if link is None or not link.startswith("upi://pay?"):
            raise _invalid("must be a upi://pay?... link", *at, "link")
        return kind, "", None, {}
    if kind == "payment_link":
        uri = _str(body, "uri", *at, max_len=2048)
        if uri is None or not _HTTP.match(uri):
            raise _invalid("must be an http:// or https:// URL", *at, "uri")
        return kind, "", None, {}
    if kind == "pix_dynamic_code":
        for key in ("code", "merchant_name", "key"):
            _str(body, key, *at, max_len=512)
        key_type = _str(body, "key_type", *at)
        if key_type not in _PIX_KEY_TYPES:
            raise _invalid(f"must be one of {', '.join(_PIX_KEY_TYPES)}", *at, "key_type")
        return kind, "", None, {}
    # boleto
    line = _str(body, "digitable_line", *at, max_len=60)
    if line is None or not line.isdigit():
        raise _invalid("must be the boleto's digits", *at, "digitable_line")
    return kind, "", None, {}


def parse_order_status(parameters: object) -> ParsedStatus:
    """The parameters of an order_status message, checked; raises GraphError."""
    if parameters is None:
        raise GraphError(131008, f"The parameter {PARAMS} is required.")
    if not isinstance(parameters, dict):
        raise GraphError(100, f"Param {PARAMS} must be an object.")
    reference_id = _str(parameters, "reference_id", max_len=60)
    assert reference_id is not None
    order = _obj(parameters, "order")
    assert order is not None
    status = _str(order, "status", "order")
    status = None if status is None else status.replace("-", "_")  # Meta's docs spell it both ways
    if status not in ORDER_STATUSES:
        raise _invalid(f"must be one of {', '.join(ORDER_STATUSES)}", "order", "status")
    description = _str(order, "description", "order", required=False, max_len=120)
    payment = _obj(parameters, "payment", required=False)
    payment_status = None
    if payment is not None:
        payment_status = _str(payment, "status", "payment")
        if payment_status not in OFFSITE_PAYMENT_STATUSES:
            raise _invalid(f"must be one of {', '.join(OFFSITE_PAYMENT_STATUSES)}", "payment", "status")
        if "timestamp" in payment:
            _int(payment["timestamp"], "payment", "timestamp")
    return ParsedStatus(reference_id, status, description, payment_status)


def check_transition(current: str, new: str, paid: bool) -> None:
    """Meta's order status rules: pending → anything; processing, shipped, partially_shipped → one another or an
    end; completed and canceled are final (2046); a paid order (a captured or pending payment) cannot be
    canceled (2047)."""
    if current in TERMINAL:
        raise GraphError(
            2046,
            f"New order status was not correctly transitioned: the order is {current}, which is final.",
            title="New order status was not correctly transitioned",
        )
    if current in _IN_TRANSIT and new == "pending":
        raise GraphError(
            2046,
            f"New order status was not correctly transitioned: {current} cannot go back to pending.",
            title="New order status was not correctly transitioned",
        )
    if new == "canceled" and paid:
        raise GraphError(
            2047,
            "Cannot cancel the order: it has a captured or pending payment; refund it instead.",
            title="Cannot cancel the order",
        )
