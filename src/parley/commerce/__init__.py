"""Commerce: a catalog per business account (products, product sets), commerce settings per number, carts, orders.

Other domains read products through this package's surface; the product and product-list messages a business
sends, the carts people fill and the `order` messages they send all name products by catalog id and retailer id.
"""

from parley.commerce.cart_repository import OrderLineRow, OrderRow
from parley.commerce.carts import CartDisabledError, CartEmptyError, CartOrders, Carts, ProductUnavailableError
from parley.commerce.catalog import Catalogs, ProductObserver
from parley.commerce.feed import MAX_FEED_BYTES
from parley.commerce.inbox_catalog import InboxCatalog
from parley.commerce.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
from parley.commerce.repository import IN_STOCK, CatalogRow, CommerceSettingsRow, ProductRow, ProductSetRow

__all__ = [
    "IN_STOCK",
    "MAX_FEED_BYTES",
    "CartDisabledError",
    "CartEmptyError",
    "CartOrders",
    "Carts",
    "CatalogRow",
    "Catalogs",
    "CommerceSettingsRow",
    "InboxCatalog",
    "OrderLineRow",
    "OrderRow",
    "ProductObserver",
    "ProductRow",
    "ProductSetRow",
    "ProductUnavailableError",
    "erase_person_in",  # rights
    "personal_data_in",  # rights
]
