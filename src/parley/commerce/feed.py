"""Meta's catalog feed as CSV (id, title, price "14.99 BRL", ...) read into product fields, with per-line errors."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parley.kit.money import minor_units, parse_amount

MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_FEED_ROWS = 10_000
COLUMNS = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
    "brand",
    "sale_price",
    "sale_price_effective_date",
    "item_group_id",
    "quantity_to_sell_on_facebook",
    "status",
)
REQUIRED = ("id", "title", "price")
AVAILABILITY = ("in stock", "out of stock", "preorder", "available for order", "discontinued")
CONDITIONS = ("new", "refurbished", "used")
STATUSES = ("active", "archived")
_PRICE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s+([A-Za-z]{3})")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class FeedError(ValueError):
    """The whole file is unusable (not UTF-8, no header, a required column missing, too big)."""


@dataclass(frozen=True)
class FeedItem:
    """One good line: the product fields it sets, named as the products table names them."""

    line: int
    retailer_id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class LineError:
    line: int
    retailer_id: str
    message: str


@dataclass
class Feed:
    items: list[FeedItem] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def parse_feed(data: bytes) -> Feed:
    """The file's good lines and its bad ones (by line number); a retailer id given twice is refused on every
    line that gives it, as Meta ignores all copies."""
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"the file is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often write a byte-order mark
    except UnicodeDecodeError as exc:
        raise FeedError(f"the file is not UTF-8 text (byte {exc.start} cannot be read)") from exc
    if "\x00" in text:
        raise FeedError("the file is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FeedError(f"line 1: {exc}") from exc
    if header is None or not any(h.strip() for h in header):
        raise FeedError("the file is empty: its first line must name the columns (id, title, price, ...)")
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise FeedError(f"the first line must name the columns; missing: {', '.join(missing)}")
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        raise FeedError(f"a column is named twice: {', '.join(doubled)}")
    feed = Feed(ignored_columns=[n for n in names if n and n not in COLUMNS])
    parsed: list[FeedItem] = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            feed.errors.append(LineError(line, "", f"not valid CSV: {exc}"))
            break
        if cells is None:
            break
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(parsed) + len(feed.errors) >= MAX_FEED_ROWS:
            raise FeedError(f"the file has more than {MAX_FEED_ROWS} products")
        row = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names) if n in COLUMNS}
        retailer_id = row.get("id", "")
        try:
            parsed.append(FeedItem(start, retailer_id, _values(row)))
        except ValueError as exc:
            feed.errors.append(LineError(start, retailer_id, str(exc)))
    ids = [i.retailer_id for i in parsed] + [e.retailer_id for e in feed.errors if e.retailer_id]
    twice = {r for r in ids if ids.count(r) > 1}
    for item in parsed:
        if item.retailer_id in twice:
            feed.errors.append(LineError(item.line, item.retailer_id, "this id is on more than one line"))
        else:
            feed.items.append(item)
    feed.errors.sort(key=lambda e: e.line)
    return feed


def _values(row: dict[str, str]) -> dict[str, Any]:
    retailer_id = row.get("id", "")
    if not retailer_id:
        raise ValueError("id is empty")
    _limit("id", retailer_id, 100)
    title = row.get("title", "")
    if not title:
        raise ValueError("title is empty")
    _limit("title", title, 200)
    description = row.get("description", "")
    _limit("description", description, 9999)
    price, currency = _price("price", row.get("price", ""))
    values: dict[str, Any] = {"title": title, "description": description, "price": price, "currency": currency}
    values["availability"] = _choice("availability", row.get("availability", "") or "in stock", AVAILABILITY)
    values["condition"] = _choice("condition", row.get("condition", "") or "new", CONDITIONS)
    values["status"] = _choice("status", row.get("status", "") or "active", STATUSES)
    values["link"] = _url("link", row.get("link", ""))
    values["image_url"] = _url("image_link", row.get("image_link", ""))
    brand, group = row.get("brand", ""), row.get("item_group_id", "")
    _limit("brand", brand, 100)
    _limit("item_group_id", group, 100)
    values["brand"], values["item_group_id"] = brand or None, group or None
    values["sale_price"], values["sale_starts_at"], values["sale_ends_at"] = None, None, None
    if row.get("sale_price"):
        sale, sale_currency = _price("sale_price", row["sale_price"])
        if sale_currency != currency:
            raise ValueError(f"sale_price is in {sale_currency} but price is in {currency}")
        if sale >= price:
            raise ValueError("sale_price must be below price")
        values["sale_price"] = sale
        values["sale_starts_at"], values["sale_ends_at"] = _dates(row.get("sale_price_effective_date", ""))
    elif row.get("sale_price_effective_date"):
        raise ValueError("sale_price_effective_date is given without a sale_price")
    stock = row.get("quantity_to_sell_on_facebook", "")
    if stock:
        if not stock.isdigit() or len(stock) > 9:
            raise ValueError(f"quantity_to_sell_on_facebook '{stock}' is not a whole number of 0 or more")
        values["stock"] = int(stock)
    else:
        values["stock"] = None
    return values


def _limit(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    lowered = value.lower().replace("_", " ") if name == "availability" else value.lower()
    if lowered not in allowed:
        raise ValueError(f"{name} '{value}' is not one of: {', '.join(allowed)}")
    return lowered


def _price(name: str, value: str) -> tuple[int, str]:
    """Meta's price: `<number> <ISO 4217 code>` with a period as the decimal point, exact to the currency."""
    match = _PRICE.fullmatch(value)
    if match is None:
        raise ValueError(f"{name} '{value}' is not a price such as '14.99 BRL'")
    currency = match.group(2).upper()
    try:
        places = minor_units(currency)
        micros = parse_amount(match.group(1))
    except ValueError as exc:
        raise ValueError(f"{name} '{value}': {exc}") from exc
    if micros % (1_000_000 // 10**places):
        raise ValueError(f"{name} '{value}' has more decimals than {currency} has")
    if micros <= 0:
        raise ValueError(f"{name} '{value}' must be above zero")
    return micros, currency


def _url(name: str, value: str) -> str | None:
    if not value:
        return None
    if len(value) > 2048 or not _URL.fullmatch(value):
        raise ValueError(f"{name} must be an http(s) address of at most 2048 characters")
    return value


def _dates(value: str) -> tuple[int | None, int | None]:
    """Meta's `start/end` ISO 8601 range (either side may be empty), as ms; no zone means UTC."""
    if not value:
        return None, None
    parts = value.split("/")
    if len(parts) != 2:
        raise ValueError("sale_price_effective_date must be 'start/end' in ISO 8601, e.g. 2026-01-01T00:00Z/2026-02-01")
    start, end = (_instant(p.strip()) if p.strip() else None for p in parts)
    if start is not None and end is not None and end <= start:
        raise ValueError("sale_price_effective_date ends before it starts")
    return start, end


def _instant(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not an ISO 8601 date") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
