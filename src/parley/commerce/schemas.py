"""Inputs of the catalog API, checked as Meta checks them: product items (the products endpoint's names and the
batch feed's names), product set filters, commerce settings. Every refusal is Graph error 100 naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parley.graph import GraphError
from parley.kit.money import MICROS, minor_units, parse_amount

AVAILABILITIES = frozenset({"in stock", "out of stock", "preorder", "available for order", "discontinued"})
CONDITIONS = frozenset({"new", "refurbished", "used"})
STATUSES = frozenset({"active", "archived"})
VISIBILITIES = {"published": "active", "staging": "archived", "hidden": "archived"}
MAX_RETAILER_ID, MAX_TITLE, MAX_DESCRIPTION, MAX_BRAND, MAX_GROUP, MAX_URL = 100, 200, 9999, 100, 100, 2048
MAX_SET_NAME, MAX_FILTER_CHARS = 200, 500 * 1024
MAX_STOCK = 2**31 - 1

# Meta's name -> ours; the products endpoint's names and the batch feed's both work.
_ALIASES = {
    "retailer_id": "retailer_id",
    "name": "title",
    "title": "title",
    "description": "description",
    "price": "price",
    "currency": "currency",
    "sale_price": "sale_price",
    "sale_price_start_date": "sale_start",
    "sale_price_end_date": "sale_end",
    "sale_price_effective_date": "sale_dates",
    "availability": "availability",
    "condition": "condition",
    "image_url": "image_url",
    "image_link": "image_url",
    "image_media_id": "image_media_id",
    "url": "link",
    "link": "link",
    "brand": "brand",
    "retailer_product_group_id": "item_group_id",
    "item_group_id": "item_group_id",
    "inventory": "stock",
    "quantity_to_sell_on_facebook": "stock",
    "status": "status",
    "visibility": "visibility",
}
# Meta fields a catalog item may carry that Parley accepts and does not keep (a warning, never a refusal).
_IGNORED = frozenset(
    {
        "category", "google_product_category", "fb_product_category", "product_type", "gtin", "mpn", "color",
        "size", "gender", "age_group", "material", "pattern", "additional_image_urls", "additional_image_link",
        "custom_label_0", "custom_label_1", "custom_label_2", "custom_label_3", "custom_label_4",
        "rich_text_description", "short_description", "shipping", "shipping_weight", "origin_country",
        "commerce_tax_category", "manufacturer_info", "importer_name", "wa_compliance_category",
    }
)  # fmt: skip
_HTTP_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@dataclass(frozen=True)
class ProductInput:
    """The fields one request gives for a product: `values` are column values (prices in micros), only those given."""

    retailer_id: str | None
    values: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _bad(message: str) -> GraphError:
    return GraphError(100, message)


def text_field(name: str, raw: object, limit: int, *, required: bool = False) -> str:
    if not isinstance(raw, str):
        raise _bad(f"Param {name} must be a string")
    value = raw.strip()
    if required and not value:
        raise _bad(f"Param {name} cannot be empty")
    if len(value) > limit:
        raise _bad(f"Param {name} must be at most {limit} characters (got {len(value)})")
    return value


def _url(name: str, raw: object) -> str | None:
    if raw in ("", None):
        return None
    value = text_field(name, raw, MAX_URL)
    if not _HTTP_URL.match(value):
        raise _bad(f"Param {name} must be an http:// or https:// URL (got {value[:100]!r})")
    return value


def _currency(raw: object) -> str:
    if not isinstance(raw, str):
        raise _bad("Param currency must be an ISO 4217 code such as USD")
    code = raw.strip().upper()
    try:
        minor_units(code)
    except ValueError:
        raise _bad(f"Param currency: '{raw[:10]}' is not an ISO 4217 currency code") from None
    return code


@dataclass(frozen=True)
class _Money:
    minor: int | None = None  # minor units (cents), as Meta's products endpoint takes a price
    micros: int | None = None  # from the feed form "14.99 GBP"
    currency: str | None = None


def _money(name: str, raw: object) -> _Money:
    if isinstance(raw, bool | float):
        raise _bad(f"Param {name} must be an integer in minor units (1499 for 14.99) or a string such as '14.99 USD'")
    if isinstance(raw, int):
        if raw < 0:
            raise _bad(f"Param {name} cannot be negative")
        return _Money(minor=raw)
    if not isinstance(raw, str):
        raise _bad(f"Param {name} must be an integer in minor units or a string such as '14.99 USD'")
    text = raw.strip()
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return _Money(minor=int(text))
    parts = text.split()
    if len(parts) == 2 and len(parts[1]) == 3 and parts[1].isalpha():
        currency = _currency(parts[1])
        try:
            micros = parse_amount(parts[0])
        except ValueError as exc:
            raise _bad(f"Param {name} '{text[:40]}' is not a price such as '14.99 USD' ({exc})") from None
        places = minor_units(currency)
        if micros % (MICROS // 10**places):
            raise _bad(f"Param {name} '{text}' has more decimals than {currency} has ({places} decimal places)")
        return _Money(micros=micros, currency=currency)
    raise _bad(f"Param {name} must be an integer in minor units (1499 for 14.99) or a string such as '14.99 USD'")


def _micros(money: _Money, currency: str, name: str) -> int:
    if money.micros is not None:
        if money.currency != currency:
            raise _bad(f"Param {name} is in {money.currency}, the product's currency is {currency}")
        return money.micros
    assert money.minor is not None
    micros: int = money.minor * (MICROS // 10 ** minor_units(currency))
    if micros > 2**62:
        raise _bad(f"Param {name} is too large")
    return micros


def _timestamp(name: str, raw: object) -> int | None:
    """ISO-8601 (Meta's form: 2024-01-01T00:00+00:00; without an offset it is UTC) as ms; empty clears it."""
    if raw in ("", None):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw * 1000 if raw < 10**11 else raw  # seconds (Graph's usual) or already ms
    if not isinstance(raw, str):
        raise _bad(f"Param {name} must be an ISO-8601 date such as 2025-01-31T00:00+00:00")
    text = raw.strip()
    if text.isdigit():
        return _timestamp(name, int(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(
            f"Param {name} must be an ISO-8601 date such as 2025-01-31T00:00+00:00 (got {text[:40]!r})"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _stock(name: str, raw: object) -> int | None:
    if raw in ("", None):
        return None
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _bad(f"Param {name} must be a whole number")
    if raw < 0:
        raise _bad(f"Param {name} cannot be negative (got {raw})")
    if raw > MAX_STOCK:
        raise _bad(f"Param {name} is too large")
    return raw


def _choice(name: str, raw: object, allowed: frozenset[str]) -> str:
    if not isinstance(raw, str):
        raise _bad(f"Param {name} must be one of {', '.join(sorted(allowed))}")
    value = " ".join(raw.strip().lower().replace("_", " ").split())
    if value not in allowed:
        raise _bad(f"Param {name} must be one of {', '.join(sorted(allowed))} (got {raw[:40]!r})")
    return value


def parse_product(
    params: Mapping[str, Any],
    *,
    feed: bool,
    current: Mapping[str, Any] | None = None,
    strict: bool = True,
) -> ProductInput:
    """A product item's fields from Meta's names (`feed`: the batch feed's, where `id` is the retailer id).

    `current`: the stored product an update changes (None when creating: then retailer_id, name, price and
    currency are required). `strict`: an unknown field is refused (the products endpoint) rather than warned
    about (the batch, as Meta's feed does).
    """
    warnings: list[str] = []
    given: dict[str, tuple[str, Any]] = {}
    for key, raw in params.items():
        ours = "retailer_id" if feed and key == "id" else _ALIASES.get(key)
        if ours is None:
            if key in _IGNORED or not strict:
                warnings.append(f"{key} is not kept by Parley")
                continue
            raise _bad(f"Param {key} is not a product item field")
        if ours in given:
            raise _bad(f"Param {key} and {given[ours][0]} say the same thing: send one")
        given[ours] = (key, raw)

    def raw_of(ours: str) -> tuple[str, Any] | None:
        return given.get(ours)

    values: dict[str, Any] = {}
    retailer_id = None
    if (item := raw_of("retailer_id")) is not None:
        retailer_id = text_field(item[0], item[1], MAX_RETAILER_ID, required=True)
        if current is not None and retailer_id != current["retailer_id"]:
            raise _bad("Param retailer_id cannot be changed: delete the item and create a new one")
    if (item := raw_of("title")) is not None:
        values["title"] = text_field(item[0], item[1], MAX_TITLE, required=True)
    if (item := raw_of("description")) is not None:
        values["description"] = "" if item[1] is None else text_field(item[0], item[1], MAX_DESCRIPTION)
    if (item := raw_of("availability")) is not None:
        values["availability"] = _choice(item[0], item[1], AVAILABILITIES)
    if (item := raw_of("condition")) is not None:
        values["condition"] = _choice(item[0], item[1], CONDITIONS)
    status = raw_of("status")
    visibility = raw_of("visibility")
    if status is not None and visibility is not None:
        raise _bad("Param status and visibility say the same thing: send one")
    if status is not None:
        values["status"] = _choice(status[0], status[1], STATUSES)
    if visibility is not None:
        values["status"] = VISIBILITIES[_choice(visibility[0], visibility[1], frozenset(VISIBILITIES))]
    if (item := raw_of("image_url")) is not None:
        values["image_url"] = _url(item[0], item[1])
        values["image_media_id"] = None
    if (item := raw_of("image_media_id")) is not None:
        if "image_url" in given:
            raise _bad("Param image_media_id and image_url both name the image: send one")
        media_id = str(item[1]) if isinstance(item[1], int | str) and not isinstance(item[1], bool) else ""
        if not (media_id.isascii() and media_id.isdigit() and len(media_id) <= 19):
            raise _bad("Param image_media_id must be the id of an image uploaded with POST /{phone-number-id}/media")
        values["image_media_id"] = int(media_id)
        values["image_url"] = None
    if (item := raw_of("link")) is not None:
        values["link"] = _url(item[0], item[1])
    if (item := raw_of("brand")) is not None:
        values["brand"] = None if item[1] in ("", None) else text_field(item[0], item[1], MAX_BRAND)
    if (item := raw_of("item_group_id")) is not None:
        values["item_group_id"] = None if item[1] in ("", None) else text_field(item[0], item[1], MAX_GROUP)
    if (item := raw_of("stock")) is not None:
        values["stock"] = _stock(item[0], item[1])
    _prices(given, values, current)
    _sale_dates(given, values, current)
    if current is None:
        missing = [name for name, ours in (("name", "title"), ("price", "price")) if ours not in values]
        if retailer_id is None:
            missing.insert(0, "id" if feed else "retailer_id")
        if missing:
            raise GraphError(100, f"The parameter {missing[0]} is required to create a product item")
    return ProductInput(retailer_id, values, warnings)


def _prices(given: Mapping[str, tuple[str, Any]], values: dict[str, Any], current: Mapping[str, Any] | None) -> None:
    price = None if "price" not in given else _money(given["price"][0], given["price"][1])
    sale_raw = given.get("sale_price")
    sale = None if sale_raw is None or sale_raw[1] in ("", None) else _money(sale_raw[0], sale_raw[1])
    currency = None
    if "currency" in given:
        currency = _currency(given["currency"][1])
    for name, money in (("price", price), ("sale_price", sale)):
        if money is not None and money.currency is not None:
            if currency is not None and money.currency != currency:
                raise _bad(f"Param {name} is in {money.currency} but the price is in {currency}")
            currency = money.currency
    if currency is None and current is not None and (price is not None or sale is not None):
        currency = str(current["currency"])
    if currency is None:
        if price is not None or sale is not None:
            raise GraphError(100, "The parameter currency is required (or give the price as '14.99 USD')")
        return
    values["currency"] = currency
    if price is not None:
        values["price"] = _micros(price, currency, given["price"][0])
    if sale is not None:
        values["sale_price"] = _micros(sale, currency, "sale_price")
    elif sale_raw is not None:
        values["sale_price"] = None
    final_price = values.get("price", None if current is None else current["price"])
    final_sale = values.get("sale_price", None if current is None else current["sale_price"])
    if final_sale is not None and final_price is not None and final_sale >= final_price:
        raise _bad("Param sale_price must be below price")


def _sale_dates(
    given: Mapping[str, tuple[str, Any]], values: dict[str, Any], current: Mapping[str, Any] | None
) -> None:
    if "sale_dates" in given:
        if "sale_start" in given or "sale_end" in given:
            raise _bad("Param sale_price_effective_date and sale_price_start_date/end_date say the same thing")
        name, raw = given["sale_dates"]
        if raw in ("", None):
            values["sale_starts_at"] = values["sale_ends_at"] = None
        else:
            if not isinstance(raw, str) or raw.count("/") != 1:
                raise _bad(f"Param {name} must be two ISO-8601 dates joined by '/' (start/end)")
            first, last = raw.split("/")
            values["sale_starts_at"] = _timestamp(name, first)
            values["sale_ends_at"] = _timestamp(name, last)
    if "sale_start" in given:
        values["sale_starts_at"] = _timestamp(*given["sale_start"])
    if "sale_end" in given:
        values["sale_ends_at"] = _timestamp(*given["sale_end"])
    start = values.get("sale_starts_at", None if current is None else current["sale_starts_at"])
    end = values.get("sale_ends_at", None if current is None else current["sale_ends_at"])
    if start is not None and end is not None and start >= end:
        raise _bad("Param sale_price_end_date must be after sale_price_start_date")


# --- product sets ------------------------------------------------------------------------------------------

FILTER_FIELDS = {
    "retailer_id": "retailer_id",
    "availability": "availability",
    "brand": "brand",
    "condition": "condition",
    "name": "title",
    "title": "title",
    "retailer_product_group_id": "item_group_id",
    "item_group_id": "item_group_id",
}
FILTER_OPERATORS = frozenset({"eq", "neq", "is_any", "is_not_any", "contains", "not_contains", "i_contains"})


def check_filter(rule: object, path: str = "filter") -> None:
    """Meta's product set rule: `{field: {op: value}}`, or `{"and"|"or": [rules]}`; refuses what cannot be evaluated."""
    if not isinstance(rule, dict) or len(rule) != 1:
        example = '{"retailer_id": {"is_any": [...]}}'
        raise _bad(f"Param {path} must be an object with one field or 'and'/'or', e.g. {example}")
    [(key, value)] = rule.items()
    if key in ("and", "or"):
        if not isinstance(value, list) or not value:
            raise _bad(f"Param {path}['{key}'] must be a non-empty list of rules")
        for index, inner in enumerate(value):
            check_filter(inner, f"{path}['{key}'][{index}]")
        return
    if key not in FILTER_FIELDS:
        raise _bad(f"Param {path}: cannot filter on '{key}'; use one of {', '.join(sorted(FILTER_FIELDS))}")
    if not isinstance(value, dict) or len(value) != 1:
        raise _bad(f'Param {path}[\'{key}\'] must be one operator, e.g. {{"eq": "..."}}')
    [(op, operand)] = value.items()
    if op not in FILTER_OPERATORS:
        raise _bad(f"Param {path}['{key}']: unknown operator '{op}'; use one of {', '.join(sorted(FILTER_OPERATORS))}")
    if op in ("is_any", "is_not_any"):
        if not isinstance(operand, list) or not all(isinstance(v, str) for v in operand):
            raise _bad(f"Param {path}['{key}']['{op}'] must be a list of strings")
    elif not isinstance(operand, str):
        raise _bad(f"Param {path}['{key}']['{op}'] must be a string")


def matches(rule: Mapping[str, Any], product: Mapping[str, Any]) -> bool:
    """Whether a product (its column values) passes a rule `check_filter` accepted."""
    [(key, value)] = rule.items()
    if key == "and":
        return all(matches(inner, product) for inner in value)
    if key == "or":
        return any(matches(inner, product) for inner in value)
    actual = str(product.get(FILTER_FIELDS[key]) or "")
    [(name, operand)] = value.items()
    op = str(name)
    if op in ("is_any", "is_not_any"):
        return (actual in [str(v) for v in operand]) == (op == "is_any")
    text = str(operand)
    if op in ("eq", "neq"):
        return (actual == text) == (op == "eq")
    if op in ("contains", "not_contains"):
        return (text in actual) == (op == "contains")
    return text.lower() in actual.lower()  # i_contains


# --- commerce settings --------------------------------------------------------------------------------------


def string_bool(name: str, raw: object) -> bool:
    """Meta's query booleans: "true"/"false" (any case, also 1/0); a JSON boolean is fine too."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, str | int) else ""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise _bad(f"Param {name} must be true or false")
