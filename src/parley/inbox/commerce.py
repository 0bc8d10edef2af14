"""The team inbox sells: agents browse the catalog, send products, import a CSV feed and request payment.

The catalog is read through a narrow port (commerce's `InboxCatalog` implements it), and every message goes out
through the inbox's own send path (the Cloud API's: window, limits, billing, webhooks), as an agent's reply does.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from parley.inbox.inputs import require_admin
from parley.inbox.service import AgentContext, InboxService
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, InvalidInputError
from parley.kit.ids import IdGenerator
from parley.kit.money import MICROS, format_amount, parse_amount

MAX_PRODUCTS = 30  # Meta's cap on a product_list message, all sections together
MAX_SECTIONS = 10
PAYMENT_CURRENCIES = ("INR", "BRL")  # the markets where Meta's order_details payments run
PIX_KEY_TYPES = ("CPF", "CNPJ", "EMAIL", "PHONE", "EVP")
_CENT = MICROS // 100  # order_details amounts are {value, offset: 100}
# What an agent may set on an order (Meta's order_status values an agent picks; pending is only the start).
ORDER_STATUS_TEXT = {
    "processing": "Your order is being prepared",
    "shipped": "Your order is on its way",
    "completed": "Your order is complete",
    "canceled": "Your order was canceled",
}
ORDER_STATUSES = tuple(ORDER_STATUS_TEXT)


class CatalogPort(Protocol):
    """What the inbox asks of the commerce domain (commerce.InboxCatalog implements it)."""

    async def catalog_of(self, waba_id: int) -> dict[str, Any] | None: ...

    async def browse(
        self, waba_id: int, text: str | None, cursor: str | None, limit: int
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]: ...

    async def by_retailer_ids(self, waba_id: int, retailer_ids: list[str]) -> dict[str, dict[str, Any]]: ...

    async def import_feed(self, waba_id: int, data: bytes, *, apply: bool, catalog_name: str) -> dict[str, Any]: ...


class InboxCommerce:
    def __init__(self, inbox: InboxService, catalog: CatalogPort, clock: Clock, ids: IdGenerator) -> None:
        self._inbox, self._catalog, self._clock, self._ids = inbox, catalog, clock, ids

    # --- browsing -------------------------------------------------------------------------------

    async def products(self, ctx: AgentContext, text: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
        catalog, rows, next_cursor = await self._catalog.browse(ctx.waba_id, text, cursor, limit)
        return {"catalog": catalog, "data": [_with_image(r) for r in rows], "paging": {"next": next_cursor}}

    # --- sending products -----------------------------------------------------------------------

    async def send_products(
        self, ctx: AgentContext, raw_id: str, body: object, idempotency_key: str | None
    ) -> dict[str, Any]:
        """One product (`product`), several (`product_list`, in sections) or the whole catalog (`catalog_message`)."""
        await self._inbox.conversation(ctx, raw_id)  # another business's conversation is a 404 before anything
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        catalog = await self._catalog.catalog_of(ctx.waba_id)
        if catalog is None:
            raise ConflictError("This business has no catalog yet: import one first.")
        sections = _sections(body)
        wanted = [r for _, ids in sections for r in ids]
        kind = body.get("type") or (
            "catalog_message" if not wanted else "product" if len(wanted) == 1 else "product_list"
        )
        if kind not in ("product", "product_list", "catalog_message"):
            raise InvalidInputError("type must be product, product_list or catalog_message")
        thumbnail = _text(body, "thumbnail_retailer_id", 100)
        found = await self._catalog.by_retailer_ids(ctx.waba_id, wanted + ([thumbnail] if thumbnail else []))
        # Archived products are out of the catalog as far as people can see.
        unknown = [r for r in [*wanted, thumbnail] if r and (r not in found or found[r]["status"] != "active")]
        if unknown:
            raise InvalidInputError(f"not in the catalog: {', '.join(sorted(set(unknown)))}")
        text, footer = _text(body, "body", 1024), _text(body, "footer", 60)
        interactive: dict[str, Any] = {"type": kind}
        if kind == "product":
            if len(wanted) != 1:
                raise InvalidInputError("a product message shows exactly one product")
            interactive["action"] = {"catalog_id": catalog["id"], "product_retailer_id": wanted[0]}
        elif kind == "product_list":
            if not wanted:
                raise InvalidInputError("choose at least one product")
            header = _text(body, "header", 60) or "Our products"
            interactive["header"] = {"type": "text", "text": header}
            text = text or "Tap to see the products."
            interactive["action"] = {
                "catalog_id": catalog["id"],
                "sections": [
                    {**({"title": title} if title else {}), "product_items": [{"product_retailer_id": r} for r in ids]}
                    for title, ids in sections
                ],
            }
        else:
            text = text or "Browse our catalog."
            action: dict[str, Any] = {"name": "catalog_message"}
            if thumbnail:
                action["parameters"] = {"thumbnail_product_retailer_id": thumbnail}
            interactive["action"] = action
        if text:
            interactive["body"] = {"text": text}
        if footer:
            interactive["footer"] = {"text": footer}
        sent = await self._inbox.send_interactive(ctx, raw_id, interactive, idempotency_key)
        return {**sent, "type": kind}

    # --- importing a feed -----------------------------------------------------------------------

    async def import_feed(self, ctx: AgentContext, data: bytes, *, apply: bool) -> dict[str, Any]:
        require_admin(ctx)
        if not data.strip():
            raise InvalidInputError("choose a CSV file with a first line naming the columns (id, title, price, ...)")
        me = await self._inbox.me(ctx)
        name = f"{me.get('business', {}).get('name') or 'Business'} catalog"
        return await self._catalog.import_feed(ctx.waba_id, data, apply=apply, catalog_name=name)

    # --- requesting payment ---------------------------------------------------------------------

    async def request_payment(
        self, ctx: AgentContext, raw_id: str, body: object, idempotency_key: str | None
    ) -> dict[str, Any]:
        """An `order_details` message (Meta's "Review and pay"): an order's lines or a free amount, with tax,
        shipping and discount, in INR or BRL, paid through a link or (Brazil) a Pix code."""
        await self._inbox.conversation(ctx, raw_id)  # another business's conversation is a 404 before anything
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        catalog = await self._catalog.catalog_of(ctx.waba_id)
        raw_items = body.get("items") or []
        if not isinstance(raw_items, list) or len(raw_items) > 100:
            raise InvalidInputError("items must be a list of at most 100 order lines")
        wanted = [str(i.get("retailer_id", "")) for i in raw_items if isinstance(i, dict)]
        products = await self._catalog.by_retailer_ids(ctx.waba_id, [w for w in wanted if w]) if wanted else {}
        fallback = next((p["currency"] for p in products.values()), None) or (catalog or {}).get("currency") or ""
        currency = str(body.get("currency") or fallback).upper()
        if currency not in PAYMENT_CURRENCIES:
            raise InvalidInputError("payments in the chat run in INR (India) or BRL (Brazil): choose one")
        items, subtotal = _order_items(raw_items, products, currency)
        if not items:
            amount = _cents(body.get("amount"), "amount", required=True)
            subtotal = amount
        tax = _cents(body.get("tax"), "tax")
        shipping = _cents(body.get("shipping"), "shipping")
        discount = _cents(body.get("discount"), "discount")
        total = subtotal + tax + shipping - discount
        if total <= 0:
            raise InvalidInputError("the total to pay must be above zero")
        reference_id = self._reference(ctx, idempotency_key)
        settings = _payment_settings(body.get("payment"), currency)
        parameters: dict[str, Any] = {"reference_id": reference_id}
        if currency == "BRL":
            parameters["payment_type"] = "br"
        parameters["type"] = "digital-goods" if body.get("goods") == "digital" else "physical-goods"
        parameters["payment_settings"] = [settings]
        parameters["currency"] = currency
        parameters["total_amount"] = _amount(total)
        description = _text(body, "description", 60) or ("Your order" if items else "Payment")
        minutes = _minutes(body.get("expires_in_minutes"))
        if minutes is not None and not items and currency == "BRL":
            raise InvalidInputError("a free amount in BRL goes out in Meta's simplified form, which cannot expire")
        if not items and currency == "INR":
            items = [{"name": description, "amount": _amount(subtotal), "quantity": 1}]
        if items or currency == "INR":
            order: dict[str, Any] = {"status": "pending"}
            if catalog is not None and any("retailer_id" in i for i in items):
                order["catalog_id"] = catalog["id"]
            if minutes is not None:
                # A retry with the same key must rebuild the same message (else it is refused as another one), so
                # the expiry counts from the end of the current 5-minute slot: `minutes` ahead at least, and the
                # same for a retry moments later.
                slot = _EXPIRY_SLOT_S
                at = (self._clock.now_ms() // 1000 // slot + 1) * slot + minutes * 60
                order["expiration"] = {"timestamp": str(at), "description": f"Pay within {_duration(minutes)}"}
            order["items"] = items
            order["subtotal"] = _amount(subtotal)
            order["tax"] = {**_amount(tax), "description": "Tax"}
            if shipping:
                order["shipping"] = {**_amount(shipping), "description": "Shipping"}
            if discount:
                order["discount"] = {**_amount(discount), "description": "Discount"}
            parameters["order"] = order
        total_text = f"{format_amount(total * _CENT, 2)} {currency}"
        text = _text(body, "body", 1024) or f"{description}: {total_text}. Tap to review and pay."
        interactive = {
            "type": "order_details",
            "body": {"text": text},
            "action": {"name": "review_and_pay", "parameters": parameters},
        }
        sent = await self._inbox.send_interactive(ctx, raw_id, interactive, idempotency_key)
        return {**sent, "reference_id": reference_id, "total": total_text}

    # --- order status ---------------------------------------------------------------------------

    async def set_order_status(
        self, ctx: AgentContext, raw_id: str, body: object, idempotency_key: str | None
    ) -> dict[str, Any]:
        """An `order_status` message (Meta's `review_order`) for an order this business sent: processing, shipped,
        completed or canceled, with an optional description. The transition rules are the payments domain's,
        applied in the send path (a final order: 409; canceling a paid one: 409, refund it first)."""
        await self._inbox.conversation(ctx, raw_id)  # another business's conversation is a 404 before anything
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        reference_id = _text(body, "reference_id", 60)
        if not reference_id:
            raise InvalidInputError("reference_id is required: the order's reference")
        status = body.get("status")
        if status not in ORDER_STATUSES:
            raise InvalidInputError(f"status must be one of {', '.join(ORDER_STATUSES)}")
        description = _text(body, "description", 120)
        order: dict[str, Any] = {"status": status}
        if description:
            order["description"] = description
        text = _text(body, "body", 1024) or f"{ORDER_STATUS_TEXT[status]}{f': {description}' if description else '.'}"
        interactive = {
            "type": "order_status",
            "body": {"text": text},
            "action": {"name": "review_order", "parameters": {"reference_id": reference_id, "order": order}},
        }
        sent = await self._inbox.send_interactive(ctx, raw_id, interactive, idempotency_key)
        return {**sent, "reference_id": reference_id, "status": status}

    def _reference(self, ctx: AgentContext, idempotency_key: str | None) -> str:
        """Meta's reference_id (≤35 of [A-Za-z0-9_.-], unique per business); a retry with the same key gets the
        same one, so the answer it replays matches the message already sent."""
        if idempotency_key:
            digest = hashlib.sha256(f"{ctx.waba_id}:{ctx.agent_id}:{idempotency_key}".encode()).hexdigest()
            return f"PR-{digest[:24]}"
        return f"PR-{self._ids.next_id()}"


_EXPIRY_SLOT_S = 300


def _with_image(row: dict[str, Any]) -> dict[str, Any]:
    image = row.get("image_url")
    if not image and row.get("image_media_id"):
        image = f"/inbox/api/media/{row['image_media_id']}"
    return {**row, "image": image}


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInputError(f"{name} is limited to {limit} characters")
    return value


def _sections(body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """`sections: [{title, retailer_ids}]`, or `retailer_ids` as one section; Meta's limits checked here."""
    raw = body.get("sections")
    if raw is None:
        ids = body.get("retailer_ids") or []
        raw = [{"title": body.get("section_title"), "retailer_ids": ids}] if ids else []
    if not isinstance(raw, list):
        raise InvalidInputError("sections must be a list")
    if len(raw) > MAX_SECTIONS:
        raise InvalidInputError(f"a product list has at most {MAX_SECTIONS} sections")
    out: list[tuple[str, list[str]]] = []
    for section in raw:
        ids = section.get("retailer_ids") if isinstance(section, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and 0 < len(i) <= 100 for i in ids):
            raise InvalidInputError("each section needs retailer_ids: a list of product ids")
        title = _text(section, "title", 24)
        out.append((title, list(dict.fromkeys(ids))))
    count = sum(len(ids) for _, ids in out)
    if count > MAX_PRODUCTS:
        raise InvalidInputError(f"a product list shows at most {MAX_PRODUCTS} products, this one has {count}")
    if len(out) > 1 and any(not title for title, _ in out):
        raise InvalidInputError("every section needs a title when there is more than one")
    return out


def _cents(raw: object, name: str, *, required: bool = False) -> int:
    """An amount typed as a decimal ("12.50") in hundredths, refusing anything finer than a cent."""
    if raw in (None, ""):
        if required:
            raise InvalidInputError(f"{name} is required")
        return 0
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidInputError(f"{name} must be a decimal such as 12.50")
    try:
        micros = parse_amount(str(raw))
    except ValueError as exc:
        raise InvalidInputError(f"{name}: {exc}") from exc
    if micros % _CENT:
        raise InvalidInputError(f"{name} has more than 2 decimals")
    return micros // _CENT


def _amount(cents: int) -> dict[str, int]:
    return {"value": cents, "offset": 100}


def _order_items(
    raw_items: list[Any], products: dict[str, dict[str, Any]], currency: str
) -> tuple[list[dict[str, Any]], int]:
    """Meta's order items from the request's lines (retailer id, quantity, unit amount), priced from the catalog
    when no amount is given; the subtotal in cents."""
    items, subtotal = [], 0
    for number, raw in enumerate(raw_items, start=1):
        if not isinstance(raw, dict):
            raise InvalidInputError(f"item {number} must be an object")
        retailer_id = str(raw.get("retailer_id") or "")
        quantity = raw.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 999:
            raise InvalidInputError(f"item {number}: quantity must be a whole number from 1 to 999")
        product = products.get(retailer_id)
        if raw.get("amount") not in (None, ""):
            amount = _cents(raw.get("amount"), f"item {number} amount", required=True)
        elif product is not None and product["unit_price_micros"] % _CENT == 0:
            amount = product["unit_price_micros"] // _CENT
        else:
            raise InvalidInputError(f"item {number}: give its amount")
        if product is not None and product["currency"] != currency:
            raise InvalidInputError(f"item {number} is priced in {product['currency']}, not {currency}")
        name = str(raw.get("name") or (product["title"] if product else "") or retailer_id)[:60]
        if not name:
            raise InvalidInputError(f"item {number} needs a name or a retailer_id")
        item: dict[str, Any] = {"name": name, "amount": _amount(amount), "quantity": quantity}
        if retailer_id:
            item = {"retailer_id": retailer_id, **item}
        items.append(item)
        subtotal += amount * quantity
    return items, subtotal


def _payment_settings(raw: object, currency: str) -> dict[str, Any]:
    """How the person pays: a payment link (India and Brazil) or a dynamic Pix code (Brazil)."""
    if not isinstance(raw, dict):
        raise InvalidInputError('choose how the person pays: {"type": "payment_link", "uri": ...} or a Pix code')
    kind = raw.get("type")
    if kind == "payment_link":
        uri = _text(raw, "uri", 2048)
        if not uri.startswith("https://"):
            raise InvalidInputError("the payment link must be an https:// address")
        return {"type": "payment_link", "payment_link": {"uri": uri}}
    if kind == "pix_dynamic_code":
        if currency != "BRL":
            raise InvalidInputError("Pix codes are for payments in BRL")
        code, merchant, key = _text(raw, "code", 512), _text(raw, "merchant_name", 100), _text(raw, "key", 100)
        key_type = _text(raw, "key_type", 10).upper()
        if not code or not merchant or not key:
            raise InvalidInputError("a Pix code needs the code, the merchant name and the Pix key")
        if key_type not in PIX_KEY_TYPES:
            raise InvalidInputError(f"key_type must be one of {', '.join(PIX_KEY_TYPES)}")
        return {
            "type": "pix_dynamic_code",
            "pix_dynamic_code": {"code": code, "merchant_name": merchant, "key": key, "key_type": key_type},
        }
    raise InvalidInputError("payment type must be payment_link or pix_dynamic_code")


def _minutes(raw: object) -> int | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or not 5 <= raw <= 60 * 24 * 30:
        raise InvalidInputError("expires_in_minutes must be a whole number from 5 to 43200")
    return raw


def _duration(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days > 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours > 1 else "")
    return f"{minutes} minutes"
