"""Carts: one per person per chat with a business, filled from its catalog and sent to it as an `order` message.

The cart lives on the server, so every device of the person sees it. Prices are never stored in it: Parley
prices the order from the catalog when it is sent (the sale price inside its dates). An item that stopped being
orderable is dropped when the cart is next read or sent, and the answer says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from parley import business, messaging
from parley.commerce import cart_repository as carts_repo
from parley.commerce import repository as catalog_repo
from parley.commerce.cart_repository import CartItemRow, CartRow, OrderLineRow, OrderRow
from parley.commerce.catalog import Catalogs
from parley.commerce.repository import ACTIVE, CatalogRow, CommerceSettingsRow, ProductRow
from parley.kit.clock import Clock
from parley.kit.errors import ConflictError, InvalidInputError, NotFoundError
from parley.kit.idempotency import request_fingerprint
from parley.kit.ids import IdGenerator, parse_id
from parley.platform.db import Database

MAX_QUANTITY = 99
MAX_SHOP_PRODUCTS = 500
UPDATED_NOTICE = "One or more items in your cart have been updated"


class CartDisabledError(ConflictError):
    code = "cart_disabled"


class CartEmptyError(ConflictError):
    code = "cart_empty"


class ProductUnavailableError(InvalidInputError):
    code = "product_unavailable"


@dataclass(frozen=True)
class Shop:
    """A person's direct chat with a business number, and what that business sells."""

    chat_id: int
    person_id: int
    number: business.NumberRow
    catalog: CatalogRow | None
    settings: CommerceSettingsRow


def _chat_id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFoundError("no such chat")
    return value


def order_view(order: OrderRow) -> dict[str, Any]:
    return {
        "message_id": str(order.message_id),
        "catalog_id": str(order.catalog_id),
        "currency": order.currency,
        "total": order.total,
        "text": order.text,
        "items": [
            {
                "retailer_id": line.retailer_id,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.unit_price * line.quantity,
            }
            for line in order.lines
        ],
    }


class Carts:
    """The person's side of commerce: a business's shop in their chat with it, their cart there, sending it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        messaging_service: messaging.MessagingService,
        numbers: business.BusinessNumbers,
        ids: IdGenerator,
        catalogs: Catalogs,
    ) -> None:
        self._db, self._clock, self._messaging, self._numbers, self._ids = db, clock, messaging_service, numbers, ids
        self._catalogs = catalogs  # its person_product is the one product view of the client API

    def _shop_in(self, conn: Connection, user_id: int, chat_id: int) -> Shop:
        peer = messaging.direct_peer_in(conn, chat_id, user_id)
        number = None if peer is None else self._numbers.number_of_user_in(conn, peer)
        if number is None:
            raise NotFoundError("no such chat with a business")
        catalog = catalog_repo.catalog_of_waba(conn, number.waba_id)
        return Shop(chat_id, user_id, number, catalog, catalog_repo.settings_of(conn, number.id))

    def _cart_shop_in(self, conn: Connection, user_id: int, chat_id: int) -> tuple[Shop, CatalogRow]:
        shop = self._shop_in(conn, user_id, chat_id)
        if shop.catalog is None:
            raise NotFoundError("this business has no catalog")
        if not shop.settings.is_cart_enabled:
            raise CartDisabledError("this business does not take orders by cart")
        return shop, shop.catalog

    # --- the shop -----------------------------------------------------------------------------------

    async def shop(self, user_id: int, raw_chat_id: str) -> dict[str, Any]:
        """The business's catalog as seen from the chat: its settings and its active products."""
        chat_id = _chat_id(raw_chat_id)
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            shop = self._shop_in(conn, user_id, chat_id)
            products: list[ProductRow] = []
            if shop.catalog is not None:
                after: int | None = None
                while len(products) < MAX_SHOP_PRODUCTS:
                    page = catalog_repo.products_page(conn, shop.catalog.id, after_id=after, limit=200)
                    if not page:
                        break
                    products.extend(p for p in page if p.status == ACTIVE)
                    after = page[-1].id
            return {
                "chat_id": str(chat_id),
                "business_name": shop.number.verified_name,
                "catalog_id": None if shop.catalog is None else str(shop.catalog.id),
                "is_cart_enabled": shop.settings.is_cart_enabled,
                "is_catalog_visible": shop.settings.is_catalog_visible,
                "products": [self._catalogs.person_product(p, now) for p in products[:MAX_SHOP_PRODUCTS]],
            }

        return await self._db.read(unit)

    # --- the cart -----------------------------------------------------------------------------------

    def _priced_in(
        self, conn: Connection, cart: CartRow, now: int
    ) -> tuple[list[tuple[CartItemRow, ProductRow]], list[str]]:
        """The cart's items that can still be ordered with their products, and the retailer ids that cannot."""
        items = carts_repo.items_of(conn, cart.id)
        products = catalog_repo.products_by_retailer_ids(conn, cart.catalog_id, (i.retailer_id for i in items))
        keep: list[tuple[CartItemRow, ProductRow]] = []
        gone: list[str] = []
        currency: str | None = None
        for item in items:
            product = products.get(item.retailer_id)
            # One currency per order: an item priced in another one (the catalog changed) is dropped too.
            if product is None or not product.orderable or (currency is not None and product.currency != currency):
                gone.append(item.retailer_id)
                continue
            currency = product.currency
            keep.append((item, product))
        return keep, gone

    def _view(
        self, shop: Shop, catalog: CatalogRow, items: list[tuple[CartItemRow, ProductRow]], now: int, notice: bool
    ) -> dict[str, Any]:
        lines = [
            {
                **self._catalogs.person_product(product, now),
                "quantity": item.quantity,
                "line_total": item.quantity * product.unit_price(now),
            }
            for item, product in items
        ]
        return {
            "chat_id": str(shop.chat_id),
            "catalog_id": str(catalog.id),
            "currency": items[0][1].currency if items else None,
            "items": lines,
            "item_count": sum(item.quantity for item, _ in items),
            "total": sum(int(line["line_total"]) for line in lines),
            "notice": UPDATED_NOTICE if notice else None,
        }

    def _reconciled_in(self, conn: Connection, user_id: int, chat_id: int, now: int) -> dict[str, Any]:
        shop, catalog = self._cart_shop_in(conn, user_id, chat_id)
        cart = carts_repo.cart_of(conn, user_id, chat_id)
        if cart is None or cart.catalog_id != catalog.id:
            return self._view(shop, catalog, [], now, notice=False)
        keep, gone = self._priced_in(conn, cart, now)
        if gone:
            carts_repo.remove_items(conn, cart.id, gone)
            carts_repo.touch_cart(conn, cart.id, now)
        return self._view(shop, catalog, keep, now, notice=bool(gone))

    async def cart(self, user_id: int, raw_chat_id: str) -> dict[str, Any]:
        """The person's cart in this chat, priced now; items no longer orderable are dropped, with a notice."""
        chat_id = _chat_id(raw_chat_id)
        now = self._clock.now_ms()

        def look(conn: Connection) -> bool:
            self._cart_shop_in(conn, user_id, chat_id)
            cart = carts_repo.cart_of(conn, user_id, chat_id)
            return cart is not None and bool(self._priced_in(conn, cart, now)[1])

        # Reading is the common case; only a cart with something to drop takes a write unit.
        if await self._db.read(look):
            return await self._db.write(
                "commerce.cart_reconcile", lambda c: self._reconciled_in(c, user_id, chat_id, now)
            )
        return await self._db.read(lambda c: self._reconciled_in(c, user_id, chat_id, now))

    async def set_item(
        self, user_id: int, raw_chat_id: str, retailer_id: str, raw_catalog_id: str, quantity: int
    ) -> dict[str, Any]:
        """Put `quantity` (1–99) units of a product of the business's catalog in the cart; 0 takes it out."""
        chat_id = _chat_id(raw_chat_id)
        if not 0 <= quantity <= MAX_QUANTITY:
            raise InvalidInputError(f"quantity must be between 0 and {MAX_QUANTITY}")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> dict[str, Any]:
            shop, catalog = self._cart_shop_in(conn, user_id, chat_id)
            if raw_catalog_id != str(catalog.id):
                raise ProductUnavailableError("that catalog is not this business's catalog")
            cart = carts_repo.cart_of(conn, user_id, chat_id)
            if quantity == 0:
                if cart is not None:
                    carts_repo.remove_items(conn, cart.id, [retailer_id])
                    carts_repo.touch_cart(conn, cart.id, now)
                return self._reconciled_in(conn, user_id, chat_id, now)
            product = catalog_repo.products_by_retailer_ids(conn, catalog.id, [retailer_id]).get(retailer_id)
            if product is None:
                raise ProductUnavailableError(f"no product {retailer_id!r} in this business's catalog")
            if not product.orderable:
                raise ProductUnavailableError(f"{product.title} is not available")
            if product.stock is not None and quantity > product.stock:
                raise ProductUnavailableError(f"only {product.stock} of {product.title} left")
            if cart is None:
                cart = carts_repo.ensure_cart(
                    conn, CartRow(self._ids.next_id(), user_id, chat_id, shop.number.id, catalog.id, now, now)
                )
            if cart.catalog_id != catalog.id:
                carts_repo.retarget(conn, cart.id, catalog.id, now)
                cart = dataclasses.replace(cart, catalog_id=catalog.id)
            keep, _ = self._priced_in(conn, cart, now)
            others = [p.currency for item, p in keep if item.retailer_id != retailer_id]
            if others and others[0] != product.currency:
                raise ProductUnavailableError("a cart holds products of one currency")
            carts_repo.set_item(conn, cart.id, retailer_id, quantity, now)
            carts_repo.touch_cart(conn, cart.id, now)
            return self._reconciled_in(conn, user_id, chat_id, now)

        return await self._db.write("commerce.cart_set_item", unit)

    async def clear(self, user_id: int, raw_chat_id: str) -> None:
        chat_id = _chat_id(raw_chat_id)

        def unit(conn: Connection) -> None:
            self._cart_shop_in(conn, user_id, chat_id)
            cart = carts_repo.cart_of(conn, user_id, chat_id)
            if cart is not None:
                carts_repo.clear(conn, cart.id)

        await self._db.write("commerce.cart_clear", unit)

    async def send(self, user_id: int, raw_chat_id: str, text: str, client_id: str) -> dict[str, Any]:
        """Send the cart to the business as an `order` message priced now, and empty it; a retry of `client_id`
        answers the first order and sends nothing again."""
        chat_id = _chat_id(raw_chat_id)
        now = self._clock.now_ms()
        fingerprint = request_fingerprint({"cart_send": str(chat_id), "text": text})

        def unit(conn: Connection) -> tuple[dict[str, Any], messaging.Committed | None]:
            first = self._messaging.first_send_in(conn, user_id, client_id, fingerprint, key_name="client_id")
            if first is not None:
                order = carts_repo.order_of(conn, first.message_id)
                if order is None or order.chat_id != chat_id:
                    raise InvalidInputError("this client_id was already used for another message")
                return self._sent(first, order, notice=False), None
            shop, catalog = self._cart_shop_in(conn, user_id, chat_id)
            cart = carts_repo.cart_of(conn, user_id, chat_id)
            keep, gone = ([], []) if cart is None else self._priced_in(conn, cart, now)
            if cart is None or not keep:
                raise CartEmptyError(UPDATED_NOTICE if gone else "the cart is empty")
            currency = keep[0][1].currency
            items = [
                messaging.OrderItem(
                    product_retailer_id=item.retailer_id,
                    title=product.title,
                    quantity=item.quantity,
                    item_price=product.unit_price(now),
                    currency=currency,
                )
                for item, product in keep
            ]
            content = messaging.OrderContent(
                catalog_id=str(catalog.id),
                text=text,
                product_items=items,
                currency=currency,
                total=sum(i.quantity * i.item_price for i in items),
            )
            result, committed = self._messaging.send_own_in(
                conn, user_id, chat_id, shop.number.user_id, client_id, "order", content, now, request_hash=fingerprint
            )
            order = OrderRow(
                message_id=result.message_id,
                user_id=user_id,
                chat_id=chat_id,
                phone_number_id=shop.number.id,
                catalog_id=catalog.id,
                currency=currency,
                total=content.total,
                text=text,
                created_at=result.timestamp,
                lines=tuple(OrderLineRow(i.product_retailer_id, i.title, i.quantity, i.item_price) for i in items),
            )
            carts_repo.insert_order(conn, order)
            carts_repo.clear(conn, cart.id)
            return self._sent(result, order, notice=bool(gone)), committed

        answer, committed = await self._db.write("commerce.cart_send", unit)
        if committed is not None:
            await self._messaging.publish_committed(committed)
        return answer

    @staticmethod
    def _sent(result: messaging.SendResult, order: OrderRow, *, notice: bool) -> dict[str, Any]:
        return {
            "id": str(result.message_id),
            "chat_id": str(result.chat_id),
            "timestamp": result.timestamp,
            "order": order_view(order),
            "notice": UPDATED_NOTICE if notice else None,
        }


class CartOrders:
    """The orders people sent from carts, by their message: for the team inbox and payment requests."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def order_of_message(self, message_id: int) -> OrderRow | None:
        return await self._db.read(lambda conn: carts_repo.order_of(conn, message_id))

    @staticmethod
    def order_of_message_in(conn: Connection, message_id: int) -> OrderRow | None:
        return carts_repo.order_of(conn, message_id)
