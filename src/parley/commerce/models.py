"""Tables of commerce: a catalog per business account, its products and product sets, commerce settings per number."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from parley.kit.db import Id, metadata

catalogs = Table(
    "catalogs",
    metadata,
    Column("id", Id, primary_key=True),  # the Graph `catalog_id`
    Column("waba_id", Id, nullable=False),  # the business account it is connected to (one catalog each)
    Column("name", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ux_catalogs_waba", catalogs.c.waba_id, unique=True)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True),  # the Graph product item id
    Column("catalog_id", Id, ForeignKey("catalogs.id"), nullable=False),
    Column("retailer_id", String(100), nullable=False),  # Meta's content id / SKU, what messages name
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("price", BigInteger, nullable=False),  # micros of `currency`
    Column("currency", String(3), nullable=False),
    Column("sale_price", BigInteger, nullable=True),  # micros; below `price`
    Column("sale_starts_at", BigInteger, nullable=True),  # ms; open-ended when null
    Column("sale_ends_at", BigInteger, nullable=True),
    Column("availability", String(32), nullable=False, server_default="in stock"),
    Column("condition", String(16), nullable=False, server_default="new"),
    Column("image_media_id", Id, nullable=True),  # an image stored through media
    Column("image_url", String(2048), nullable=True),  # Meta's `image_link` when not stored here
    Column("link", String(2048), nullable=True),
    Column("brand", String(100), nullable=True),
    Column("item_group_id", String(100), nullable=True),  # variants share one
    Column("status", String(16), nullable=False, server_default="active"),  # active | archived
    Column("stock", Integer, nullable=True),  # Meta's quantity_to_sell_on_facebook; null = not tracked
    Column("version", Integer, nullable=False, server_default="1"),  # bumped on every change (carts compare)
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
Index("ux_products_catalog_retailer", products.c.catalog_id, products.c.retailer_id, unique=True)

product_sets = Table(
    "product_sets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("catalog_id", Id, ForeignKey("catalogs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("filter", Text, nullable=False),  # Meta's JSON rule, e.g. {"retailer_id": {"is_any": [...]}}
    Column("retailer_id", String(100), nullable=True),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_product_sets_catalog", product_sets.c.catalog_id)

commerce_settings = Table(
    "commerce_settings",
    metadata,
    Column("phone_number_id", Id, primary_key=True),
    Column("is_cart_enabled", Boolean, nullable=False, server_default="1"),  # Meta's default: on
    Column("is_catalog_visible", Boolean, nullable=False, server_default="0"),  # Meta's default: hidden
    Column("updated_at", BigInteger, nullable=False),
)

catalog_batches = Table(
    "catalog_batches",
    metadata,
    Column("id", Id, primary_key=True),  # the batch's `handle`
    Column("catalog_id", Id, ForeignKey("catalogs.id"), nullable=False),
    Column("status", String(16), nullable=False),  # Meta's: finished (applied synchronously here)
    Column("results", Text, nullable=False),  # JSON: Meta's per-item `errors` / `warnings` of the batch
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_catalog_batches_catalog", catalog_batches.c.catalog_id)
