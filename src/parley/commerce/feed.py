"""Meta's catalog feed as CSV: the file's checks (encoding, size, header, line numbers, ids twice); fields: schemas."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from parley.commerce import schemas
from parley.graph import GraphError

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
# A line is the whole product: an empty cell (or a column the file leaves out) means Meta's default.
_DEFAULTS = {"availability": "in stock", "condition": "new", "status": "active"}


class FeedError(ValueError):
    """The whole file is unusable (not UTF-8, no header, a required column missing, too big)."""


@dataclass(frozen=True)
class FeedItem:
    """One good line: its product fields as `parse_product` read them (`retailer_id` set, `values` complete)."""

    line: int
    fields: schemas.ProductInput

    @property
    def retailer_id(self) -> str:
        return self.fields.retailer_id or ""


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
        given = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names) if n in COLUMNS}
        row = {name: given.get(name, "") or _DEFAULTS.get(name, "") for name in COLUMNS}
        try:
            parsed.append(FeedItem(start, schemas.parse_product(row, feed=True)))
        except GraphError as exc:
            feed.errors.append(LineError(start, row["id"], line_message(exc.details)))
    ids = [i.retailer_id for i in parsed] + [e.retailer_id for e in feed.errors if e.retailer_id]
    twice = {r for r in ids if ids.count(r) > 1}
    for item in parsed:
        if item.retailer_id in twice:
            feed.errors.append(LineError(item.line, item.retailer_id, "this id is on more than one line"))
        else:
            feed.items.append(item)
    feed.errors.sort(key=lambda e: e.line)
    return feed


def line_message(details: str) -> str:
    """A Graph refusal's details ("Param price ...") as a line of a file says them ("price ...")."""
    return details.removeprefix("Param ").removeprefix("The parameter ")
