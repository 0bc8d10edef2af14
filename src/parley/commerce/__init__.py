"""Commerce: a catalog per business account (products, product sets), commerce settings per number, carts, orders.

Other domains read products through this package's surface; the product and product-list messages a business
sends, the carts people fill and the `order` messages they send all name products by catalog id and retailer id.
"""

from parley.commerce.cart_repository import OrderLineRow, OrderRow
from parley.commerce.carts import CartDisabledError, CartEmptyError, CartOrders, Carts, ProductUnavailableError
from parley.commerce.repository import IN_STOCK, CatalogRow, CommerceSettingsRow, ProductRow

__all__ = [
    "IN_STOCK",
    "CartDisabledError",
    "CartEmptyError",
    "CartOrders",
    "Carts",
    "CatalogRow",
    "CommerceSettingsRow",
    "OrderLineRow",
    "OrderRow",
    "ProductRow",
    "ProductUnavailableError",
]
